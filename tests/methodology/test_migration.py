"""Moving a running project onto another lifecycle version, on the store (SQLite and
PostgreSQL): the plan, the refusals (nothing recorded), the pin on the ledger, and where
the project goes next under the new version."""

import json

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from pmo.cli import app
from pmo.errors import PmoInputError
from pmo.methodology.migration import migrate
from pmo.methodology.project import prepare_lifecycle
from pmo.methodology.route import next_step
from pmo.store import session_scope
from pmo.store.models import LedgerEntry, ProjectLifecycle, StageRun
from pmo.store.records import (
    close_project,
    ensure_gate,
    ensure_project,
    ensure_stage_run,
    get_project,
)
from process_library.loader import load_lifecycle, load_lifecycle_file
from tests.factories import feasibility_added, make_brief, write_lifecycle
from tests.project_record import decide

pytestmark = pytest.mark.integration

PMO = "pmo-office@example.com"
BRIEF = make_brief(key="ORION")
V1 = prepare_lifecycle(BRIEF, load_lifecycle("pmbok-waterfall"))


def version_2(tmp_path, change=None):
    """pmbok-waterfall with a feasibility stage after initiation and a stricter plan gate."""
    data = feasibility_added()
    data["stages"][2]["gate"]["quorum"] = "any"
    data["stages"][2]["gate"]["should_meet"].append(
        {"key": "reserve", "text": "A management reserve is set aside.", "weight": 1}
    )
    if change:
        change(data)
    folder = tmp_path / "v2"
    folder.mkdir(exist_ok=True)
    return write_lifecycle(folder, data)


def started(stage_key: str = "initiation", *, at_gate: bool = True):
    """ORION registered on version 1 and standing in `stage_key`, the stages before it passed."""
    with session_scope() as session:
        ensure_project(
            session, brief=BRIEF, lifecycle=V1.loaded, flow_run_id=None, tailoring=V1.tailoring_json
        )
    for stage in V1.loaded.lifecycle.stages:
        if stage.key == stage_key:
            break
        decide(BRIEF, stage, 1, "go")
    with session_scope() as session:
        project = get_project(session, key="ORION")
        stage = V1.loaded.lifecycle.stage(stage_key)
        stage_run = ensure_stage_run(session, project=project, stage=stage, attempt=1)
        if at_gate:
            ensure_gate(
                session,
                stage_run=stage_run,
                gate_key=stage.gate.key,
                gate_name=stage.gate.name,
                flow_run_id=None,
            )
        else:
            stage_run.status = "reporting"


def record_size() -> tuple[int, int]:
    with session_scope() as session:
        return (
            session.scalar(select(func.count()).select_from(ProjectLifecycle)),
            session.scalar(select(func.count()).select_from(LedgerEntry)),
        )


def move(to, *maps: str, dry_run: bool = False, by: str = PMO):
    mapping = dict(m.split("=") for m in maps)
    return migrate(
        project_key="ORION", to=str(to), mapping=mapping, by=by, reason="New gate", dry_run=dry_run
    )


def test_a_project_at_a_gate_gains_the_new_stage_ahead_and_goes_on_into_it(store_url, tmp_path):
    started("initiation")
    path = version_2(tmp_path)
    v2 = load_lifecycle_file(path)
    plan = move(path)
    assert plan.standing.describe() == (
        "Initiation (attempt 1), at-gate, waiting at gate Charter approval (round 1)"
    )
    assert (plan.entry_stage, plan.moves_now) == ("initiation", False)
    assert plan.gains == ["Feasibility"] and plan.loses == []
    whats = [c.what for c in plan.changes]
    assert "Gate Plan approval: quorum for go all → any" in whats
    assert (
        "Gate Plan approval: new should-meet criterion (weight 1): "
        "A management reserve is set aside." in whats
    )
    assert not any("Charter approval" in w for w in whats)  # behind the project: not shown
    with session_scope() as session:
        project = get_project(session, key="ORION")
        assert project.lifecycle_version == v2.version
        pin = session.scalars(select(ProjectLifecycle).order_by(ProjectLifecycle.seq)).all()[-1]
        assert (pin.seq, pin.pinned_by, pin.reason, pin.entry_stage) == (
            2,
            PMO,
            "New gate",
            "initiation",
        )
        ledger = session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.table_name == "project_lifecycles")
            .order_by(LedgerEntry.seq)
        ).all()
        assert [json.loads(e.payload)["pinned_by"] for e in ledger] == [None, PMO]
        # the stage under way finishes under version 1: its gate's approvers were asked so
        step = next_step(session, project=project)
        assert (step.stage.key, step.attempt, step.lifecycle.version) == (
            "initiation",
            1,
            V1.loaded.version,
        )
    decide(BRIEF, V1.loaded.lifecycle.stage("initiation"), 1, "go")
    with session_scope() as session:
        step = next_step(session, project=get_project(session, key="ORION"))
        assert (step.stage.key, step.attempt, step.lifecycle.version) == (
            "feasibility",
            1,
            v2.version,
        )
        assert step.stage.gate.name == "Feasibility review"


def test_a_stage_still_at_its_work_moves_onto_the_new_version_at_once(store_url, tmp_path):
    started("execution", at_gate=False)

    def tighter(data):
        data["stages"][3]["tolerances"]["cost_percent"] = 5

    plan = move(version_2(tmp_path, tighter))
    assert plan.moves_now and plan.entry_stage == "execution"
    assert "Execution: cost tolerance 10 % → 5 %" in [c.what for c in plan.changes]
    with session_scope() as session:
        project = get_project(session, key="ORION")
        step = next_step(session, project=project)
        assert step.stage.key == "execution" and step.lifecycle.version == plan.new.version
        assert step.stage.tolerances.cost_percent == 5
        run = session.scalars(select(StageRun).where(StageRun.stage_key == "execution")).one()
        assert run.lifecycle_version == plan.new.version


def test_a_stage_with_no_counterpart_is_refused_until_mapped(store_url, tmp_path):
    started("planning")

    def rename(data):
        data["stages"][2]["key"] = "baseline"
        data["stages"][3]["exception_gate"]["replan_stage"] = "baseline"

    path = version_2(tmp_path, rename)
    before = record_size()
    with pytest.raises(PmoInputError) as error:
        move(path)
    assert str(error.value) == (
        f"--map: project ORION stands in stage Planning (planning), which "
        f"pmbok-waterfall@{load_lifecycle_file(path).version} has no stage for: name its "
        "counterpart with --map planning=NEW"
    )
    assert record_size() == before
    plan = move(path, "planning=baseline")
    assert plan.entry_stage == "baseline" and plan.mapping == {"planning": "baseline"}
    decide(BRIEF, V1.loaded.lifecycle.stage("planning"), 1, "go")
    with session_scope() as session:
        step = next_step(session, project=get_project(session, key="ORION"))
        assert step.stage.key == "execution"


def test_a_gate_with_no_counterpart_is_refused_until_mapped(store_url, tmp_path):
    started("planning")

    def rename_gate(data):
        data["stages"][2]["gate"]["key"] = "baseline-approval"

    path = version_2(tmp_path, rename_gate)
    with pytest.raises(PmoInputError, match="waits at gate Plan approval \\(plan-approval\\)"):
        move(path)
    assert move(path, "plan-approval=baseline-approval").entry_stage == "planning"


def test_refusals_name_the_field_and_record_nothing(store_url, tmp_path):
    started("initiation")
    path = version_2(tmp_path)
    before = record_size()
    cases = {
        ("nowhere=planning",): "--map: 'nowhere' is not a stage or gate of pmbok-waterfall@",
        ("planning=nowhere",): "--map: 'nowhere' is not a stage of pmbok-waterfall@",
        ("plan-approval=planning",): "--map: 'planning' is not a gate of pmbok-waterfall@",
    }
    for maps, expected in cases.items():
        with pytest.raises(PmoInputError, match=expected):
            move(path, *maps)
    with pytest.raises(PmoInputError, match="is not a PMO contact of lifecycle 'pmbok-waterfall'"):
        move(path, by="dana.reyes@example.com")
    with pytest.raises(PmoInputError, match="already runs pmbok-waterfall@"):
        move("pmbok-waterfall")
    assert move(path, dry_run=True).gains == ["Feasibility"]
    assert record_size() == before


def test_a_closed_project_is_not_moved(store_url, tmp_path):
    started("initiation")
    with session_scope() as session:
        close_project(
            session, project=get_project(session, key="ORION"), status="closed", reason="Done"
        )
    before = record_size()
    with pytest.raises(PmoInputError) as error:
        move(version_2(tmp_path))
    assert str(error.value) == (
        "--project: project ORION is closed: only a running project is moved onto another lifecycle"
    )
    assert record_size() == before


def cli(*args: str):
    return CliRunner().invoke(app, ["library", "migrate", "--project", "ORION", "--as", PMO, *args])


def one_line(result, expected: str) -> None:
    assert result.exit_code == 2, result.output
    assert result.output.strip().splitlines() == [expected]


def test_the_command_shows_the_plan_and_refuses_bad_input_in_one_line(store_url, tmp_path):
    started("initiation")
    path = version_2(tmp_path)
    shown = cli("--to", str(path), "--dry-run")
    assert shown.exit_code == 0, shown.output
    assert (
        "Stands in: Initiation (attempt 1), at-gate, waiting at gate Charter approval"
        in shown.output
    )
    assert "Gains ahead: Feasibility" in shown.output
    assert "Dry run: nothing recorded." in shown.output
    broken = tmp_path / "broken" / "pmbok-waterfall.yaml"
    broken.parent.mkdir()
    broken.write_text(path.read_text().replace("quorum: any", "quorum: most"), encoding="utf-8")
    result = cli("--to", str(broken))
    assert result.exit_code == 2 and result.output.startswith(
        f"error: {broken}: stages[planning].gate.quorum"
    )
    one_line(
        cli("--to", str(path), "--map", "nowhere"),
        "error: --map: 'nowhere' is not OLD=NEW (a stage or gate key each)",
    )
    one_line(
        CliRunner().invoke(
            app, ["library", "migrate", "--project", "NOPE", "--as", PMO, "--to", str(path)]
        ),
        "error: --project: no project with key 'NOPE' in the store",
    )
    one_line(
        cli("--to", "0000000"),
        "error: --to: no version 0000000 of lifecycle 'pmbok-waterfall' in the library or its "
        "git history",
    )
    assert record_size()[0] == 1
    moved = cli("--to", str(path), "--json")
    assert moved.exit_code == 0, moved.output
    assert json.loads(moved.output)["gains"] == ["Feasibility"]
    assert record_size()[0] == 2


def test_a_project_started_before_versions_were_kept_keeps_its_first_one(store_url, tmp_path):
    started("initiation")
    with session_scope() as session:  # as a store from before migration 0008 holds it
        session.query(ProjectLifecycle).delete()
        session.query(StageRun).update({StageRun.lifecycle_version: None})
    plan = move(version_2(tmp_path))
    with session_scope() as session:
        rows = session.scalars(select(ProjectLifecycle).order_by(ProjectLifecycle.seq)).all()
        assert [(r.seq, r.version, r.pinned_by) for r in rows] == [
            (1, V1.loaded.version, None),
            (2, plan.new.version, PMO),
        ]
        step = next_step(session, project=get_project(session, key="ORION"))
        # the stage under way ran under the first version, and finishes under it
        assert (step.stage.key, step.lifecycle.version) == ("initiation", V1.loaded.version)
