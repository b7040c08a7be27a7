"""Capacity: the person-days every open project's plan asks of each role in each month,
against what the portfolio policy says that role can give."""

from dataclasses import dataclass
from decimal import Decimal

from pmo.portfolio.candidates import Candidate
from process_library.portfolio import PortfolioPolicy


@dataclass(frozen=True)
class RoleMonth:
    role: str
    month: str
    demand: Decimal
    capacity: Decimal
    projects: tuple[str, ...]  # the projects asking for this role this month, largest first

    @property
    def over(self) -> bool:
        return self.demand > self.capacity


def capacity_by_role_month(candidates: list[Candidate], policy: PortfolioPolicy) -> list[RoleMonth]:
    """Every (role, month) some plan asks for, in role then month order."""
    demand: dict[tuple[str, str], dict[str, Decimal]] = {}
    for candidate in candidates:
        for (role, month), days in candidate.effort.items():
            if days:
                by_project = demand.setdefault((role, month), {})
                by_project[candidate.key] = by_project.get(candidate.key, Decimal(0)) + days
    rows = []
    for role, month in sorted(demand):
        by_project = demand[(role, month)]
        asking = sorted(by_project, key=lambda key: (-by_project[key], key))
        rows.append(
            RoleMonth(
                role=role,
                month=month,
                demand=sum(by_project.values(), Decimal(0)),
                capacity=policy.capacity.of(role, month),
                projects=tuple(asking),
            )
        )
    return rows
