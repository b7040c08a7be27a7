"""What the portfolio reads: the fields it weighs, not whole briefs, lifecycles or plans
(a portfolio of thousands would decode megabytes of JSON it never uses)."""

import gc

import pytest
from sqlalchemy import event

from pmo.portfolio.rows import collector_paused, read_portfolio_rows
from pmo.store import session_scope
from pmo.store.engine import engine_for
from pmo.store.records import get_project
from tests.factories import make_brief
from tests.project_record import LIFECYCLE, baselined, decide


@pytest.mark.integration
def test_the_portfolio_reads_figures_and_brief_fields_not_plans_or_lifecycles(store_url):
    brief = make_brief()
    decide(brief, LIFECYCLE.lifecycle.stages[0], 1, "go", {"strategic-fit": 8})
    with session_scope() as session:
        baselined(session, get_project(session, key=brief.key))
    statements: list[str] = []

    def seen(conn, cursor, statement, *args) -> None:  # noqa: ANN001 (SQLAlchemy's hook)
        statements.append(statement)

    engine = engine_for(store_url)
    event.listen(engine, "before_cursor_execute", seen)
    try:
        with session_scope() as session:
            rows = read_portfolio_rows(session)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert [p.key for p in rows.projects] == ["APOLLO"]
    assert rows.baselines[rows.projects[0].id].figures is not None
    assert rows.funding_gates[rows.projects[0].id]["key"] == "charter-approval"
    assert rows.scores  # the go's score, for the ranking
    read = " ".join(statements)
    assert "baselines.plan " not in read and "baselines.plan," not in read
    assert "lifecycle_definition" not in read  # one definition per version pinned instead
    assert "brief" not in rows.projects[0]._fields  # its fields, extracted by the database


@pytest.mark.unit
def test_the_collector_resumes_after_the_rows_even_when_reading_fails():
    assert gc.isenabled()
    with pytest.raises(RuntimeError), collector_paused():
        assert not gc.isenabled()
        raise RuntimeError("the store went away")
    assert gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()  # paused by its caller: left paused
    finally:
        gc.enable()
