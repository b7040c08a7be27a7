"""An approver's inbox: every gate across projects whose round waits on them, with age and
SLA due date, each opening its review page, where they decide; nothing of other
approvers' work; `pmo tokens revoke` ends their links. On SQLite and PostgreSQL."""

import re

import httpx
import pytest
from sqlalchemy import event, func, select
from typer.testing import CliRunner

from pmo.cli import app
from pmo.settings import get_settings
from pmo.store import session_scope
from pmo.store.models import GateDecision
from pmo.web.inbox import waiting_on
from pmo.web.serving import web_in_thread
from tests.factories import brief_data, make_brief
from tests.web.pages import free_port, mailed_gate

pytestmark = pytest.mark.integration

SPONSOR, PMO, KIM = "dana.reyes@example.com", "pmo@example.com", "kim.ito@example.com"


@pytest.fixture
def web(store_url, prefect_api, monkeypatch):
    port = free_port()
    monkeypatch.setenv("PMO_WEB_URL", f"http://127.0.0.1:{port}")
    get_settings.cache_clear()
    with web_in_thread(port=port) as url, httpx.Client(base_url=url, timeout=90) as client:
        yield client


def decisions() -> int:
    with session_scope() as session:
        return session.scalar(select(func.count()).select_from(GateDecision))


def other_sponsor(key: str):
    """A project whose sponsor is Kim, not Dana."""
    data = brief_data(key=key)
    data["sponsor"] = {"name": "Kim Ito", "email": KIM}
    data["approvers"] = {**data["approvers"], "sponsor": [KIM]}
    return make_brief(**{k: v for k, v in data.items() if k != "key"}, key=key)


def test_an_inbox_reads_only_the_gates_that_asked_its_approver(store_url):
    for key in ("ASKA", "ASKB"):
        mailed_gate(make_brief(key=key))
    for key in ("KIMA", "KIMB", "KIMC"):
        mailed_gate(other_sponsor(key))
    loaded = []
    with session_scope() as session:
        event.listen(session, "loaded_as_persistent", lambda _, row: loaded.append(row))
        assert [w.project_key for w in waiting_on(session, approver=SPONSOR)] == ["ASKA", "ASKB"]
    # its cost grows with the approver's gates, not with every gate waiting in the PMO
    assert sorted(row.key for row in loaded if type(row).__name__ == "Project") == [
        "ASKA",
        "ASKB",
    ]


def test_the_inbox_lists_what_waits_on_its_approver_and_opens_each_gate(web):
    first = mailed_gate(make_brief(key="INBA"))
    second = mailed_gate(make_brief(key="INBB"), stage_index=1)
    mailed_gate(other_sponsor("INBK"))
    inbox = web.get(first.inbox[SPONSOR])
    assert inbox.status_code == 200 and inbox.headers["referrer-policy"] == "no-referrer"
    rows = re.findall(r"<tr>\s*<td>(.*?)</td>", inbox.text)
    assert [r.split("(")[-1].rstrip(")") for r in rows] == ["INBA", "INBB"]
    assert "INBK" not in inbox.text and KIM not in inbox.text  # Kim's gate, not Dana's
    assert "under an hour" in inbox.text and "UTC" in inbox.text
    # every mail's inbox link opens the same inbox
    assert web.get(second.inbox[SPONSOR]).text.count("Review and decide") == 2

    # the first gate, opened from the inbox, decided there
    opened = re.findall(r'href="(/inbox/[^"]+/gates/\d+)"', inbox.text)[0]
    before = decisions()
    page = web.get(opened).text
    assert decisions() == before and "INBA" in page
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
    review_page = web.get(first.review[SPONSOR]).text
    review_csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', review_page).group(1)
    assert csrf != review_csrf  # a form is bound to the page it was served for
    assert web.post(opened, data={"csrf": review_csrf, "decision": "go"}).status_code == 403
    answered = web.post(opened, data={"csrf": csrf, "decision": "go", "comment": "Fine."})
    assert answered.status_code == 200 and "Your answer is recorded." in answered.text
    with session_scope() as session:
        row = session.scalar(select(GateDecision).where(GateDecision.gate_id == first.gate_id))
        assert (row.approver_email, row.channel, row.accepted) == (SPONSOR, "web", True)
    # answered: it leaves Dana's inbox, and the review link shows the answer
    assert "INBA" not in web.get(first.inbox[SPONSOR]).text
    assert "You have answered this round" in web.get(first.review[SPONSOR]).text
    # another approver's gate is not reachable from Dana's inbox
    kim_gate = re.sub(r"/gates/\d+", f"/gates/{second.gate_id + 1}", opened)
    assert web.get(kim_gate).status_code == 404


def test_revoked_links_open_nothing_and_record_nothing(web):
    gate = mailed_gate(make_brief(key="INBR"))
    page = web.get(gate.review[SPONSOR]).text
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
    revoked = CliRunner().invoke(app, ["tokens", "revoke", SPONSOR.upper()])
    assert revoked.exit_code == 0 and revoked.output == f"2 link(s) of {SPONSOR} revoked\n"
    assert web.get(gate.inbox[SPONSOR]).status_code == 410
    assert web.get(gate.review[SPONSOR]).status_code == 410
    posted = web.post(gate.review[SPONSOR], data={"csrf": csrf, "decision": "go"})
    assert posted.status_code == 410 and "Link revoked" in posted.text
    assert decisions() == 0
    # the other approver's links still work
    assert web.get(gate.review[PMO]).status_code == 200
    bad = CliRunner().invoke(app, ["tokens", "revoke", "not-an-address"])
    assert bad.exit_code == 2 and bad.output.count("\n") == 1 and "EMAIL" in bad.output
