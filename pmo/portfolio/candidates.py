"""A project as the portfolio weighs it: what it costs and when, what it asks of people,
what it is worth, and how the gatekeepers scored it."""

from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal

from pmo.errors import PmoInputError

# The portfolio lists what the PMO can still fund, stop or move.
PORTFOLIO_STATUSES = ("proposed", "active", "on-hold")


class PortfolioError(PmoInputError):
    """A what-if or portfolio request names a project or figure that does not exist."""


@dataclass(frozen=True)
class Candidate:
    """One open project. `spend` is its cost by month ("YYYY-MM"), `effort` its person-days
    by (role, month); `basis` says where both come from (an approved baseline, or the
    brief's budget spread over its dates when no plan is approved yet)."""

    key: str
    name: str
    status: str  # proposed | active | on-hold
    stage: str
    category: str | None
    budget: Decimal  # what the portfolio must fund: the sum of `spend`
    benefits: Decimal | None
    objectives: tuple[str, ...]
    score: Decimal | None  # consolidated gatekeepers' score, 0 to 10
    risk: int  # highest risk rating, probability x impact, 1 to 9 (0: none listed)
    rag: str | None
    spi: Decimal | None
    cpi: Decimal | None
    spend: dict[str, Decimal] = field(default_factory=dict)
    effort: dict[tuple[str, str], Decimal] = field(default_factory=dict)
    basis: str = ""

    @property
    def mandatory(self) -> bool:
        return self.category == "mandatory"

    @property
    def value_for_money(self) -> Decimal | None:
        """Benefits per unit of cost; None when either is unknown or the cost is nil."""
        if self.benefits is None or not self.budget:
            return None
        return self.benefits / self.budget

    def delayed(self, months: int) -> "Candidate":
        """The same project started `months` later: its spend and effort move with it."""
        return replace(
            self,
            spend={shift_month(m, months): v for m, v in self.spend.items()},
            effort={(r, shift_month(m, months)): v for (r, m), v in self.effort.items()},
        )


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def shift_month(month: str, months: int) -> str:
    year, number = (int(part) for part in month.split("-"))
    index = year * 12 + number - 1 + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def spread_by_month(amount: Decimal, start: date, end: date) -> dict[str, Decimal]:
    """`amount` spread evenly over the calendar days from `start` to `end` (both included),
    summed by month: the assumption used for a project without an approved plan."""
    days = (end - start).days + 1
    if days <= 0:
        return {month_of(start): amount}
    by_month: dict[str, int] = {}
    day = start
    while day <= end:
        # a month at a time rather than a day at a time: briefs may span years
        month_end = date(day.year + day.month // 12, day.month % 12 + 1, 1)
        last = min(end, date.fromordinal(month_end.toordinal() - 1))
        by_month[month_of(day)] = (last - day).days + 1
        day = date.fromordinal(last.toordinal() + 1)
    # In cents, the last month taking the rounding: the months add up to the amount exactly.
    spread = {m: (amount * n / days).quantize(Decimal("0.01")) for m, n in by_month.items()}
    last = next(reversed(spread))
    spread[last] += amount - sum(spread.values(), Decimal(0))
    return spread


def apply_what_if(
    candidates: list[Candidate], *, without: list[str], delay: dict[str, int]
) -> list[Candidate]:
    """The portfolio as it would be without some projects and with others moved: nothing
    recorded, only the figures recomputed."""
    keys = {c.key for c in candidates}
    for key in without:
        if key not in keys:
            raise PortfolioError("--without", f"no open project has the key '{key}'")
    for key, months in delay.items():
        if key not in keys:
            raise PortfolioError("--delay", f"no open project has the key '{key}'")
        if key in without:
            raise PortfolioError("--delay", f"'{key}' is also given to --without")
        if not -120 <= months <= 120:
            raise PortfolioError("--delay", f"{key}={months}: give -120 to 120 months")
    return [
        c.delayed(delay[c.key]) if c.key in delay else c for c in candidates if c.key not in without
    ]
