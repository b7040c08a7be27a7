"""RAG and tolerance breaches from earned value on the baseline's schedule, on a network
worked out by hand."""

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
)
from pmo.errors import StatusRefused
from pmo.plan.model import parse_plan
from pmo.plan.schedule import schedule_plan
from process_library.loader import load_lifecycle
from process_library.schema import Rag, Tolerances
from tests.factories import make_brief

pytestmark = pytest.mark.unit

EXECUTION = load_lifecycle("pmbok-waterfall").lifecycle.stage("execution")
TOLERANCES = EXECUTION.tolerances
RAG = Rag(amber_share=0.8)
PM = "sam.okafor@example.com"
# A (10 working days, 10,000) from Mon 1 Feb 2027 to Fri 12 Feb, then B (10 days, 20,000)
# from Mon 15 Feb to Fri 26 Feb. BAC 30,000; the baseline spans 25 calendar days.
PLAN = parse_plan(
    {
        "start": "2027-02-01",
        "work_packages": [
            {"key": "A", "name": "Design", "owner": PM, "duration_days": 10, "budget": 10000},
            {
                "key": "B",
                "name": "Build",
                "owner": PM,
                "duration_days": 10,
                "depends_on": ["A"],
                "budget": 20000,
            },
        ],
    }
)
SCHEDULE = schedule_plan(PLAN)


def update(**overrides) -> StatusUpdate:
    values = {
        "as_of": date(2027, 2, 19),  # the end of working day 15
        "progress": {"A": 100, "B": 25},
        "actual_cost": Decimal(20000),
        "forecast_finish": date(2027, 2, 26),
        "forecast_cost": Decimal(30000),
    }
    return StatusUpdate(**(values | overrides))


def assessed(given: StatusUpdate, previous: dict | None = None):
    brief = make_brief()
    progress = check_update(
        given, brief=brief, schedule=SCHEDULE, previous=previous or {}, previous_as_of=None
    )
    return assess(
        given,
        brief=brief,
        progress=progress,
        risks_so_far=[],
        tolerances=TOLERANCES,
        rag=RAG,
        schedule=SCHEDULE,
    )


def test_the_worked_example_measured_against_the_baseline():
    result = assessed(update())
    f = result.figures
    # PV: all of A and half of B's 20,000 (5 of its 10 days); EV: A + 25 % of B.
    assert (f.bac, f.pv, f.ev, f.ac) == (30000, 20000, 15000, 20000)
    assert (f.spi, f.cpi, f.eac) == (Decimal("0.75"), Decimal("0.75"), 40000)
    # Earned schedule: 15,000 was planned after 12.5 working days; SPI(t) = 12.5 / 15, so
    # the 20 days take 24: the forecast finish is working day 24, Thu 4 March.
    assert (f.es_days, f.at_days, f.spi_t) == (Decimal("12.5"), 15, Decimal("0.8333"))
    assert f.forecast_finish == date(2027, 3, 4)
    assert result.percent_complete == 50
    colours = {s.dimension: s.colour for s in result.statuses}
    # EAC 40,000 is 33.33 % over BAC; the earned schedule's finish is 6 days past the
    # baseline's 26 Feb, 24 % of its 25 days, though the project manager forecasts none.
    assert {s.dimension: s.variance for s in result.statuses} == {
        "time": 24.0,
        "cost": 33.33,
        "scope": 0,
        "quality": 0,
        "benefits": 0,
        "risk": 6.0,
    }
    assert colours["time"] == colours["cost"] == "red" and colours["risk"] == "amber"
    assert result.overall == "red"


def test_on_plan_and_on_cost_is_green_in_time_and_cost():
    result = assessed(update(progress={"A": 100, "B": 50}, actual_cost=Decimal(20000)))
    assert (result.figures.spi, result.figures.cpi) == (1, 1)
    assert result.figures.forecast_finish == date(2027, 2, 26)
    colours = {s.dimension: s.colour for s in result.statuses}
    assert colours["time"] == colours["cost"] == "green"


def test_actual_cost_per_package_is_their_sum():
    result = assessed(update(actual_costs={"A": Decimal(12000), "B": Decimal(8000)}))
    assert result.figures.ac == 20000


def test_a_late_forecast_and_a_new_high_risk_breach_their_tolerances():
    late = update(
        progress={"A": 100, "B": 50},
        forecast_finish=date(2027, 3, 5),  # 7 days late: 28 % of 25 days
        risks=(ReportedRisk("Key developer leaves", "high", "high"),),
    )
    result = assessed(late)
    assert {b.dimension for b in result.breaches} == {"time", "risk"}
    assert next(s for s in result.statuses if s.dimension == "time").variance == 28.0


@pytest.mark.parametrize(
    ("variance", "tolerance", "expected"),
    [(0, 10, "green"), (7.9, 10, "green"), (8, 10, "amber"), (10, 10, "amber"), (10.1, 10, "red")],
)
def test_red_past_the_tolerance_amber_from_the_agreed_share(variance, tolerance, expected):
    assert evm.colour(variance, tolerance, RAG)[1] == expected


def test_a_zero_tolerance_is_red_at_any_variance():
    assert evm.colour(0, 0, RAG)[1] == "green"
    assert evm.colour(0.5, 0, RAG)[1] == "red"


@pytest.mark.parametrize(
    ("overrides", "field", "problem"),
    [
        ({"progress": {"A": 120}}, "progress[A]", "120 is outside 0 to 100"),
        ({"progress": {"B": -1}}, "progress[B]", "-1 is outside 0 to 100"),
        ({"progress": {"9.9": 10}}, "progress[9.9]", "no work package '9.9' in the baseline"),
        ({"actual_costs": {"Z": Decimal(1)}}, "actual_cost[Z]", "no work package 'Z'"),
        ({"actual_costs": {"A": Decimal(-1)}}, "actual_cost[A]", "-1 is not a cost to date"),
        ({"actual_cost": Decimal(-5)}, "actual_cost", "-5 is negative"),
        ({"forecast_cost": Decimal(-1)}, "forecast_cost", "-1 is negative"),
        ({"forecast_finish": date(2027, 1, 1)}, "forecast_finish", "before the project's start"),
        ({"scope_change_percent": 101}, "scope_change_percent", "outside 0 to 100"),
    ],
)
def test_bad_figures_are_refused_naming_the_field(overrides, field, problem):
    with pytest.raises(StatusRefused) as refused:
        check_update(
            update(**overrides),
            brief=make_brief(),
            schedule=SCHEDULE,
            previous={},
            previous_as_of=None,
        )
    assert refused.value.where == field and problem in refused.value.problem


def test_percent_complete_goes_back_only_with_a_note():
    brief = make_brief()
    previous = {"A": 60.0}
    back = update(progress={"A": 40})
    with pytest.raises(StatusRefused, match="went back from 60 to 40; give a note"):
        check_update(back, brief=brief, schedule=SCHEDULE, previous=previous, previous_as_of=None)
    noted = update(progress={"A": 40}, note="Rework after the security review")
    checked = check_update(
        noted, brief=brief, schedule=SCHEDULE, previous=previous, previous_as_of=None
    )
    assert checked["A"] == 40


def test_packages_not_reported_keep_their_last_percent():
    progress = check_update(
        update(progress={"B": 50}),
        brief=make_brief(),
        schedule=SCHEDULE,
        previous={"A": 20.0},
        previous_as_of=date(2027, 2, 1),
    )
    assert progress == {"A": 20.0, "B": 50}


def test_an_update_dated_before_the_last_is_refused():
    with pytest.raises(StatusRefused, match="as_of: 2027-06-01 is before the last update"):
        check_update(
            update(as_of=date(2027, 6, 1)),
            brief=make_brief(),
            schedule=SCHEDULE,
            previous={},
            previous_as_of=date(2027, 6, 15),
        )


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
