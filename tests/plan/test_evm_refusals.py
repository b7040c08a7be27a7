"""A status update the plan cannot measure is refused in one line naming the package."""

import copy
from datetime import date
from decimal import Decimal

import pytest

from pmo.plan.evm import earned_value
from pmo.plan.model import PlanError, parse_plan
from pmo.plan.schedule import schedule_plan
from tests.plan.worked import WORKED

pytestmark = pytest.mark.unit

SCHEDULE = schedule_plan(parse_plan(WORKED))
AS_OF = date(2027, 2, 17)


@pytest.mark.parametrize(
    ("progress", "cost", "line"),
    [
        ({"9.9": 50}, Decimal(0), "progress: 9.9: is not a work package of the plan"),
        ({"1.1": 101}, Decimal(0), "progress: 1.1: 101 is outside 0 to 100"),
        ({"1.1": -0.5}, Decimal(0), "progress: 1.1: -0.5 is outside 0 to 100"),
        ({"1.1": float("nan")}, Decimal(0), "progress: 1.1: 'nan' is not a percentage"),
        ({"1.1": "lots"}, Decimal(0), "progress: 1.1: 'lots' is not a percentage"),
        ({"1.1": True}, Decimal(0), "progress: 1.1: 'True' is not a percentage"),
        ({}, Decimal(-1), "actual_cost: -1 is below zero"),
        ({}, {"1.1": Decimal(-3)}, "actual_cost: 1.1: -3 is below zero"),
        ({}, {"7.7": Decimal(3)}, "actual_cost: 7.7: is not a work package of the plan"),
        ({}, "Infinity", "actual_cost: 'Infinity' is not an amount"),
    ],
)
def test_an_update_the_plan_cannot_measure_is_refused(progress, cost, line):
    with pytest.raises(PlanError) as refused:
        earned_value(SCHEDULE, as_of=AS_OF, progress=progress, actual_cost=cost)
    assert str(refused.value) == line


def test_a_plan_without_a_start_needs_one_from_the_brief():
    data = copy.deepcopy(WORKED)
    del data["start"]
    plan = parse_plan(data)
    with pytest.raises(PlanError, match="^plan: start: no start date"):
        schedule_plan(plan)
    assert schedule_plan(plan, date(2027, 2, 1)).finish == date(2027, 2, 23)
    # the plan's own start wins over the brief's
    assert schedule_plan(parse_plan(WORKED), date(2030, 1, 1)).start == date(2027, 2, 1)


def test_a_schedule_past_the_last_date_is_refused():
    data = copy.deepcopy(WORKED)
    data["start"] = "9999-12-20"
    with pytest.raises(PlanError, match="past the last day a date can hold"):
        schedule_plan(parse_plan(data))
