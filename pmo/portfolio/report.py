"""The portfolio as one picture: ranking, funding, capacity and alignment, and its JSON
(the keys are a contract: DESIGN.md, `pmo portfolio --json`)."""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from pmo.portfolio.alignment import ObjectiveShare, alignment
from pmo.portfolio.candidates import Candidate
from pmo.portfolio.capacity import RoleMonth, capacity_by_role_month
from pmo.portfolio.ranking import Ranked, YearFunding, funding_by_year, rank
from process_library.portfolio import PortfolioPolicy


@dataclass(frozen=True)
class Portfolio:
    ranked: list[Ranked]
    funding: list[YearFunding]
    capacity: list[RoleMonth]
    alignment: list[ObjectiveShare]
    currency: str

    @property
    def envelope(self) -> Decimal:
        return sum((year.envelope for year in self.funding), Decimal(0))

    @property
    def committed(self) -> Decimal:
        return sum((year.committed for year in self.funding), Decimal(0))

    @property
    def conflicts(self) -> list[RoleMonth]:
        return [row for row in self.capacity if row.over]

    def entry(self, key: str) -> Ranked | None:
        return next((e for e in self.ranked if e.candidate.key == key), None)

    def conflicts_of(self, key: str) -> list[RoleMonth]:
        """Over-allocated months in which `key` asks for the role: where it adds to a conflict."""
        return [row for row in self.conflicts if key in row.projects]


def build_portfolio(candidates: list[Candidate], policy: PortfolioPolicy) -> Portfolio:
    ranked = rank(candidates, policy)
    return Portfolio(
        ranked=ranked,
        funding=funding_by_year(ranked, policy),
        capacity=capacity_by_role_month(candidates, policy),
        alignment=alignment(ranked, policy),
        currency=policy.envelope.currency,
    )


def _money(value: Decimal) -> float:
    return float(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _figure(value: Decimal | None) -> float | None:
    if value is None:
        return None
    return float(value.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))


def portfolio_json(portfolio: Portfolio) -> dict:
    return {
        "currency": portfolio.currency,
        "projects": [
            {
                "key": e.candidate.key,
                "name": e.candidate.name,
                "rank": e.rank,
                "score": _figure(e.candidate.score),
                "budget": _money(e.candidate.budget),
                "benefits": None if e.candidate.benefits is None else _money(e.candidate.benefits),
                "cumulative_budget": _money(e.cumulative_budget),
                "above_funding_line": e.above_funding_line,
                "category": e.candidate.category,
                "stage": e.candidate.stage,
                "status": e.candidate.status,
                "rag": e.candidate.rag,
                "spi": _figure(e.candidate.spi),
                "cpi": _figure(e.candidate.cpi),
                "risk": e.candidate.risk,
                "strategic_objectives": list(e.candidate.objectives),
                "basis": e.candidate.basis,
            }
            for e in portfolio.ranked
        ],
        "funding": {
            "envelope": _money(portfolio.envelope),
            "committed": _money(portfolio.committed),
            "years": [
                {
                    "year": y.year,
                    "envelope": _money(y.envelope),
                    "committed": _money(y.committed),
                }
                for y in portfolio.funding
            ],
        },
        "capacity": [
            {
                "role": row.role,
                "month": row.month,
                "demand": _figure(row.demand),
                "capacity": _figure(row.capacity),
                "over": row.over,
                "projects": list(row.projects),
            }
            for row in portfolio.capacity
        ],
        "alignment": [
            {
                "objective": share.key,
                "name": share.name,
                "weight": _figure(share.weight),
                "weight_share": _figure(share.weight_share),
                "budget": _money(share.budget),
                "budget_share": _figure(share.budget_share),
            }
            for share in portfolio.alignment
        ],
    }


def current_portfolio(
    *, without: list[str] | None = None, delay: dict[str, int] | None = None
) -> Portfolio:
    """The portfolio as the store has it now, under the PMO's policy; with `without` and
    `delay`, as it would be without some projects and with others moved (nothing changes)."""
    from pmo.portfolio.candidates import apply_what_if
    from pmo.portfolio.records import open_candidates
    from pmo.portfolio.rows import collector_paused
    from pmo.store import session_scope
    from process_library.portfolio import load_portfolio_policy

    policy = load_portfolio_policy()
    with collector_paused(), session_scope() as session:
        candidates = open_candidates(session)
        candidates = apply_what_if(candidates, without=without or [], delay=delay or {})
        return build_portfolio(candidates, policy)


def what_if_text(without: list[str], delay: dict[str, int]) -> str:
    """`without ORION; HERMES 3 months later`: the what-if in words, or ""."""
    parts = [f"without {key}" for key in without]
    parts += [
        f"{key} {abs(n)} month(s) {'later' if n >= 0 else 'earlier'}" for key, n in delay.items()
    ]
    return "; ".join(parts)


def funding_standing(project_key: str) -> dict:
    """Where a project stands in the portfolio, for its funding gate's pack: its rank, the
    funding line, and the over-allocated months it adds to."""
    from process_library.portfolio import load_portfolio_policy

    current = current_portfolio()
    entry = current.entry(project_key)
    standing: dict = {
        "funding_score": load_portfolio_policy().funding_gate_score,
        "projects": len(current.ranked),
        "envelope": current.envelope,
        "rank": None,
    }
    if entry is not None:
        standing |= {
            "rank": entry.rank,
            "above_funding_line": entry.above_funding_line,
            "cumulative_budget": entry.cumulative_budget,
            "conflicts": current.conflicts_of(project_key),
            "has_plan": bool(entry.candidate.effort),
            "score": entry.candidate.score,
        }
    return standing
