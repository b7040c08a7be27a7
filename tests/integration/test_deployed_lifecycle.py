"""A lifecycle started from its deployment: it suspends at each gate (no process held),
`pmo approve` resumes it, and every resume re-runs the flow from the top without sending,
writing or recording anything twice."""

import json
import time
from collections import Counter
from uuid import UUID

import pytest
from prefect import get_client
from typer.testing import CliRunner

from pmo.cli import app
from pmo.store import session_scope
from pmo.store.models import DocumentRecord, GateDecision, Notification
from pmo.store.records import get_project
from tests.factories import brief_data, write_brief
from tests.gate_mail import code_mails, latest_code
from tests.served import served_deployments

pytestmark = pytest.mark.integration

SPONSOR, PMO = "dana.reyes@example.com", "pmo@example.com"


def wait_for_state(run_id: str, *names: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            run = client.read_flow_run(UUID(run_id))
            if run.state_name in names:
                return run.state_name
            if run.state and run.state.is_final() and run.state_name not in names:
                raise AssertionError(f"run ended {run.state_name}: {run.state.message}")
            time.sleep(0.3)
    raise AssertionError(f"run {run_id} is {run.state_name}, not {' or '.join(names)}")


def wait_for_mails(smtp_server, count: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while len(code_mails(smtp_server.messages)) < count and time.monotonic() < deadline:
        time.sleep(0.2)


def approve(run_id: str, approver: str, decision: str, code: str, comment: str = "Reviewed."):
    return CliRunner().invoke(
        app,
        [
            "approve",
            run_id,
            "--as",
            approver,
            "--decision",
            decision,
            "--code",
            code,
            "--comment",
            comment,
        ],
    )


@pytest.fixture
def deployed(prefect_api, smtp_server, store_url, tmp_path):
    with served_deployments(prefect_api, tmp_path):
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
