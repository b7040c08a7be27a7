"""The plan over time and as JSON, on the worked example moved to straddle a month end."""

import copy
from datetime import date
from decimal import Decimal

import pytest

from pmo.plan.evm import earned_value
from pmo.plan.model import parse_plan
from pmo.plan.phased import cumulative_pv_by_month, effort_by_role_month
from pmo.plan.report import schedule_json
from pmo.plan.schedule import schedule_plan
from tests.plan.worked import WORKED

pytestmark = pytest.mark.unit


def straddling():
    """Starting Wednesday 2027-02-24 without the holiday: 1.1's five days are Wed, Thu, Fri
    in February and Mon, Tue in March; everything after it is in March (the finish, 16
    working days in, is Wed 03-17)."""
    data = copy.deepcopy(WORKED)
    data["start"] = "2027-02-24"
    data["calendar"] = {}
    return schedule_plan(parse_plan(data))


def test_cumulative_planned_value_at_each_month_end():
    schedule = straddling()
    assert schedule.finish == date(2027, 3, 17)
    # 1.1 plans 1000 a day: three February days by the end of February
    assert cumulative_pv_by_month(schedule) == [
        ("2027-02", Decimal("3000.00")),
        ("2027-03", Decimal("29000.00")),
    ]


def test_effort_by_role_and_month_is_spread_over_working_days():
    assert effort_by_role_month(straddling()) == {
        ("analyst", "2027-02"): Decimal("3.00"),  # 1.1: 5 days of effort, 3 of its 5 days
        ("analyst", "2027-03"): Decimal("4.00"),  # 1.1's other 2 and 1.3's 2
        ("architect", "2027-03"): Decimal("3.00"),
        ("developer", "2027-03"): Decimal("14.00"),
        ("tester", "2027-03"): Decimal("3.00"),
    }


def test_schedule_json_has_the_design_keys():
    schedule = schedule_plan(parse_plan(WORKED))
    data = schedule_json(schedule)
    assert data["finish"] == "2027-02-23"
    assert data["duration_days"] == 16
    assert data["critical_path"] == ["1.1", "1.3", "2.2", "3.1", "3.2"]
    assert data["budget"] == 29000.0
    assert data["work_packages"][1] == {
        "key": "1.2",
        "name": "Design",
        "early_start": "2027-02-08",
        "early_finish": "2027-02-10",
        "late_start": "2027-02-09",
        "late_finish": "2027-02-11",
        "total_float": 1,
        "critical": False,
        "budget": 6000.0,
    }
    assert data["milestones"] == [
        {"name": "Design done", "date": "2027-02-11"},
        {"name": "Portal live", "date": "2027-02-23"},
    ]
    assert "evm" not in data
    evm = earned_value(
        schedule, as_of=date(2027, 2, 17), progress={"1.1": 100}, actual_cost=Decimal(5000)
    )
    assert schedule_json(schedule, evm)["evm"] == evm.as_json()
