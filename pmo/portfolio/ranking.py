"""Ranking and the funding line: mandatory projects first, then by the gatekeepers' score,
then by benefits per unit of cost; the line falls at the first project whose money, added
to that of every project ranked above it, no longer fits a year's envelope."""

from dataclasses import dataclass
from decimal import Decimal

from pmo.portfolio.candidates import Candidate
from process_library.portfolio import PortfolioPolicy


@dataclass(frozen=True)
class Ranked:
    rank: int
    candidate: Candidate
    cumulative_budget: Decimal
    above_funding_line: bool


@dataclass(frozen=True)
class YearFunding:
    year: int
    envelope: Decimal
    committed: Decimal  # spend in the year of the projects above the line


def _order(candidate: Candidate) -> tuple:
    unknown_last = Decimal("-1")
    return (
        0 if candidate.mandatory else 1,
        -(candidate.score if candidate.score is not None else unknown_last),
        -(candidate.value_for_money if candidate.value_for_money is not None else unknown_last),
        candidate.key,
    )


def rank(candidates: list[Candidate], policy: PortfolioPolicy) -> list[Ranked]:
    """Every candidate in rank order, each with the cumulative budget down to it and whether
    it is above the funding line."""
    ranked = []
    cumulative = Decimal(0)
    spent: dict[int, Decimal] = {}
    line_drawn = False
    for place, candidate in enumerate(sorted(candidates, key=_order), start=1):
        cumulative += candidate.budget
        if not line_drawn:
            trial = dict(spent)
            for month, amount in candidate.spend.items():
                year = int(month[:4])
                trial[year] = trial.get(year, Decimal(0)) + amount
            if all(total <= policy.envelope_for(year) for year, total in trial.items()):
                spent = trial
            else:
                line_drawn = True
        ranked.append(Ranked(place, candidate, cumulative, not line_drawn))
    return ranked


def funding_by_year(ranked: list[Ranked], policy: PortfolioPolicy) -> list[YearFunding]:
    """Each year the open projects spend in (every year of the policy when none spends):
    the envelope, and what the projects above the line commit in it."""
    years = {int(month[:4]) for e in ranked for month in e.candidate.spend}
    committed: dict[int, Decimal] = {year: Decimal(0) for year in years or policy.envelope.years}
    for entry in ranked:
        if entry.above_funding_line:
            for month, amount in entry.candidate.spend.items():
                committed[int(month[:4])] += amount
    return [
        YearFunding(year, policy.envelope_for(year), committed[year]) for year in sorted(committed)
    ]
