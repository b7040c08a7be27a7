"""A baseline keeps what its plan asks for month by month, computed once when approved:
the stored figures are the plan's own, exactly, on SQLite and PostgreSQL; a row older
than the figures is read from its plan, and the portfolio weighs both alike."""

from decimal import Decimal

import pytest
from sqlalchemy import select, update

from pmo.brief import parse_brief
from pmo.plan.model import parse_plan
from pmo.plan.phased import PhasedFigures, phased_figures
from pmo.plan.schedule import schedule_plan
from pmo.portfolio.records import open_candidates
from pmo.store import session_scope
from pmo.store.models import Baseline
from pmo.store.plans import baseline_of, figures_of, record_baseline
from pmo.store.records import ensure_project
from tests.factories import brief_data, make_brief
from tests.project_record import LIFECYCLE

pytestmark = pytest.mark.integration


def record(brief) -> None:
    with session_scope() as session:
        project = ensure_project(session, brief=brief, lifecycle=LIFECYCLE, flow_run_id=None)
        record_baseline(
            session, project_id=project.id, plan=brief.plan, gate_id=None, reason="Approved"
        )


def baseline_row() -> Baseline:
    with session_scope() as session:
        row = session.scalars(select(Baseline)).one()
        session.expunge(row)
        return row


def test_the_stored_figures_are_those_of_the_plan_exactly(store_url):
    # A second plan whose packages split cents unevenly across months, so rounding shows.
    data = brief_data(key="ODD")
    data["plan"]["work_packages"][0] |= {"budget": 10000.01, "duration_days": 7}
    for brief in (make_brief(), parse_brief(data, "test brief")):
        record(brief)
    with session_scope() as session:
        rows = list(session.scalars(select(Baseline).order_by(Baseline.id)))
        for row in rows:
            plan = parse_plan(row.plan, "stored plan")
            computed = phased_figures(schedule_plan(plan, row.start))
            stored = PhasedFigures.from_data(row.figures)
            assert stored == computed
            assert stored == phased_figures(baseline_of(row).schedule)
            assert stored.cumulative_pv[-1][1] == sum(
                (p.budget for p in plan.work_packages), Decimal(0)
            )
            assert {role for role, _ in stored.effort} >= {"analyst", "architect"}
            assert all(isinstance(v, Decimal) for v in stored.effort.values())


def test_a_baseline_older_than_its_figures_is_read_from_its_plan_and_not_written(store_url):
    record(make_brief())
    stored = figures_of(baseline_row())
    with session_scope() as session:
        before = {c.key: (c.spend, c.effort, c.budget) for c in open_candidates(session)}
        session.execute(update(Baseline).values(figures=None))
    old = baseline_row()
    assert old.figures is None
    assert figures_of(old) == stored
    with session_scope() as session:
        after = {c.key: (c.spend, c.effort, c.budget) for c in open_candidates(session)}
    assert after == before and before["APOLLO"][1]
    assert baseline_row().figures is None  # a read computes, it never writes
