"""The plan at planning, in the store without Prefect: judged and recorded once per key,
shown to the plan-approval gate with its figures, baselined on its go (SQLite and
PostgreSQL)."""

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from docx import Document
from sqlalchemy import select
from typer.testing import CliRunner

from pmo.cli import app
from pmo.control.planning import (
    PlanRefused,
    baseline_change,
    baseline_proposed,
    begin_plan_wait,
    plan_figures,
    record_change,
    record_plan,
)
from pmo.control.reporting import record_update
from pmo.control.updates import StatusUpdate
from pmo.documents.versions import write_document_version
from pmo.errors import StatusRefused
from pmo.gates.criteria import scorecard
from pmo.gates.rules import gate_approvers
from pmo.plan.model import PlanError, parse_plan
from pmo.store import session_scope
from pmo.store.ledger import LEDGER
from pmo.store.ledger_verify import verify_ledger
from pmo.store.models import ActivityRecord, PlanSubmission, StageRun, utcnow
from pmo.store.plans import baseline_in_force, baselines, record_baseline
from pmo.store.records import ensure_gate, ensure_project, ensure_stage_run, mark_decided
from tests.factories import make_brief
from tests.project_record import LIFECYCLE, at_gate, baselined, write

pytestmark = pytest.mark.integration

PLANNING = LIFECYCLE.lifecycle.stage("planning")
PM = "sam.okafor@example.com"


def small_plan(**overrides) -> dict:
    """Three packages, Mon 2027-02-01 start: A (5 days) then B (10) and C (3) in parallel.
    Finish: B ends on day 15, Fri 2027-02-19; C has 7 days of float. Cost 100,000."""
    plan = {
        "work_packages": [
            {"key": "A", "name": "Design", "owner": PM, "duration_days": 5, "budget": 20000},
            {
                "key": "B",
                "name": "Build",
                "owner": PM,
                "duration_days": 10,
                "depends_on": ["A"],
                "budget": 60000,
                "effort": {"developer": 20},
            },
            {
                "key": "C",
                "name": "Train",
                "owner": PM,
                "duration_days": 3,
                "depends_on": ["A"],
                "budget": 20000,
            },
        ],
        "milestones": [{"name": "Ready", "after": ["B", "C"]}],
    }
    return plan | overrides


def waiting_for_plan(session, brief):
    project, stage_run, _ = at_gate(session, brief, PLANNING)
    key = begin_plan_wait(session, stage_run_id=stage_run.id, prefix="plan-planning-1")
    return project, stage_run, key


def submit(session, stage_run, key="cli-1", channel="cli", **kwargs):
    values = {"plan": small_plan(), "confirmed_activities": ()} | kwargs
    return record_plan(
        session,
        stage_run_id=stage_run.id,
        stage=PLANNING,
        response_key=key,
        channel=channel,
        **values,
    )


def test_the_stage_waits_for_a_plan_and_takes_it_once(store_url):
    brief = make_brief()
    with session_scope() as session:
        _, stage_run, key = waiting_for_plan(session, brief)
        assert key == "plan-planning-1-1"
        assert stage_run.status == "planning"
        first = submit(session, stage_run, confirmed_activities=["define-milestones"])
        again = submit(session, stage_run)  # the same key: found, not judged again
        assert first.accepted and again.submission_id == first.submission_id
        # The channel wakes the run where it waits; it finds the plan and waits no more.
        assert (first.waiting_key, stage_run.status) == ("plan-planning-1-1", "in-progress")
        assert begin_plan_wait(session, stage_run_id=stage_run.id, prefix="plan-planning-1") is None
        assert stage_run.waiting_key is None
        rows = session.scalars(select(PlanSubmission)).all()
        assert [(r.kind, r.channel, r.confirmed_activities) for r in rows] == [
            ("plan", "cli", ["define-milestones"])
        ]
        assert rows[0].plan_hash == parse_plan(small_plan()).content_hash()
        # The activities on record are those confirmed, nothing the system assumed.
        done = session.scalars(select(ActivityRecord.activity_key)).all()
        assert done == ["define-milestones"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"plan": small_plan(work_packages=[])},
            "work_packages",
        ),
        (
            {"confirmed_activities": ["write-code"]},
            "confirmed_activities[0]: 'write-code' is not an activity of Planning",
        ),
        ({"submitted_by": "dana.reyes@example.com"}, "--as: dana.reyes@example.com is not"),
    ],
)
def test_a_refused_plan_through_the_cli_records_nothing(store_url, change, message):
    brief = make_brief()
    with session_scope() as session:
        _, stage_run, _ = waiting_for_plan(session, brief)
        with pytest.raises((PlanRefused, PlanError), match=message.replace("[", r"\[")) as refused:
            submit(session, stage_run, **change)
        assert "\n" not in str(refused.value)
        assert session.scalars(select(PlanSubmission)).all() == []
        assert stage_run.status == "planning"


def test_a_refused_plan_through_the_form_is_kept_with_the_reason(store_url):
    brief = make_brief()
    bad = small_plan()
    bad["work_packages"][0]["depends_on"] = ["B"]  # A -> B -> A
    with session_scope() as session:
        _, stage_run, key = waiting_for_plan(session, brief)
        recorded = submit(session, stage_run, key=key, channel="prefect", plan=bad)
        assert not recorded.accepted
        row = session.get(PlanSubmission, recorded.submission_id)
        assert row.refusal_field == "plan"
        assert "dependency cycle" in row.refusal_reason
        assert row.plan is None
        assert stage_run.status == "planning"  # it waits again


def test_no_plan_is_taken_once_the_stage_has_left_planning(store_url):
    brief = make_brief()
    with session_scope() as session:
        _, stage_run, _ = waiting_for_plan(session, brief)
        submit(session, stage_run)
        with pytest.raises(PlanRefused, match="not waiting for a plan.*pmo change"):
            submit(session, stage_run, key="cli-2")


def test_the_gate_is_shown_the_plan_figures_not_refused():
    brief = make_brief(budget=90000, target_end_date=date(2027, 2, 15))
    figures = plan_figures(parse_plan(small_plan()), brief)
    assert figures.finish == date(2027, 2, 19)
    assert figures.duration_days == 15
    assert figures.critical_path == ["A", "B"]
    assert figures.plan_budget == Decimal(100000)
    assert figures.management_reserve == Decimal(-10000)
    card = scorecard(PLANNING.gate, brief, {"plan-baseline"}, figures)
    shown = {r.criterion.key: (r.met, r.evidence) for r in card["must_meet"]}
    assert shown["plan-finishes-by-target"] == (
        False,
        "Plan finishes 2027-02-19, 4 days after the target end date 2027-02-15",
    )
    assert shown["plan-within-budget"] == (
        False,
        "Plan costs USD 100,000.00, USD 10,000.00 more than the budget 90,000.00",
    )
    roomy = plan_figures(parse_plan(small_plan()), make_brief(budget=250000))
    card = scorecard(PLANNING.gate, make_brief(budget=250000), {"plan-baseline"}, roomy)
    met = {r.criterion.key: (r.met, r.evidence) for r in card["must_meet"]}
    assert met["plan-within-budget"] == (
        True,
        "Plan costs USD 100,000.00 of the budget 250,000.00: management reserve USD 150,000.00",
    )
    assert met["plan-finishes-by-target"][0] is True
    without = scorecard(PLANNING.gate, brief, {"plan-baseline"})
    assert {r.criterion.key: r.met for r in without["must_meet"]}["plan-within-budget"] is False


def test_a_go_makes_the_proposed_plan_baseline_1_once_and_on_the_ledger(store_url):
    brief = make_brief()
    with session_scope() as session:
        project, stage_run, _ = waiting_for_plan(session, brief)
        submit(session, stage_run)
        _, _, gate = at_gate(session, brief, PLANNING)
        mark_decided(session, gate=gate, stage_run=stage_run, round=1, outcome="go", at=utcnow())
        first = baseline_proposed(session, gate=gate)
        again = baseline_proposed(session, gate=gate)  # a resumed run: the same baseline
        assert first.id == again.id and first.number == 1
        assert first.gate_round == 1 and first.start == date(2027, 2, 1)
        in_force = baseline_in_force(session, project_id=project.id)
        assert in_force.number == 1
        assert in_force.hash == parse_plan(small_plan()).content_hash()
        assert in_force.schedule.finish == date(2027, 2, 19)
        changed = parse_plan(small_plan()).model_copy(update={"start": date(2027, 3, 1)})
        second = record_baseline(
            session, project_id=project.id, plan=changed, gate_id=None, reason="Late vendor"
        )
        assert second.number == 2
        assert baseline_in_force(session, project_id=project.id).schedule.start == date(2027, 3, 1)
        assert [b.number for b in baselines(session, project_id=project.id)] == [1, 2]
    with session_scope() as session:
        entries = session.execute(
            select(LEDGER.c.payload).where(LEDGER.c.table_name == "baselines")
        ).all()
        hashes = [json.loads(payload)["plan_hash"] for (payload,) in entries]
        assert hashes[0] == parse_plan(small_plan()).content_hash()
        assert len(hashes) == 2
        assert verify_ledger(session) == []
        assert session.get(StageRun, stage_run.id).status == "passed"


def test_the_plan_baseline_shows_the_wbs_gantt_cost_curve_and_effort(store_url):
    brief = make_brief()
    with session_scope() as session:
        _, stage_run, _ = waiting_for_plan(session, brief)
        submit(session, stage_run, confirmed_activities=["define-milestones"])
    record = write(brief, PLANNING, 1, "plan-baseline")
    markdown = Path(record.markdown_path).read_text(encoding="utf-8")
    digest = parse_plan(small_plan()).content_hash()
    assert "## Baseline 1 (proposed: its gate's go approves it)" in markdown
    assert f"Plan hash (sha256): `{digest}`" in markdown
    assert "Critical path: A → B." in markdown
    assert "| Management reserve (budget − plan) | USD 150,000 |" in markdown
    assert "- [x] Define milestones" in markdown
    assert "- [ ] Baseline the budget" in markdown and "(not confirmed by the project" in markdown
    assert "divided evenly" not in markdown
    document = Document(record.docx_path)
    assert len(document.inline_shapes) == 3  # Gantt, cumulative PV, effort
    rows = [[c.text for c in row.cells] for t in document.tables for row in t.rows]
    assert next(r for r in rows if r[0] == "WBS")[:3] == ["WBS", "Work package", "Owner"]
    wbs = next(r for r in rows if r[0] == "C")
    # C: 3 days after A, Mon 8 Feb to Wed 10 Feb; late finish Fri 19 Feb: 7 days of float.
    assert wbs[3:8] == ["3", "8 Feb 2027", "10 Feb 2027", "19 Feb 2027", "7"]
    assert ["2027-02", "USD 100,000"] in rows
    assert ["developer", "20"] in rows


EXECUTION = LIFECYCLE.lifecycle.stage("execution")


def reporting_against_baseline_1(session, brief):
    project = ensure_project(session, brief=brief, lifecycle=LIFECYCLE, flow_run_id=None)
    baselined(session, project)
    stage_run = ensure_stage_run(session, project=project, stage=EXECUTION, attempt=1)
    stage_run.status = "reporting"
    return project, stage_run


def request(session, stage_run, key="cli-1", **kwargs):
    values = {"plan": parse_plan(small_plan()), "reason": "The vendor delivers in March"}
    return record_change(
        session,
        stage_run_id=stage_run.id,
        stage=EXECUTION,
        response_key=key,
        channel="cli",
        **(values | kwargs),
    )


def test_a_change_request_goes_to_its_gate_and_a_go_makes_baseline_2(store_url):
    brief = make_brief()
    with session_scope() as session:
        project, stage_run = reporting_against_baseline_1(session, brief)
        recorded = request(session, stage_run)
        assert request(session, stage_run).submission_id == recorded.submission_id  # replay
        row = session.get(PlanSubmission, recorded.submission_id)
        assert (row.kind, row.gate_key, row.reason) == (
            "change",
            "change-control-1",
            "The vendor delivers in March",
        )
        with pytest.raises(PlanRefused, match="change-control-1 of APOLLO is still before"):
            request(session, stage_run, key="cli-2")
        gate = ensure_gate(
            session,
            stage_run=stage_run,
            gate_key=row.gate_key,
            gate_name="Change control board",
            flow_run_id=None,
            kind="change",
        )
        assert stage_run.status == "at-change-gate"
        with pytest.raises(PlanRefused, match="still before its change gate"):
            request(session, stage_run, key="cli-3")
        mark_decided(session, gate=gate, stage_run=stage_run, round=1, outcome="go", at=utcnow())
        assert stage_run.status == "reporting"  # the stage goes on
        made = baseline_change(session, gate=gate)
        assert baseline_change(session, gate=gate).id == made.id  # once
        assert (made.number, made.reason, made.gate_id) == (
            2,
            "The vendor delivers in March",
            gate.id,
        )
        assert baseline_in_force(session, project_id=project.id).hash == row.plan_hash
        # Status is now measured against baseline 2: its keys, not baseline 1's.
        with pytest.raises(StatusRefused, match=r"progress\[1.1\]: no work package '1.1'"):
            record_update(
                session,
                stage_run_id=stage_run.id,
                stage=EXECUTION,
                response_key="status-1",
                channel="cli",
                update=StatusUpdate(
                    as_of=date(2027, 2, 10),
                    progress={"1.1": 10},
                    actual_cost=Decimal(1000),
                    forecast_finish=date(2027, 3, 1),
                    forecast_cost=Decimal(100000),
                ),
            )
        second = request(session, stage_run, key="cli-4")  # the gate decided: a new one
        assert session.get(PlanSubmission, second.submission_id).gate_key == "change-control-2"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"reason": "  "}, "--reason: a change request needs the reason"),
        ({"submitted_by": "pmo@example.com"}, "--as: pmo@example.com is not the project manager"),
    ],
)
def test_a_refused_change_request_records_nothing(store_url, change, message):
    brief = make_brief()
    with session_scope() as session:
        _, stage_run = reporting_against_baseline_1(session, brief)
        with pytest.raises(PlanRefused, match=message):
            request(session, stage_run, **change)
        assert session.scalars(select(PlanSubmission)).all() == []


def test_no_change_request_outside_a_reporting_stage(store_url):
    brief = make_brief()
    with session_scope() as session:
        _, stage_run, _ = waiting_for_plan(session, brief)
        with pytest.raises(PlanRefused, match="not in a stage that takes change requests"):
            record_change(
                session,
                stage_run_id=stage_run.id,
                stage=PLANNING,
                plan=parse_plan(small_plan()),
                reason="r",
                response_key="k",
                channel="cli",
            )


def test_the_gate_pack_ticks_only_confirmed_activities_and_shows_the_plan_figures(store_url):
    brief = make_brief()
    with session_scope() as session:
        _, stage_run, _ = waiting_for_plan(session, brief)
        submit(session, stage_run, confirmed_activities=["define-milestones"])
        figures = plan_figures(parse_plan(small_plan()), brief)
        record, markdown = write_document_version(
            session,
            brief=brief,
            lifecycle=LIFECYCLE,
            stage=PLANNING,
            attempt=1,
            document_key="gate-review-plan-approval",
            template="gate-review",
            title="Gate review: Plan approval",
            idempotency_key="pack/planning",
            extra={
                "gate": PLANNING.gate,
                "scorecard": scorecard(PLANNING.gate, brief, {"plan-baseline"}, figures),
                "stage_documents": [],
                "approvers": gate_approvers(PLANNING.gate, brief),
            },
        )
    assert "- [x] Define milestones" in markdown
    assert "- [ ] Baseline the budget (not confirmed by the project manager)" in markdown
    assert "Unconfirmed activities: Baseline the budget; Plan risk responses." in markdown
    assert "management reserve USD 150,000.00" in markdown
    text = "\n".join(p.text for p in Document(record.docx_path).paragraphs)
    assert "Unconfirmed activities: Baseline the budget; Plan risk responses." in text


def test_pmo_plan_and_pmo_change_refuse_in_one_line_and_record_nothing(store_url, tmp_path):
    brief = make_brief()
    run_id = "5f0c7a36-3c55-4f38-9d43-4d3c8a1a2b01"
    plan_file = tmp_path / "plan.yaml"
    plan_file.write_text(parse_plan(small_plan()).to_yaml(), encoding="utf-8")
    cyclic = small_plan()
    cyclic["work_packages"][0]["depends_on"] = ["C"]
    bad_file = tmp_path / "bad.yaml"
    bad_file.write_text(yaml.safe_dump(cyclic), encoding="utf-8")
    with session_scope() as session:
        project, stage_run = reporting_against_baseline_1(session, brief)
        project.flow_run_id = run_id
        request(session, stage_run)  # a change request before its gate
    cases = [
        (["plan", "not-a-run", str(plan_file)], "error: RUN_ID: 'not-a-run' is not a run id"),
        (
            ["plan", run_id, str(bad_file)],
            f"error: {bad_file}: work_packages: dependency cycle A -> C -> A",
        ),
        (["plan", run_id, str(plan_file)], "error: RUN_ID: Execution does not take a plan"),
        (
            ["change", run_id, str(plan_file), "--reason", "Late vendor", "--as", "x@y"],
            "error: --as: 'x@y' is not a valid email address",
        ),
        (
            ["change", run_id, str(plan_file), "--reason", "Late vendor"],
            "error: RUN_ID: change request change-control-1 of APOLLO is still before its "
            "change gate",
        ),
        (["change", run_id, str(plan_file)], "error: Missing option '--reason'"),
    ]
    for args, line in cases:
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 2, (args, result.output)
        assert result.output.strip().splitlines() == [result.output.strip()], result.output
        assert result.output.startswith(line), (args, result.output)
    with session_scope() as session:
        assert len(session.scalars(select(PlanSubmission)).all()) == 1  # the first request
        assert [b.number for b in baselines(session, project_id=project.id)] == [1]
