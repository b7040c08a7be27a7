"""The plan on the deployed path: a brief without a plan, the run suspended at planning
until `pmo plan RUN_ID PLAN` records the plan and wakes it, refusals in one line with
nothing recorded, and the plan-approval gate's go making it baseline 1 (SQLite and
PostgreSQL)."""

import time
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
from prefect import get_client
from prefect.deployments import run_deployment
from prefect.states import Scheduled
from typer.testing import CliRunner

from flows.deployments import LIFECYCLE_DEPLOYMENT
from pmo.brief import parse_brief
from pmo.cli import app
from pmo.runtime.serve import served_in_subprocess
from pmo.store import session_scope
from pmo.store.models import GateDecision, PlanSubmission, utcnow
from pmo.store.plans import baselines
from pmo.store.records import get_project, mark_decided
from tests.deployed import approve, wait_for_mails
from tests.factories import brief_data
from tests.gate_mail import latest_code
from tests.project_record import LIFECYCLE, at_gate

pytestmark = pytest.mark.integration

SPONSOR, PMO, PM = "dana.reyes@example.com", "pmo@example.com", "sam.okafor@example.com"


@pytest.fixture
def deployed(prefect_api, smtp_server, store_url, tmp_path):
    with served_in_subprocess(prefect_api, tmp_path / "serve.log"):
        yield smtp_server


def waiting_for_plan(run_id: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            state = client.read_flow_run(UUID(run_id)).state
            key = state.state_details.pause_key if state else None
            if state and state.is_paused() and (key or "").startswith("plan-"):
                return key
            time.sleep(0.3)
    raise AssertionError(f"run {run_id} is not waiting for a plan")


def started_in_planning(data: dict) -> str:
    """A deployed run whose charter gate passed on record: it reaches planning."""
    brief = parse_brief(data)
    with get_client(sync_client=True) as client:
        run = run_deployment(
            LIFECYCLE_DEPLOYMENT,
            parameters={"brief": brief.model_dump(mode="json")},
            scheduled_time=datetime.now(UTC) + timedelta(hours=1),
            timeout=0,
        )
        with session_scope() as session:
            stage = LIFECYCLE.lifecycle.stages[0]
            _, stage_run, gate = at_gate(session, brief, stage, run_id=str(run.id))
            session.add(
                GateDecision(
                    gate_id=gate.id,
                    round=1,
                    response_key="initiation-1-1-1",
                    approver_email=SPONSOR,
                    roles="sponsor",
                    decision="go",
                    accepted=True,
                )
            )
            session.flush()
            mark_decided(
                session, gate=gate, stage_run=stage_run, round=1, outcome="go", at=utcnow()
            )
        client.set_flow_run_state(run.id, Scheduled(), force=True)
    return str(run.id)


def one_line(result, expected: str) -> None:
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(expected), result.output


def test_planning_waits_for_pmo_plan_and_the_gate_baselines_it(deployed, tmp_path):
    smtp = deployed
    data = brief_data(key="ORION")
    plan = parse_brief(data).plan
    del data["plan"]
    run_id = started_in_planning(data)
    key = waiting_for_plan(run_id)
    assert key == "plan-planning-1-1"
    plan_file = tmp_path / "orion-plan.yaml"
    plan_file.write_text(plan.to_yaml(), encoding="utf-8")

    one_line(
        CliRunner().invoke(app, ["plan", run_id, str(plan_file), "--as", SPONSOR]),
        f"error: --as: {SPONSOR} is not the project manager of ORION",
    )
    one_line(
        CliRunner().invoke(app, ["plan", run_id, str(plan_file), "--confirm", "write-code"]),
        "error: confirmed_activities[0]: 'write-code' is not an activity of Planning",
    )
    with session_scope() as session:
        assert session.query(PlanSubmission).count() == 0

    taken = CliRunner().invoke(
        app, ["plan", run_id, str(plan_file), "--as", PM, "--confirm", "define-milestones"]
    )
    assert taken.exit_code == 0, taken.output
    assert "Plan finishes 2027-09-22, by the target end date 2027-10-29" in taken.output
    assert "management reserve USD 11,000.00" in taken.output

    gate = "ORION/planning/1/plan-approval/1"
    wait_for_mails(smtp, 2, gate=gate, timeout=60)
    # the plan is with its gate: a second one is refused
    one_line(
        CliRunner().invoke(app, ["plan", run_id, str(plan_file)]),
        "error: RUN_ID: ORION is not waiting for a plan at Planning",
    )
    for approver in (SPONSOR, PMO):
        code = latest_code(smtp.messages, gate, approver)
        result = approve(run_id, approver, "go", code)
        assert result.exit_code == 0, result.output
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with session_scope() as session:
            project = get_project(session, key="ORION")
            kept = baselines(session, project_id=project.id)
            if kept:
                break
        time.sleep(0.3)
    assert [(b.number, b.plan_hash) for b in kept] == [(1, plan.content_hash())]
    with session_scope() as session:
        (row,) = session.query(PlanSubmission).all()
        assert (row.channel, row.confirmed_activities) == ("cli", ["define-milestones"])
