"""An exception gate's recycle re-plans: the project goes back to planning (attempt 2),
then reports again in execution (attempt 2) and goes on to closure. A direct run (paused,
not suspended), answered through the Prefect API as the UI would."""

from datetime import date
from decimal import Decimal

import pytest

from flows.lifecycle import project_lifecycle
from pmo.control.updates import StatusUpdate
from pmo.runtime.approver_bot import ApproverBot, GateTurn, StatusTurn, approve_everything
from pmo.settings import get_settings
from pmo.store import session_scope
from pmo.store.records import get_project, project_stage_runs
from tests.factories import make_brief

pytestmark = pytest.mark.integration


def sponsor_replans(turn: GateTurn) -> tuple[str, str, str]:
    if turn.gate_key.startswith("execution-exception"):
        return "recycle", "Re-plan with the second vendor.", ""
    return approve_everything(turn)


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
    bot = ApproverBot(run_id=run_id, decide=sponsor_replans, report=project_manager).start()
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
