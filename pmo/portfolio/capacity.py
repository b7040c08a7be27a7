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
        key = candidate.key  # one candidate a project: each (role, month) of it comes once
        for role_month, days in candidate.effort.items():
            if days:
                by_project = demand.get(role_month)
                if by_project is None:
                    by_project = demand[role_month] = {}
                by_project[key] = days
    rows = []
    for role, month in sorted(demand):
        by_project = demand[(role, month)]
        # largest first, then by key: a stable sort keeps the key order among equals
        asking = sorted(sorted(by_project), key=by_project.__getitem__, reverse=True)
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
