"""A lifecycle started from its deployment: it suspends at each gate (no process held),
`pmo approve` resumes it, and every resume re-runs the flow from the top without sending,
writing or recording anything twice."""

import contextvars
import json
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from typer.testing import CliRunner

from flows.gate_sla import gate_sla
from pmo.cli import app
from pmo.errors import ResponseRefused
from pmo.gates.rules import Answer
from pmo.runtime.answering import submit_answer
from pmo.runtime.serve import served_in_subprocess
from pmo.store import session_scope
from pmo.store.models import DocumentRecord, GateDecision, Notification
from pmo.store.records import get_project
from tests.deployed import approve, wait_for_mails, wait_for_state
from tests.factories import brief_data, write_brief
from tests.gate_mail import code_mails, latest_code

pytestmark = pytest.mark.integration

SPONSOR, PMO = "dana.reyes@example.com", "pmo@example.com"


@pytest.fixture
def deployed(prefect_api, smtp_server, store_url, tmp_path):
    with served_in_subprocess(prefect_api, tmp_path / "serve.log"):
        yield smtp_server


def test_a_deployed_lifecycle_suspends_at_gates_and_resumes_without_repeating_itself(
    deployed, tmp_path
):
    smtp = deployed
    brief = write_brief(tmp_path, brief_data(key="HERMES"))
    started = CliRunner().invoke(app, ["start", str(brief), "--json"])
    assert started.exit_code == 0, started.output
    run_id = json.loads(started.output)["run_id"]

    assert wait_for_state(run_id, "Suspended") == "Suspended"
    wait_for_mails(smtp, 2)
    charter_gate = "HERMES/initiation/1/charter-approval/1"
    for approver in (SPONSOR, PMO):
        result = approve(run_id, approver, "go", latest_code(smtp.messages, charter_gate, approver))
        assert result.exit_code == 0, result.output
        assert "recorded" in result.output

    plan_gate = "HERMES/planning/1/plan-approval/1"
    wait_for_mails(smtp, 4)
    assert wait_for_state(run_id, "Suspended") == "Suspended"
    code = latest_code(smtp.messages, plan_gate, SPONSOR)
    result = approve(run_id, SPONSOR, "kill", code, "The business case no longer holds.")
    assert result.exit_code == 0, result.output
    assert wait_for_state(run_id, "Completed") == "Completed"

    # three resumes, each a re-run from the top: still one mail per approver and gate
    sent = Counter((m.gate, m.approver) for m in code_mails(smtp.messages))
    assert sent == {
        (charter_gate, SPONSOR): 1,
        (charter_gate, PMO): 1,
        (plan_gate, SPONSOR): 1,
        (plan_gate, PMO): 1,
    }
    with session_scope() as session:
        project = get_project(session, key="HERMES")
        assert project.status == "cancelled"
        assert project.close_reason == (
            f"Killed at gate 'Plan approval': {SPONSOR}: The business case no longer holds."
        )
        decisions = session.query(GateDecision).all()
        assert sorted((d.approver_email, d.decision, d.accepted) for d in decisions) == [
            (SPONSOR, "go", True),
            (SPONSOR, "kill", True),
            (PMO, "go", True),
        ]
        documents = Counter(d.document_key for d in session.query(DocumentRecord).all())
        assert documents["charter"] == 1 and documents["plan-baseline"] == 1
        assert documents["lessons-learned"] == 1 and documents["closure-report"] == 1
        assert session.query(Notification).count() == 4


def gate_events(api_url: str, project_key: str, expected: set[str], timeout: float = 30) -> set:
    """The pmo.gate.* events Prefect stored about a project, once `expected` are all in."""
    deadline = time.monotonic() + timeout
    found: set[str] = set()
    while time.monotonic() < deadline:
        response = httpx.post(
            f"{api_url}/events/filter",
            json={
                "filter": {
                    "event": {"prefix": ["pmo.gate."]},
                    "related": {"resources_in_roles": [[f"pmo.project.{project_key}", "project"]]},
                },
                "limit": 50,
            },
        )
        response.raise_for_status()
        found = {event["event"] for event in response.json()["events"]}
        if expected <= found:
            return found
        time.sleep(1)
    return found


def at_the_charter_gate(smtp, tmp_path, key: str) -> tuple[str, dict[str, str]]:
    """A new deployed lifecycle suspended at its charter gate, and each approver's code."""
    brief = write_brief(tmp_path, brief_data(key=key))
    run_id = json.loads(CliRunner().invoke(app, ["start", str(brief), "--json"]).output)["run_id"]
    wait_for_state(run_id, "Suspended")
    wait_for_mails(smtp, 2)
    gate = f"{key}/initiation/1/charter-approval/1"
    return run_id, {a: latest_code(smtp.messages, gate, a) for a in (SPONSOR, PMO)}


def test_two_approvers_answering_at_the_same_instant_are_both_recorded(deployed, tmp_path):
    smtp = deployed
    run_id, codes = at_the_charter_gate(smtp, tmp_path, "GEMINI")

    def answer(approver: str, code: str):
        try:
            return submit_answer(run_id, Answer(approver, "go", code, "At once"))
        except ResponseRefused as refused:
            return refused

    # both approvers, and the sponsor a second time with the same code, at one instant
    barrier = threading.Barrier(3)
    jobs = [(SPONSOR, codes[SPONSOR]), (PMO, codes[PMO]), (SPONSOR, codes[SPONSOR])]
    with ThreadPoolExecutor(3) as pool:
        # each thread runs in a copy of this context, which points Prefect at the test server
        futures = [
            pool.submit(
                contextvars.copy_context().run, lambda job=job: (barrier.wait(), answer(*job))[1]
            )
            for job in jobs
        ]
        results = [future.result() for future in futures]
    # the duplicate is refused: its code used, or (judged after both goes) its gate decided
    refused = [r for r in results if isinstance(r, ResponseRefused)]
    assert len(refused) == 1
    assert "already used" in str(refused[0]) or "already decided (go)" in str(refused[0])

    wait_for_mails(smtp, 4)  # the run moved on to plan approval
    with session_scope() as session:
        rows = session.query(GateDecision).order_by(GateDecision.id).all()
        assert sorted((r.approver_email, r.accepted) for r in rows) == [
            (SPONSOR, False),
            (SPONSOR, True),
            (PMO, True),
        ]
        assert {r.refusal_kind for r in rows if not r.accepted} <= {"code-used", "gate-decided"}


def test_a_timeout_policy_wakes_a_suspended_run_which_holds_and_is_released(
    deployed, prefect_api, tmp_path
):
    smtp = deployed
    data = brief_data(key="NOVA", approvers={"gatekeepers": [SPONSOR, PMO], "sponsor": [SPONSOR]})
    brief = write_brief(tmp_path, data)
    started = CliRunner().invoke(app, ["start", str(brief), "--lifecycle", "stage-gate", "--json"])
    run_id = json.loads(started.output)["run_id"]
    wait_for_state(run_id, "Suspended")
    wait_for_mails(smtp, 2)

    # a wrong code first: refused, and an event says so
    refused = approve(run_id, PMO, "go", "WRNG-WRNG-WRNG")
    assert refused.exit_code == 2 and "the approval code is wrong" in refused.output

    # six days later nobody has answered: the policy holds the gate (gate_sla's drill mode)
    actions = gate_sla(as_of=datetime.now(UTC) + timedelta(days=6))
    assert any("decided-by-policy (hold)" in a for a in actions), actions
    round_2 = "NOVA/discovery/1/gate-1-idea-screen/2"
    wait_for_mails(smtp, 2, timeout=60, gate=round_2)
    assert wait_for_state(run_id, "Suspended") == "Suspended"
    with session_scope() as session:
        assert get_project(session, key="NOVA").status == "on-hold"
    board = [m for m in smtp.messages if str(m["To"]) == "portfolio-board@example.com"]
    assert len(board) == 1 and "past its SLA" in str(board[0]["Subject"])

    # the gatekeepers release the hold with a go each (round 2, new codes)
    for approver in (SPONSOR, PMO):
        result = approve(run_id, approver, "go", latest_code(smtp.messages, round_2, approver))
        assert result.exit_code == 0, result.output
    wait_for_mails(smtp, 2, gate="NOVA/scoping/1/gate-2-second-screen/1")
    with session_scope() as session:
        assert get_project(session, key="NOVA").status == "active"
        rows = session.query(GateDecision).order_by(GateDecision.id).all()
        assert [(r.approver_email, r.decision, r.channel) for r in rows if r.accepted] == [
            ("policy", "hold", "policy"),
            (SPONSOR, "go", "cli"),
            (PMO, "go", "cli"),
        ]
    expected = {
        "pmo.gate.opened",
        "pmo.gate.refused",
        "pmo.gate.escalated",
        "pmo.gate.decided",
        "pmo.gate.answered",
    }
    assert expected <= gate_events(prefect_api, "NOVA", expected)


def test_answers_recorded_while_prefect_is_away_are_acted_on_by_the_sla_sweep(deployed, tmp_path):
    from prefect.settings import PREFECT_API_URL, temporary_settings

    smtp = deployed
    run_id, codes = at_the_charter_gate(smtp, tmp_path, "VESTA")

    # both approvers answer while `pmo approve` cannot reach Prefect: recorded all the same
    with temporary_settings(updates={PREFECT_API_URL: "http://127.0.0.1:9/api"}):
        answers = [approve(run_id, approver, "go", codes[approver]) for approver in codes]
    assert [a.exit_code for a in answers] == [0, 0], [a.output for a in answers]
    assert "the gate is decided (go); the run acts on it once woken" in answers[1].output
    assert "warning: recorded all the same, but cannot reach the Prefect API" in answers[1].output
    with session_scope() as session:
        assert session.query(GateDecision).filter_by(accepted=True).count() == 2
    assert wait_for_state(run_id, "Suspended") == "Suspended"

    # the next sweep finds the gate decided and the run still waiting at it, and wakes it
    actions = gate_sla()
    assert [a for a in actions if "woken" in a] == [
        "VESTA Charter approval: woken (decided 'go' by its answers; the run was not woken then)"
    ]
    wait_for_mails(smtp, 2, gate="VESTA/planning/1/plan-approval/1")
    assert gate_sla() == []  # once acted on, nothing more to wake
