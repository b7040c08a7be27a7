"""Earned value, RAG and tolerance breaches, on worked figures."""

from datetime import date
from decimal import Decimal

import pytest

from pmo.control import evm
from pmo.control.updates import (
    ReportedRisk,
    StatusUpdate,
    assess,
    check_update,
    parse_tolerances,
    work_packages,
)
from pmo.errors import StatusRefused
from process_library.loader import load_lifecycle
from process_library.schema import Rag, Tolerances
from tests.factories import make_brief

pytestmark = pytest.mark.unit

EXECUTION = load_lifecycle("pmbok-waterfall").lifecycle.stage("execution")
TOLERANCES = EXECUTION.tolerances
RAG = Rag(amber_share=0.8)
START, END = date(2027, 2, 1), date(2027, 10, 29)  # the example brief: 270 days, 250,000 USD


def update(**overrides) -> StatusUpdate:
    values = {
        "as_of": date(2027, 6, 1),
        "progress": {"1": 60, "2": 30, "3": 30},
        "actual_cost": Decimal(120000),
        "forecast_finish": END,
        "forecast_cost": Decimal(250000),
    }
    return StatusUpdate(**(values | overrides))


def test_earned_value_of_a_worked_example():
    # 120 of 270 days gone: PV = 250,000 x 120/270; 40% done: EV = 100,000; AC = 120,000
    figures = evm.earned_value(
        budget=Decimal(250000),
        start=START,
        end=END,
        as_of=date(2027, 6, 1),
        percent_complete=40,
        actual_cost=Decimal(120000),
    )
    assert figures.pv == Decimal("111111.11")
    assert figures.ev == Decimal("100000.00")
    assert figures.spi == Decimal("0.9000")
    assert figures.cpi == Decimal("0.8333")
    assert figures.sv == Decimal("-11111.11")
    assert figures.cv == Decimal("-20000.00")
    assert figures.eac == Decimal("300000.00")  # BAC / CPI = BAC x AC / EV
    assert figures.vac == Decimal("-50000.00")


def test_indices_are_unknown_before_the_plan_starts_or_any_cost_is_spent():
    figures = evm.earned_value(
        budget=Decimal(1000),
        start=START,
        end=END,
        as_of=START,
        percent_complete=0,
        actual_cost=Decimal(0),
    )
    assert (figures.pv, figures.spi, figures.cpi, figures.eac, figures.vac) == (
        0,
        None,
        None,
        Decimal(1000),
        0,
    )


def test_planned_value_stops_at_the_budget_after_the_end():
    assert evm.planned_share(START, END, date(2028, 1, 1)) == 1
    assert evm.planned_share(START, END, date(2026, 1, 1)) == 0


def test_weighted_percent_complete():
    assert evm.weighted_complete({"a": 60, "b": 30, "c": 30}) == 40
    assert evm.weighted_complete({"a": 100, "b": 0}, {"a": 3, "b": 1}) == 75


@pytest.mark.parametrize(
    ("variance", "tolerance", "expected"),
    [(0, 10, "green"), (7.9, 10, "green"), (8, 10, "amber"), (10, 10, "amber"), (10.1, 10, "red")],
)
def test_red_past_the_tolerance_amber_from_the_agreed_share(variance, tolerance, expected):
    assert evm.colour(variance, tolerance, RAG)[1] == expected


def test_a_zero_tolerance_is_red_at_any_variance():
    assert evm.colour(0, 0, RAG)[1] == "green"
    assert evm.colour(0.5, 0, RAG)[1] == "red"


def test_the_worked_example_breaches_cost_tolerance_and_is_red_overall():
    brief = make_brief()
    progress = check_update(update(), brief=brief, previous={}, previous_as_of=None)
    result = assess(
        update(),
        brief=brief,
        progress=progress,
        risks_so_far=[],
        tolerances=TOLERANCES,
        rag=RAG,
        work_due=END,
    )
    colours = {s.dimension: s.colour for s in result.statuses}
    # EAC 300,000 is 20% over the budget against a 10% tolerance; the brief's worst risk
    # is rated 6 (medium x high), all of the risk tolerance: amber
    assert colours == {
        "time": "green",
        "cost": "red",
        "scope": "green",
        "quality": "green",
        "benefits": "green",
        "risk": "amber",
    }
    assert result.overall == "red"
    assert [(b.dimension, b.variance) for b in result.breaches] == [("cost", 20.0)]
    assert result.percent_complete == 40


def test_the_forecast_finish_and_a_new_high_risk_breach_their_tolerances():
    brief = make_brief()
    late = update(
        progress={"1": 50, "2": 50, "3": 50},
        actual_cost=Decimal(125000),
        forecast_finish=date(2027, 12, 1),  # 33 days late: 12.2% of 270 days
        risks=(ReportedRisk("Key developer leaves", "high", "high"),),
    )
    progress = check_update(late, brief=brief, previous={}, previous_as_of=None)
    result = assess(
        late,
        brief=brief,
        progress=progress,
        risks_so_far=[],
        tolerances=TOLERANCES,
        rag=RAG,
        work_due=END,
    )
    assert {b.dimension for b in result.breaches} == {"time", "risk"}
    assert next(s for s in result.statuses if s.dimension == "time").variance == 12.22


@pytest.mark.parametrize(
    ("overrides", "field", "problem"),
    [
        ({"progress": {"1": 120}}, "progress[", "120 is outside 0 to 100"),
        ({"progress": {"2": -1}}, "progress[", "-1 is outside 0 to 100"),
        ({"progress": {"9": 10}}, "progress[9]", "no work package '9'"),
        ({"actual_cost": Decimal(-5)}, "actual_cost", "-5 is negative"),
        ({"forecast_cost": Decimal(-1)}, "forecast_cost", "-1 is negative"),
        ({"forecast_finish": date(2027, 1, 1)}, "forecast_finish", "before the project's start"),
        ({"scope_change_percent": 101}, "scope_change_percent", "outside 0 to 100"),
    ],
)
def test_bad_figures_are_refused_naming_the_field(overrides, field, problem):
    with pytest.raises(StatusRefused) as refused:
        check_update(update(**overrides), brief=make_brief(), previous={}, previous_as_of=None)
    assert refused.value.where.startswith(field) and problem in refused.value.problem


def test_percent_complete_goes_back_only_with_a_note():
    brief = make_brief()
    first = work_packages(brief)[0]
    previous = {first: 60.0}
    back = update(progress={"1": 40})
    with pytest.raises(StatusRefused, match="went back from 60 to 40; give a note"):
        check_update(back, brief=brief, previous=previous, previous_as_of=None)
    noted = update(progress={"1": 40}, note="Rework after the security review")
    assert check_update(noted, brief=brief, previous=previous, previous_as_of=None)[first] == 40


def test_packages_not_reported_keep_their_last_percent_and_names_work_as_keys():
    brief = make_brief()
    first, second, third = work_packages(brief)
    progress = check_update(
        update(progress={second.upper(): 50}),
        brief=brief,
        previous={first: 20.0},
        previous_as_of=date(2027, 5, 1),
    )
    assert progress == {first: 20.0, second: 50, third: 0.0}


def test_an_update_dated_before_the_last_is_refused():
    with pytest.raises(StatusRefused, match="as_of: 2027-06-01 is before the last update"):
        check_update(update(), brief=make_brief(), previous={}, previous_as_of=date(2027, 6, 15))


def test_new_tolerances_given_with_a_go_replace_only_those_named():
    new = parse_tolerances("cost_percent: 25, time_percent=15", TOLERANCES)
    assert (new.cost_percent, new.time_percent, new.scope_percent) == (25, 15, 5)
    with pytest.raises(ValueError, match="'costs: 3' is not 'tolerance: value'"):
        parse_tolerances("costs: 3", TOLERANCES)
    with pytest.raises(ValueError, match="risk_score: 'high' is not a number"):
        parse_tolerances("risk_score: high", TOLERANCES)
    with pytest.raises(ValueError, match="risk_score"):
        parse_tolerances("risk_score: 12", TOLERANCES)


def test_tolerances_are_validated_like_the_rest_of_the_lifecycle():
    assert isinstance(TOLERANCES, Tolerances)
    assert EXECUTION.reporting.every_days == 14
    assert EXECUTION.exception_gate.replan_stage == "planning"
    assert EXECUTION.exception_gate.approvers == ("sponsor",)
