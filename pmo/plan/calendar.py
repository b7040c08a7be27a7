"""Working days: which days count when a plan says "15 days".

The calendar keeps the working days it has been asked about as a sorted list, so adding or
counting working days is a binary search, however long the plan.
"""

from bisect import bisect_left, bisect_right
from datetime import date, timedelta

from pmo.plan.model import WEEKDAYS, Calendar

_ONE_DAY = timedelta(days=1)
_CHUNK = timedelta(days=400)  # calendar days added to the list at a time


def _plus(day: date, delta: timedelta) -> date:
    """`day + delta`, stopping at the first or last day Python's dates can hold."""
    try:
        return day + delta
    except OverflowError:
        return date.max if delta > timedelta(0) else date.min


class WorkCalendar:
    """A plan's calendar: working weekdays less holidays."""

    def __init__(self, calendar: Calendar) -> None:
        self.calendar = calendar
        self._weekdays = frozenset(WEEKDAYS.index(day) for day in calendar.workdays)
        self._holidays = frozenset(calendar.holidays)
        self._days: list[date] = []  # every working day from _first to _last, ascending
        self._first = self._last = date.today()
        self._empty = True
        # After the last holiday every week has the same working days: far dates are
        # reached by arithmetic instead of by listing the days up to them.
        self._plain_from = max(calendar.holidays, default=date.min)

    def is_workday(self, day: date) -> bool:
        return day.weekday() in self._weekdays and day not in self._holidays

    def next_workday(self, day: date) -> date:
        """`day` when it is worked, else the first working day after it."""
        return self.add_workdays(day, 0)

    def add_workdays(self, start: date, n: int) -> date:
        """The working day `n` working days after `start` (before it when n < 0), counting
        from `start` when it is worked, else from the next working day; so
        `add_workdays(d, 0) == next_workday(d)`. OverflowError past the year 9999."""
        self._cover(start)
        position = bisect_left(self._days, start) + n
        while position < 0:
            if self._first == date.min:
                raise OverflowError("before the first day a date can hold")
            self._prepend(_plus(self._first, -_CHUNK))
            position = bisect_left(self._days, start) + n
        while position >= len(self._days):
            if self._last == date.max:
                raise OverflowError("after the last day a date can hold")
            if self._days and self._last >= self._plain_from:
                return self._plain_after(self._days[-1], position - len(self._days) + 1)
            self._append(_plus(self._last, _CHUNK))
        return self._days[position]

    def workdays_between(self, a: date, b: date) -> int:
        """How many working days d with a <= d < b (negative when b < a)."""
        if b < a:
            return -self.workdays_between(b, a)
        plain = max(a, _plus(self._plain_from, _ONE_DAY))
        if b > plain + _CHUNK:
            return self.workdays_between(a, plain) + self._plain_count(plain, b)
        self._cover(a)
        self._cover(b, keep=True)
        return bisect_left(self._days, b) - bisect_left(self._days, a)

    def _plain_count(self, a: date, b: date) -> int:
        """Working days in [a, b) when no holiday falls there: whole weeks, then the rest."""
        weeks, rest = divmod((b - a).days, 7)
        tail = sum(1 for i in range(rest) if (a + timedelta(days=i)).weekday() in self._weekdays)
        return weeks * len(self._weekdays) + tail

    def _plain_after(self, day: date, n: int) -> date:
        """The n-th working day after the working day `day`, no holiday falling after it:
        a week on is the same weekday, len(workdays) working days later."""
        weeks, rest = divmod(n, len(self._weekdays))
        day = day + timedelta(weeks=weeks)
        while rest:
            day += _ONE_DAY
            if day.weekday() in self._weekdays:
                rest -= 1
        return day

    def workdays(self, a: date, b: date) -> list[date]:
        """The working days from a to b, both included."""
        if b < a:
            return []
        self._cover(a)
        self._cover(b, keep=True)
        return self._days[bisect_left(self._days, a) : bisect_right(self._days, b)]

    def _cover(self, day: date, *, keep: bool = False) -> None:
        """Make the list hold every working day near `day`: a list far from it is started
        afresh unless it must be `keep`t (it holds the other end of a range)."""
        far = 3 * _CHUNK
        if (
            not keep
            and not self._empty
            and (day > _plus(self._last, far) or day < _plus(self._first, -far))
        ):
            self._empty = True
        if self._empty:
            self._empty = False
            self._first = self._last = day
            self._days = [day] if self.is_workday(day) else []
        if day < self._first:
            self._prepend(_plus(day, -_CHUNK))
        if day >= self._last:
            self._append(_plus(day, _CHUNK))

    def _append(self, last: date) -> None:
        day = self._last
        while day < last:
            day += _ONE_DAY
            if self.is_workday(day):
                self._days.append(day)
        self._last = last

    def _prepend(self, first: date) -> None:
        added = []
        day = first
        while day < self._first:
            if self.is_workday(day):
                added.append(day)
            day += _ONE_DAY
        self._days[:0] = added
        self._first = first
