"""Status updates in the store, without Prefect: checked, recorded once per key with their
earned value, and the documents they feed."""

import json
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from docx import Document
from sqlalchemy import select, text
from typer.testing import CliRunner

from pmo.cli import app
from pmo.control.reporting import (
    begin_status_wait,
    past_the_limits,
    record_update,
    report_recipients,
    tolerances_in_force,
)
from pmo.control.updates import StatusUpdate
from pmo.documents.versions import write_document_version
from pmo.gates import sla
from pmo.store import session_scope
from pmo.store.ledger import LEDGER
from pmo.store.ledger_verify import verify_ledger
from pmo.store.models import (
    EvmSnapshot,
    GateDecision,
    Notification,
    StatusUpdateRecord,
    utcnow,
)
from pmo.store.records import (
    CLOCK_MARGIN,
    ensure_gate,
    ensure_project,
    ensure_stage_run,
    get_project,
    mark_decided,
    stage_waits_with_input,
)
from process_library.schema import Tolerances
from tests.factories import make_brief
from tests.project_record import LIFECYCLE, baselined, write

pytestmark = pytest.mark.integration

EXECUTION = LIFECYCLE.lifecycle.stage("execution")


def update(**overrides) -> StatusUpdate:
    values = {
        "as_of": date(2027, 6, 30),
        # As of 30 June: 3.1 (due 20 July) a third done, 2.3 late at 80 %, the rest done.
        "progress": {
            **dict.fromkeys(("1.1", "1.2", "2.1", "2.2", "2.4", "3.2"), 100),
            "2.3": 80,
            "3.1": 30,
        },
        "actual_cost": Decimal(215000),
        "forecast_finish": date(2027, 11, 5),
        "forecast_cost": Decimal(255000),
        "commentary": "SSO waits on two customers | <b>not</b> **bold**",
    }
    return StatusUpdate(**(values | overrides))


def take(session, brief, number, channel="prefect", **overrides):
    """Update `number` through the store's one judge, as the run records the Resume form's."""
    project = ensure_project(session, brief=brief, lifecycle=LIFECYCLE, flow_run_id=None)
    baselined(session, project)
    stage_run = ensure_stage_run(session, project=project, stage=EXECUTION, attempt=1)
    recorded = record_update(
        session,
        stage_run_id=stage_run.id,
        stage=EXECUTION,
        response_key=f"status-execution-1-{number}",
        update=update(**overrides),
        channel=channel,
    )
    return session.get(StatusUpdateRecord, recorded.update_id)


def test_an_update_is_recorded_once_per_key_with_its_earned_value(store_url):
    brief = make_brief()
    with session_scope() as session:
        refused = take(session, brief, 1, actual_cost=Decimal(-1))
        assert (refused.accepted, refused.refusal_field) == (False, "actual_cost")
        first = take(session, brief, 2)
        again = take(session, brief, 2, actual_cost=Decimal(1))  # a replay: same row
        assert again.id == first.id and first.actual_cost == 215000
        snapshot = session.query(EvmSnapshot).one()
        # Against baseline 1 (the brief's plan, BAC 239,000): everything due by 30 June
        # (173,000, 2.3 included) plus 12 of 3.1's 25 working days of 26,000 is planned;
        # earned: 141,000 done + 80 % of 32,000 + 30 % of 26,000.
        assert (snapshot.bac, snapshot.pv, snapshot.ev, snapshot.spi, snapshot.cpi) == (
            Decimal("239000.00"),
            Decimal("185480.00"),
            Decimal("174400.00"),
            Decimal("0.9403"),
            Decimal("0.8112"),
        )
        assert snapshot.baseline_number == 1
        assert snapshot.evm["eac"] == 294638.76  # 239,000 / (174,400 / 215,000)
        assert snapshot.evm["eac_plan_rate"] == 279600.0  # 215,000 + 239,000 - 174,400
        assert set(snapshot.evm) >= {"pv", "ev", "ac", "sv", "cv", "spi", "cpi", "eac", "etc"}
        assert set(snapshot.evm) >= {"vac", "tcpi", "es_days", "spi_t", "forecast_finish"}
        assert snapshot.overall == "red" and snapshot.breached
        assert {r["dimension"]: r["colour"] for r in snapshot.rag}["cost"] == "red"
        assert session.query(StatusUpdateRecord).count() == 2


def test_the_gate_sla_sweep_asks_only_about_waits_with_an_update_recorded_since_they_began(
    store_url,
):
    # The sweep reads Prefect for each wait it lists, to wake a run its update's channel
    # could not: listing every reporting stage made each sweep grow with the projects.
    brief = make_brief()
    with session_scope() as session:
        project = ensure_project(session, brief=brief, lifecycle=LIFECYCLE, flow_run_id=None)
        stage_run = ensure_stage_run(session, project=project, stage=EXECUTION, attempt=1)
        prefix = "status-execution-1"
        first = begin_status_wait(session, stage_run_id=stage_run.id, number=1, prefix=prefix)
        assert stage_waits_with_input(session) == []  # nothing recorded yet
        update_1 = take(session, brief, 1)
        (wait,) = stage_waits_with_input(session)  # recorded while the run waits
        assert (wait.stage_run_id, wait.key, wait.latest_input) == (
            stage_run.id,
            first,
            update_1.received_at,
        )
        # The run took it and, later, began to wait for update 2: nothing to wake.
        update_1.received_at -= 2 * CLOCK_MARGIN
        begin_status_wait(session, stage_run_id=stage_run.id, number=2, prefix=prefix)
        assert stage_waits_with_input(session) == []
        update_2 = take(session, brief, 2)
        assert [w.latest_input for w in stage_waits_with_input(session)] == [update_2.received_at]


def test_an_overdue_reminder_mailed_stays_on_record_when_a_later_stage_fails(
    store_url, monkeypatch
):
    # Each stage is checked in a transaction of its own: a failure at the second does not
    # roll back the first's record of its mail, which the next sweep would then send again.
    with session_scope() as session:
        for key in ("LATEA", "LATEB"):
            project = ensure_project(
                session, brief=make_brief(key=key), lifecycle=LIFECYCLE, flow_run_id=None
            )
            stage_run = ensure_stage_run(session, project=project, stage=EXECUTION, attempt=1)
            stage_run.status = "reporting"
    later = utcnow() + timedelta(days=30)  # past any update's due date and grace
    remind = sla._remind_if_overdue

    def remind_then_fail(session, project, stage_run, now):
        if project.key == "LATEB":
            raise RuntimeError("the store went away")
        return remind(session, project, stage_run, now)

    monkeypatch.setattr(sla, "_remind_if_overdue", remind_then_fail)
    with pytest.raises(RuntimeError):
        sla.check_status_updates(now=later)
    monkeypatch.setattr(sla, "_remind_if_overdue", remind)
    assert [r.project_key for r in sla.check_status_updates(now=later)] == ["LATEB"]
    with session_scope() as session:
        mailed = session.scalars(select(Notification.idempotency_key)).all()
    assert len(mailed) == 2 and all(key.startswith("status-overdue:") for key in mailed)


def test_a_go_at_the_exception_gate_puts_its_tolerances_in_force(store_url):
    brief = make_brief()
    with session_scope() as session:
        take(session, brief, 1)
        project = ensure_project(session, brief=brief, lifecycle=LIFECYCLE, flow_run_id=None)
        stage_run = ensure_stage_run(session, project=project, stage=EXECUTION, attempt=1)
        gate = ensure_gate(
            session,
            stage_run=stage_run,
            gate_key="execution-exception-1",
            gate_name="Exception review",
            flow_run_id=None,
            kind="exception",
        )
        assert stage_run.status == "at-exception-gate"
        session.add(
            GateDecision(
                gate_id=gate.id,
                round=1,
                response_key="k",
                approver_email="dana.reyes@example.com",
                decision="go",
                conditions="cost_percent: 30",
                accepted=True,
            )
        )
        session.flush()
        mark_decided(session, gate=gate, stage_run=stage_run, round=1, outcome="go", at=utcnow())
        assert (stage_run.status, stage_run.finished_at) == ("reporting", None)
        in_force = tolerances_in_force(session, stage_run=stage_run, stage=EXECUTION)
        assert (in_force.cost_percent, in_force.time_percent) == (30, 10)
        later = take(
            session,
            brief,
            2,
            as_of=date(2027, 7, 10),
            progress={"2.3": 100, "3.1": 60},
            actual_cost=Decimal(200000),
            forecast_finish=date(2027, 9, 30),
        )
        assert not session.query(EvmSnapshot).filter_by(status_update_id=later.id).one().breached


def exception_report(brief, tolerances: Tolerances, proposed: dict, key: str) -> str:
    """The execution stage's exception report, proposing `proposed` tolerances: its Markdown."""
    with session_scope() as session:
        _, markdown = write_document_version(
            session,
            brief=brief,
            lifecycle=LIFECYCLE,
            stage=EXECUTION,
            attempt=1,
            document_key="exception-report",
            template="exception-report",
            title="Exception report",
            idempotency_key=key,
            extra={
                "tolerances": tolerances.model_dump(),
                "proposed": proposed,
                "past_limits": past_the_limits(proposed),
            },
        )
    return markdown


def test_status_and_exception_reports_show_the_figures_and_print_typed_text_literally(
    store_url,
):
    brief = make_brief()
    with session_scope() as session:
        take(session, brief, 1)
    status = write(brief, EXECUTION, 1, "status-report")
    markdown = Path(status.markdown_path).read_text(encoding="utf-8")
    assert "## Overall status: RED" in markdown
    # EAC 294,638.76 is 23.28 % over the baseline's 239,000: past the 10 % tolerance.
    assert "| Cost | 23.28 % | 10 % | 233 % | RED |" in markdown
    assert r"SSO waits on two customers \| \<b\>not\</b\> \*\*bold\*\*" in markdown
    assert "## Earned value against baseline 1" in markdown
    assert "| Forecast finish (earned schedule) | 19 Oct 2027 (baseline 22 Sep 2027) |" in markdown
    assert "| Schedule performance index, time (SPI(t) = ES / AT) | 0.9004 |" in markdown
    document = Document(status.docx_path)
    assert len(document.inline_shapes) == 2  # the SPI/CPI trend and the S-curve
    rows = [[c.text for c in row.cells] for t in document.tables for row in t.rows]
    assert ["2.3", "ERP order API integration", "USD 32,000", "80", "USD 25,600"] in rows
    with session_scope() as session:
        stage_run = ensure_stage_run(
            session, project=get_project(session, key=brief.key), stage=EXECUTION, attempt=1
        )
        tolerances = tolerances_in_force(session, stage_run=stage_run, stage=EXECUTION)
    proposed = tolerances.model_copy(update={"cost_percent": 23}).model_dump()
    markdown = exception_report(brief, tolerances, proposed, "exception-1")
    assert "| Cost | 23.28 % | 10 % | 233 % |" in markdown
    assert "| Figure | Baseline 1 | Forecast |" in markdown
    assert (
        "| Finish | 22 Sep 2027 | 5 Nov 2027 (project manager); 19 Oct 2027 at SPI(t) 0.9004 |"
        in markdown
    )
    assert r"| Continue with new tolerances: cost\_percent: 23 |" in markdown
    assert "RECYCLE (back to Planning)" in markdown
    # The forecast finish 5 Nov is 44 days past the baseline's 22 Sep, of its 233: time too.
    assert "| Time | 18.88 % | 10 % | 189 % |" in markdown
    assert "Re-plan: 2 dimensions are past tolerance" in markdown
    # a forecast no stage may tolerate: the report does not offer a go that would be refused
    proposed = tolerances.model_dump() | {"time_percent": 1316}
    assert past_the_limits(proposed) == {"time_percent": 1000}
    markdown = exception_report(brief, tolerances, proposed, "exception-2")
    assert (
        r"| Continue with new tolerances | Not open: a go cannot set time\_percent: 1316 "
        "(a stage tolerates at most 1000) |" in markdown
    )
    assert "GO, with those tolerances" not in markdown
    assert "Re-plan: the forecast is past what any stage may tolerate" in markdown
    assert report_recipients(brief, "status-report") == [
        "dana.reyes@example.com",
        "lee.park@example.com",
    ]


def test_status_updates_and_their_figures_are_on_the_audit_ledger(store_url):
    brief = make_brief()
    with session_scope() as session:
        row = take(session, brief, 1)
        row_id = row.id
    with session_scope() as session:
        tables = {e.table_name for e in session.execute(select(LEDGER))}
        assert {"status_updates", "evm_snapshots"} <= tables
        assert verify_ledger(session) == []
        engine = session.get_bind()
    with engine.begin() as connection:  # behind the application's back
        connection.execute(
            text("UPDATE status_updates SET actual_cost = 2 WHERE id = :id"), {"id": row_id}
        )
    with session_scope() as session:
        found = [str(p) for p in verify_ledger(session)]
    assert len(found) == 1 and "status update" in found[0]


def test_pmo_projects_lists_stage_status_rag_and_the_latest_indices(store_url):
    brief = make_brief()
    with session_scope() as session:
        take(session, brief, 1)
    listed = CliRunner().invoke(app, ["projects", "--json"])
    assert listed.exit_code == 0, listed.output
    listed_evm = json.loads(listed.output)[0]["evm"]
    assert json.loads(listed.output) == [
        {
            "project": "APOLLO",
            "name": "Apollo customer portal",
            "lifecycle": "pmbok-waterfall",
            "stage": "Execution",
            "status": "in-progress",
            "rag": "red",
            "spi": 0.9403,
            "cpi": 0.8112,
            "as_of": "2027-06-30",
            "run_id": None,
            "baseline": 1,
            "evm": listed_evm,
        }
    ]
    assert listed_evm["forecast_finish"] == "2027-10-19" and listed_evm["spi_t"] == 0.9004
    table = CliRunner().invoke(app, ["projects"])
    assert "APOLLO · Apollo customer portal" in table.output and "RED" in table.output


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["not-a-run"], "error: RUN_ID: 'not-a-run' is not a run id"),
        (
            ["00000000-0000-0000-0000-000000000000"],
            "error: RUN_ID: no lifecycle run 00000000-0000-0000-0000-000000000000 is known",
        ),
        (["x", "--forecast-finish", "soon"], "error: --forecast-finish: 'soon' is not a date"),
        (["x", "--progress", "40"], "error: --progress: '40' is not KEY=PERCENT"),
        (["x", "--actual-cost", "lots"], "error: --actual-cost: 'lots' is not an amount"),
        (["x", "--actual-cost", "1.1=x"], "error: --actual-cost 1.1: 'x' is not an amount"),
        (["x", "--risk", "Late:often"], "error: --risk: 'Late:often' is not DESCRIPTION"),
    ],
)
def test_pmo_status_refuses_bad_input_in_one_line(store_url, args, line):
    base = {
        "--progress": "1=40",
        "--actual-cost": "10",
        "--forecast-finish": "2027-10-29",
        "--forecast-cost": "10",
    }
    run, *rest = args
    options = dict(zip(rest[::2], rest[1::2], strict=True))
    flat = [item for pair in (base | options).items() for item in pair]
    result = CliRunner().invoke(app, ["status", run, *flat])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [result.output.strip()]
    assert result.output.startswith(line)
