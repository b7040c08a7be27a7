"""Delegation: `pmo delegate` and its refusals; a delegated approver's requests go to the
delegate, whose answer (on the page or at the command line) is recorded "B for A", fills
A's seat, and is listed by the audit; a project manager may not answer even as a
delegate. On SQLite and PostgreSQL."""

import re
from types import SimpleNamespace

import httpx
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from pmo.audit.checklist import _decided_by_gate_approvers
from pmo.audit.records import load_records
from pmo.cli import app
from pmo.mail import read_outbox
from pmo.settings import get_settings
from pmo.store import session_scope
from pmo.store.models import GateDecision
from pmo.web.serving import web_in_thread
from tests.factories import make_brief
from tests.web.pages import body_of, free_port, mailed_gate

pytestmark = pytest.mark.integration

SPONSOR, PMO, LEE = "dana.reyes@example.com", "pmo@example.com", "lee.park@example.com"
MANAGER, PMO_CONTACT = "sam.okafor@example.com", "pmo-office@example.com"


def pmo(*args: str):
    return CliRunner().invoke(app, list(args))


def refused(result, *words: str) -> None:
    assert result.exit_code == 2, result.output
    assert result.output.count("\n") == 1, result.output
    for word in words:
        assert word in result.output, result.output


@pytest.fixture
def web(store_url, prefect_api, monkeypatch):
    port = free_port()
    monkeypatch.setenv("PMO_WEB_URL", f"http://127.0.0.1:{port}")
    get_settings.cache_clear()
    with web_in_thread(port=port) as url, httpx.Client(base_url=url, timeout=90) as client:
        yield client


def test_delegations_are_checked_listed_and_ended(web):
    mailed_gate(make_brief(key="DELCK"))  # an open project: Sam manages it, Dana approves
    refused(pmo("delegate", "--from", SPONSOR, "--to", SPONSOR, "--until", "2099-01-01"), "--to")
    refused(
        pmo("delegate", "--from", SPONSOR, "--to", LEE, "--until", "2001-01-01"),
        "--until",
        "in the past",
    )
    refused(
        pmo("delegate", "--from", SPONSOR, "--to", MANAGER, "--until", "2099-01-01"),
        "project manager of DELCK",
    )
    refused(
        pmo("delegate", "--from", SPONSOR, "--to", LEE, "--until", "2099-01-01", "--as", LEE),
        "--as",
    )
    refused(pmo("delegate", "--from", SPONSOR, "--to", LEE, "--until", "someday"), "--until")
    made = pmo(
        "delegate", "--from", SPONSOR, "--to", LEE, "--until", "2099-01-01", "--as", PMO_CONTACT
    )
    assert made.exit_code == 0, made.output
    assert made.output == (
        f"{SPONSOR} delegates to {LEE} until 2099-01-02 00:00 UTC (recorded by {PMO_CONTACT})\n"
    )
    refused(
        pmo("delegate", "--from", SPONSOR, "--to", PMO, "--until", "2099-02-01"),
        "already delegates",
    )
    listed = pmo("delegate", "--list", "--json")
    assert listed.exit_code == 0 and f'"to": "{LEE}"' in listed.output
    assert pmo("delegate", "--from", SPONSOR, "--end").exit_code == 0
    assert pmo("delegate", "--list").output == "No delegation is in force.\n"
    refused(pmo("delegate", "--from", SPONSOR, "--end"), "no delegation in force")


def test_a_delegate_answers_for_the_approver_and_the_audit_says_so(web):
    assert pmo("delegate", "--from", SPONSOR, "--to", LEE, "--until", "2099-01-01").exit_code == 0
    gate = mailed_gate(make_brief(key="DELGO"))
    # Dana's request went to Lee, saying for whom
    assert SPONSOR not in gate.review and LEE in gate.review
    mail = [m for m in read_outbox() if str(m["To"]).lower() == LEE][-1]
    assert f"You receive this for {SPONSOR}, who delegates" in body_of(mail)
    assert f"--as {LEE}" in body_of(mail)
    page = web.get(gate.review[LEE]).text
    assert f"for {SPONSOR} (who delegates to you)" in page
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
    answered = web.post(
        gate.review[LEE], data={"csrf": csrf, "decision": "go", "comment": "For Dana."}
    )
    assert answered.status_code == 200 and "Still waiting for: pmo@example.com" in answered.text
    assert f"{LEE} for {SPONSOR}" in answered.text
    # Lee's inbox lists the gates waiting for Dana's seat; Dana's seat is filled now
    assert "DELGO" not in web.get(gate.inbox[LEE]).text
    second = mailed_gate(make_brief(key="DELIN"))
    inbox = web.get(second.inbox[LEE]).text
    assert "DELIN" in inbox and f"for {SPONSOR}, who delegates to you" in inbox
    # at the command line too, with the code mailed to Lee
    result = pmo(
        "approve", second.run_id, "--as", LEE, "--decision", "go", "--code", second.codes[LEE]
    )
    assert result.exit_code == 0, result.output
    with session_scope() as session:
        rows = session.scalars(select(GateDecision).order_by(GateDecision.id)).all()
        assert [(r.approver_email, r.on_behalf_of, r.accepted, r.channel) for r in rows] == [
            (LEE, SPONSOR, True, "web"),
            (LEE, SPONSOR, True, "cli"),
        ]
        assert rows[0].roles == "sponsor"
        [record] = load_records(session, project_key="DELGO")
        answer, detail = _decided_by_gate_approvers(record_evidence(record))
    assert answer == "Yes" and f"delegated: go at Charter approval by {LEE} for {SPONSOR}" in detail
    assert f"{LEE} for {SPONSOR}" in [d.approver for d in record.decision_lines()]


def record_evidence(record):
    """The one piece of an audit's evidence the authority question reads."""
    return SimpleNamespace(authorities=record.authorities())


def test_a_project_manager_may_not_answer_as_a_delegate(web):
    # delegated before the project existed, so nothing could refuse it then
    assert (
        pmo("delegate", "--from", SPONSOR, "--to", MANAGER, "--until", "2099-01-01").exit_code == 0
    )
    gate = mailed_gate(make_brief(key="DELPM"))
    page = web.get(gate.review[MANAGER]).text
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
    answered = web.post(gate.review[MANAGER], data={"csrf": csrf, "decision": "go"})
    assert answered.status_code == 422 and "cannot approve their own gate" in answered.text
    with session_scope() as session:
        row = session.scalar(select(GateDecision))
        assert (row.accepted, row.refusal_kind, row.on_behalf_of) == (
            False,
            "project-manager",
            SPONSOR,
        )
