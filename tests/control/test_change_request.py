"""A change request in a reporting stage: the project manager asks (`pmo change`'s path)
before an update, the change gate's approvers decide by codes as at any gate, the go makes
baseline 2, and the stage reports against it. A direct run (paused, not suspended),
answered through the Prefect API as the UI would."""

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from flows.lifecycle import project_lifecycle
from pmo.audit.portfolio import audit_portfolio
from pmo.audit.run_history import RunSelection
from pmo.control.updates import StatusUpdate
from pmo.plan.model import parse_plan
from pmo.runtime.approver_bot import ApproverBot, StatusTurn
from pmo.runtime.demo_projects import GatekeepersScore
from pmo.settings import get_settings
from pmo.store import session_scope
from pmo.store.models import Gate, PlanSubmission
from pmo.store.plans import baselines
from pmo.store.records import get_project, project_documents
from pmo.store.reporting import project_snapshots
from process_library.loader import load_lifecycle
from tests.factories import make_brief

pytestmark = pytest.mark.integration

REASON = "The ERP vendor delivers the order API two weeks late."


def changed_plan(brief):
    data = brief.plan.data()
    data["work_packages"][4]["duration_days"] += 10  # 2.3, on the critical path
    data["work_packages"][4]["budget"] += 4000
    return parse_plan(data)


def project_manager(turn: StatusTurn) -> StatusUpdate:
    return StatusUpdate(
        as_of=date(2027, 9, 30),
        progress=dict.fromkeys(turn.packages, 100.0),
        actual_cost=Decimal(240000),
        forecast_finish=date(2027, 10, 6),
        forecast_cost=Decimal(240000),
        complete=True,
    )


def test_a_change_request_approved_at_its_gate_becomes_baseline_2(prefect_api, monkeypatch):
    monkeypatch.setenv("PMO_GATE_POLL_SECONDS", "0.2")
    get_settings.cache_clear()
    brief = make_brief(key="HERMES")

    def run_id() -> str | None:
        with session_scope() as session:
            project = get_project(session, key=brief.key)
            return project.flow_run_id if project else None

    def change(turn: StatusTurn):
        return (changed_plan(brief), REASON) if turn.number == 1 else None

    assert run_id() is None  # open (and migrate) the store before the bot's thread
    # The gatekeepers score the funding gate, as the audit expects of a funded project.
    score = GatekeepersScore(brief, load_lifecycle("pmbok-waterfall").lifecycle)
    bot = ApproverBot(run_id=run_id, report=project_manager, change=change, score=score).start()
    try:
        result = project_lifecycle(brief=brief)
    finally:
        bot.stop()
    assert result == {"project": "HERMES", "status": "closed", "stopped_at": None}
    assert [t.gate_key for t in bot.answered if t.kind == "change"] == [
        "change-control-1",
        "change-control-1",
    ]  # the sponsor and the PMO, with their codes
    with session_scope() as session:
        project = get_project(session, key=brief.key)
        kept = baselines(session, project_id=project.id)
        assert [(b.number, b.reason) for b in kept] == [
            (1, "Approved at Plan approval"),
            (2, REASON),
        ]
        assert kept[1].plan_hash == changed_plan(brief).content_hash()
        gate = session.get(Gate, kept[1].gate_id)
        assert (gate.kind, gate.gate_key, gate.outcome) == ("change", "change-control-1", "go")
        request = session.get(PlanSubmission, kept[1].submission_id)
        assert (request.kind, request.channel) == ("change", "cli")
        snapshots = project_snapshots(session, project=project)
        assert [s.baseline_number for s in snapshots] == [2]
        assert snapshots[0].bac == 243000  # baseline 2's budget at completion
        # The change gate's decision has its record, as every gate's has.
        (record,) = [
            d
            for d in project_documents(session, project=project)
            if d.document_key == "gate-decision-change-control"
        ]
    text = Path(record.markdown_path).read_text(encoding="utf-8")
    assert "# Gate decision: " in text and "**Decision: GO** after 1 round(s)." in text
    # The audit finds every resume explained: the change gate's answers by their codes,
    # the change request that woke the run, and its approvers named on the change gate.
    audit = audit_portfolio(RunSelection(project_key="HERMES"), previous_head=None)
    (project_audit,) = audit.projects
    assert project_audit.bypasses == []
    assert [f for f in project_audit.findings if f.type == "control gap"] == []
