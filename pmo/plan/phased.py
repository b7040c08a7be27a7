"""The plan over time: cumulative planned value and effort by role, month by month."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction

from pmo.plan.evm import CENT, rounded, scaled_curve
from pmo.plan.schedule import Schedule


def _month(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def _months(schedule: Schedule) -> list[tuple[str, int]]:
    """Each month the schedule works in, with how many of its working days come before
    the end of that month (positions from the start)."""
    if schedule.duration_days == 0:
        return [(_month(schedule.start), 0)]
    first, last = schedule.day(0), schedule.day(schedule.duration_days - 1)
    # (year, month) tuples while counting, text once per month: a portfolio reads thousands
    ends: dict[tuple[int, int], int] = {}
    for position, day in enumerate(schedule.calendar.workdays(first, last), start=1):
        ends[day.year, day.month] = position
    return [(f"{year:04d}-{month:02d}", days) for (year, month), days in ends.items()]


def cumulative_pv_by_month(schedule: Schedule) -> list[tuple[str, Decimal]]:
    """("2027-02", cumulative planned value at the end of February), for each month from
    the start to the finish, rounded to cents: the baseline's S-curve."""
    curve, scale = scaled_curve(schedule)
    return [
        (month, rounded(Fraction(curve[days], scale), CENT)) for month, days in _months(schedule)
    ]


def effort_by_role_month(schedule: Schedule) -> dict[tuple[str, str], Decimal]:
    """(role, "YYYY-MM") -> person-days, each package's effort spread evenly over its
    working days (a 0-day package's in the month of its day), rounded to hundredths."""
    totals: dict[tuple[str, str], Fraction] = defaultdict(Fraction)
    for scheduled in schedule.packages.values():
        package = scheduled.package
        if not package.effort:
            continue
        days = package.duration_days
        if days == 0:
            for role, effort in package.effort.items():
                totals[role, _month(scheduled.early_finish)] += Fraction(effort)
            continue
        per_month: dict[tuple[int, int], int] = defaultdict(int)
        for day in schedule.calendar.workdays(scheduled.early_start, scheduled.early_finish):
            per_month[day.year, day.month] += 1
        for role, effort in package.effort.items():
            share = Fraction(effort) / days
            for (year, month), count in per_month.items():
                totals[role, f"{year:04d}-{month:02d}"] += share * count
    return {key: rounded(value, CENT) for key, value in sorted(totals.items())}


@dataclass(frozen=True)
class PhasedFigures:
    """What a plan asks for month by month: its cumulative planned value at each month's
    end and its effort by role and month. A baseline never changes once approved, so the
    store keeps these beside it (`as_data`) and a portfolio reads them, not the plan."""

    cumulative_pv: list[tuple[str, Decimal]]
    effort: dict[tuple[str, str], Decimal]

    def as_data(self) -> dict:
        """JSON: amounts as decimal text, so they read back exactly as computed."""
        return {
            "cumulative_pv": [[month, str(value)] for month, value in self.cumulative_pv],
            "effort": [[role, month, str(days)] for (role, month), days in self.effort.items()],
        }

    @classmethod
    def from_data(cls, data: dict) -> "PhasedFigures":
        return cls(
            cumulative_pv=[(month, Decimal(value)) for month, value in data["cumulative_pv"]],
            effort={(role, month): Decimal(days) for role, month, days in data["effort"]},
        )


def phased_figures(schedule: Schedule) -> PhasedFigures:
    return PhasedFigures(cumulative_pv_by_month(schedule), effort_by_role_month(schedule))
