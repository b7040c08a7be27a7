"""Working days: weekends, holidays and other weeks."""

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pmo.plan.calendar import WorkCalendar
from pmo.plan.model import Calendar
from tests.fuzz import fuzz

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


WEEKDAY_NAMES = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


@st.composite
def calendars(draw) -> Calendar:
    return Calendar(
        workdays=draw(st.lists(st.sampled_from(WEEKDAY_NAMES), min_size=1, max_size=7)),
        holidays=draw(st.lists(st.dates(date(2026, 1, 1), date(2032, 1, 1)), max_size=40)),
    )


def naive_add(calendar: WorkCalendar, start: date, n: int) -> date:
    day = start
    while not calendar.is_workday(day):
        day += timedelta(days=1)
    while n:
        day += timedelta(days=1)
        n -= calendar.is_workday(day)
    return day


@fuzz(60)
@given(
    calendars(),
    st.dates(date(2026, 1, 1), date(2033, 1, 1)),
    st.integers(0, 3000),
    st.dates(date(1990, 1, 1), date(2090, 1, 1)),
)
def test_far_dates_by_arithmetic_agree_with_counting_day_by_day(calendar, start, n, before):
    """Past the last holiday the calendar jumps whole weeks, and a query far from the last
    starts its list afresh; the answers are the same as counting day by day."""
    work = WorkCalendar(calendar)
    work.next_workday(before)  # an earlier question, anywhere
    expected = naive_add(work, start, n)
    assert work.add_workdays(start, n) == expected
    counted = sum(
        work.is_workday(start + timedelta(days=i)) for i in range((expected - start).days)
    )
    assert WorkCalendar(calendar).workdays_between(start, expected) == counted
