"""Working days: weekends, holidays and other weeks."""

from datetime import date

import pytest

from pmo.plan.calendar import WorkCalendar
from pmo.plan.model import Calendar

pytestmark = pytest.mark.unit

EASTER = WorkCalendar(Calendar(holidays=[date(2027, 3, 29)]))  # Easter Monday 2027


def test_weekends_and_holidays_are_not_worked():
    assert EASTER.is_workday(date(2027, 3, 26))  # Friday
    assert not EASTER.is_workday(date(2027, 3, 27))  # Saturday
    assert not EASTER.is_workday(date(2027, 3, 29))  # the holiday
    assert EASTER.next_workday(date(2027, 3, 27)) == date(2027, 3, 30)
    assert EASTER.next_workday(date(2027, 3, 26)) == date(2027, 3, 26)


def test_adding_working_days_skips_weekends_and_holidays_both_ways():
    assert EASTER.add_workdays(date(2027, 3, 26), 0) == date(2027, 3, 26)
    assert EASTER.add_workdays(date(2027, 3, 26), 1) == date(2027, 3, 30)
    assert EASTER.add_workdays(date(2027, 3, 27), 0) == date(2027, 3, 30)
    assert EASTER.add_workdays(date(2027, 3, 30), -1) == date(2027, 3, 26)
    assert EASTER.add_workdays(date(2027, 1, 4), 258) == date(2027, 12, 31)  # 259 working days
    assert EASTER.add_workdays(date(2027, 12, 31), -258) == date(2027, 1, 4)


def test_counting_working_days_between_two_dates():
    assert EASTER.workdays_between(date(2027, 3, 26), date(2027, 3, 31)) == 2  # Fri, Tue
    assert EASTER.workdays_between(date(2027, 3, 31), date(2027, 3, 26)) == -2
    assert EASTER.workdays_between(date(2027, 3, 27), date(2027, 3, 27)) == 0
    assert EASTER.workdays(date(2027, 3, 26), date(2027, 3, 30)) == [
        date(2027, 3, 26),
        date(2027, 3, 30),
    ]
    assert EASTER.workdays(date(2027, 3, 30), date(2027, 3, 26)) == []


def test_a_six_day_week_and_a_weekend_shift():
    retail = WorkCalendar(Calendar(workdays=["tue", "wed", "thu", "fri", "sat", "sun"]))
    assert retail.add_workdays(date(2027, 3, 1), 0) == date(2027, 3, 2)  # Monday is off
    assert retail.add_workdays(date(2027, 3, 2), 6) == date(2027, 3, 9)
    assert retail.workdays_between(date(2027, 3, 1), date(2027, 3, 8)) == 6


def test_the_ends_of_the_calendar_are_an_overflow_not_a_wrong_date():
    with pytest.raises(OverflowError):
        EASTER.add_workdays(date(9999, 12, 1), 100)
    with pytest.raises(OverflowError):
        EASTER.add_workdays(date(1, 1, 10), -100)
