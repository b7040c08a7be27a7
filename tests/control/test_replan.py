"""An exception gate's recycle re-plans: the project goes back to planning (attempt 2),
then reports again in execution (attempt 2) and goes on to closure. A direct run (paused,
not suspended), answered through the Prefect API as the UI would."""

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from flows.lifecycle import project_lifecycle
from pmo.control.updates import StatusUpdate
from pmo.plan.model import parse_plan
from pmo.runtime.approver_bot import (
    ApproverBot,
    GateTurn,
    PlanTurn,
    StatusTurn,
    approve_everything,
)
from pmo.settings import get_settings
from pmo.store import session_scope
from pmo.store.plans import baselines
from pmo.store.records import get_project, project_documents, project_stage_runs
from pmo.store.reporting import project_snapshots
from tests.factories import make_brief

pytestmark = pytest.mark.integration


def sponsor_replans(turn: GateTurn) -> tuple[str, str, str]:
    if turn.gate_key.startswith("execution-exception"):
        return "recycle", "Re-plan with the second vendor.", ""
    return approve_everything(turn)


def replanner(brief):
    """After the exception, the project manager re-plans: the build takes 10 days more."""

    def plan(turn: PlanTurn):
        data = brief.plan.data()
        data["work_packages"][4]["duration_days"] += 10  # 2.3, on the critical path
        return parse_plan(data), ["define-milestones"]

    return plan


def project_manager(turn: StatusTurn) -> StatusUpdate:
    if turn.attempt == 1:  # far over budget and late: an exception
        return StatusUpdate(
            as_of=date(2027, 6, 30),
            progress=dict.fromkeys(turn.packages, 50.0),
            actual_cost=Decimal(200000),
            forecast_finish=date(2027, 12, 1),
            forecast_cost=Decimal(330000),
        )
    return StatusUpdate(
        as_of=date(2027, 8, 20),
        progress=dict.fromkeys(turn.packages, 100.0),
        actual_cost=Decimal(240000),
        forecast_finish=date(2027, 10, 29),
        forecast_cost=Decimal(250000),
        complete=True,
    )


def test_a_recycle_at_the_exception_gate_replans_and_the_project_goes_on(prefect_api, monkeypatch):
    monkeypatch.setenv("PMO_GATE_POLL_SECONDS", "0.2")
    get_settings.cache_clear()
    brief = make_brief(key="ARTEMIS")

    def run_id() -> str | None:
        with session_scope() as session:
            project = get_project(session, key=brief.key)
            return project.flow_run_id if project else None

    # Open (and migrate) the store here first: the bot's thread and the flow opening a new
    # store at the same instant would both run its migrations.
    assert run_id() is None
    bot = ApproverBot(
        run_id=run_id, decide=sponsor_replans, report=project_manager, plan=replanner(brief)
    ).start()
    try:
        result = project_lifecycle(brief=brief)
    finally:
        bot.stop()
    assert result == {"project": "ARTEMIS", "status": "closed", "stopped_at": None}
    with session_scope() as session:
        project = get_project(session, key=brief.key)
        stages = [
            (r.stage_key, r.attempt, r.status) for r in project_stage_runs(session, project=project)
        ]
    assert stages == [
        ("initiation", 1, "passed"),
        ("planning", 1, "passed"),
        ("execution", 1, "replanned"),
        ("planning", 2, "passed"),
        ("execution", 2, "passed"),
        ("closure", 1, "passed"),
    ]
    assert [
        (t.gate_key, t.attempt) for t in bot.answered if t.approver == "dana.reyes@example.com"
    ][2:4] == [
        ("execution-exception-1", 1),
        ("plan-approval", 2),
    ]
    # The first plan came with the brief; the re-plan from the project manager, through
    # the Resume form, and its go made it baseline 2, against which execution reported.
    assert [(t.stage_key, t.attempt) for t in bot.planned] == [("planning", 2)]
    with session_scope() as session:
        project = get_project(session, key=brief.key)
        kept = baselines(session, project_id=project.id)
        assert [b.number for b in kept] == [1, 2]
        assert kept[0].plan_hash == brief.plan.content_hash()
        assert kept[1].plan_hash == replanner(brief)(None)[0].content_hash()
        assert [s.baseline_number for s in project_snapshots(session, project=project)] == [1, 2]
        # The exception gate's decision has its record, as every gate's has.
        (record,) = [
            d
            for d in project_documents(session, project=project)
            if d.document_key == "gate-decision-execution-exception"
        ]
    text = Path(record.markdown_path).read_text(encoding="utf-8")
    assert "**Decision: RECYCLE** after 1 round(s)." in text
    assert "| dana.reyes@example.com |" in text
