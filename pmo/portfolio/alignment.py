"""Alignment: where the money above the funding line goes, by strategic objective, against
the share the organisation's weights give each objective."""

from dataclasses import dataclass
from decimal import Decimal

from pmo.portfolio.ranking import Ranked
from process_library.portfolio import PortfolioPolicy

UNALIGNED = "unaligned"


@dataclass(frozen=True)
class ObjectiveShare:
    key: str
    name: str
    weight: Decimal
    weight_share: Decimal  # the objective's weight over all weights
    budget: Decimal  # budget of funded projects serving it (shared evenly when several)
    budget_share: Decimal  # that budget over all funded budget


def alignment(ranked: list[Ranked], policy: PortfolioPolicy) -> list[ObjectiveShare]:
    """One row per objective, then `unaligned` for funded projects that name none. A project
    serving several objectives counts its budget evenly towards each (stated in the report)."""
    budgets = {o.key: Decimal(0) for o in policy.objectives}
    budgets[UNALIGNED] = Decimal(0)
    for entry in ranked:
        if not entry.above_funding_line:
            continue
        candidate = entry.candidate
        named = [key for key in candidate.objectives if key in budgets] or [UNALIGNED]
        for key in named:
            budgets[key] += candidate.budget / len(named)
    funded = sum(budgets.values(), Decimal(0))
    weights = sum((o.weight for o in policy.objectives), Decimal(0))
    rows = [
        ObjectiveShare(
            key=o.key,
            name=o.name,
            weight=o.weight,
            weight_share=o.weight / weights,
            budget=budgets[o.key],
            budget_share=budgets[o.key] / funded if funded else Decimal(0),
        )
        for o in policy.objectives
    ]
    if budgets[UNALIGNED]:
        rows.append(
            ObjectiveShare(
                key=UNALIGNED,
                name="Serves no strategic objective",
                weight=Decimal(0),
                weight_share=Decimal(0),
                budget=budgets[UNALIGNED],
                budget_share=budgets[UNALIGNED] / funded,
            )
        )
    return rows
