"""Portfolio KPIs a PMO tracks, computed from the record of every project's gates.

Pure functions over plain rows, so each figure is tested with worked numbers. Times are in
hours; a percentile of no values is None, never zero.
"""

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from statistics import median, quantiles


@dataclass(frozen=True)
class GateRound:
    """One decided (or still open) gate of one project, as the KPIs need it."""

    project_key: str
    gate_key: str
    gate_name: str
    opened_at: datetime
    round_opened_at: datetime
    decided_at: datetime | None  # of the last round decided
    status: str  # open | on-hold | decided
    outcome: str | None  # of the last round decided: go | recycle | hold | kill
    rounds: int  # a hold opens a new round, so rounds - 1 holds so far
    sla_hours: float | None

    @property
    def round_hours(self) -> float | None:
        """Hours from the last round opening to its decision; None while undecided."""
        if self.decided_at is None:
            return None
        return hours_between(self.round_opened_at, self.decided_at)


@dataclass(frozen=True)
class Turnaround:
    """How long one approver took to answer one gate round."""

    role: str
    hours: float


@dataclass(frozen=True)
class ProjectStanding:
    key: str
    stage: str | None
    status: str
    rag: str | None
    spi: float | None
    cpi: float | None
    compliant: bool


@dataclass(frozen=True)
class Spread:
    count: int
    p50: float | None
    p90: float | None

    @classmethod
    def of(cls, values: Sequence[float]) -> "Spread":
        return cls(len(values), percentile(values, 50), percentile(values, 90))


@dataclass(frozen=True)
class GateKpi:
    gate_key: str
    gate_name: str
    decided: int
    cycle_hours: Spread
    within_sla: int
    with_sla: int
    outcomes: dict[str, int]

    @property
    def within_sla_share(self) -> float | None:
        return self.within_sla / self.with_sla if self.with_sla else None


@dataclass(frozen=True)
class PortfolioKpis:
    projects: int
    by_stage: dict[str, int]
    by_status: dict[str, int]
    by_rag: dict[str, int]
    gates: list[GateKpi]
    turnaround_by_role: dict[str, Spread]
    within_sla_share: float | None
    compliance_rate: float | None
    spi: Spread
    cpi: Spread
    lowest_spi: list[tuple[str, float]] = field(default_factory=list)


def percentile(values: Sequence[float], p: int) -> float | None:
    """The p-th percentile (inclusive method, as a spreadsheet computes it); None if empty."""
    if not values:
        return None
    if len(values) == 1:
        return float(values[0])
    if p == 50:
        return float(median(values))
    return float(quantiles(values, n=100, method="inclusive")[p - 1])


def hours_between(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 3600


def portfolio_kpis(
    projects: Sequence[ProjectStanding],
    gate_rounds: Iterable[GateRound],
    turnarounds: Iterable[Turnaround],
) -> PortfolioKpis:
    """Every KPI of the portfolio audit report from the record."""
    by_gate: dict[str, list[GateRound]] = defaultdict(list)
    for gate in gate_rounds:
        by_gate[gate.gate_key].append(gate)
    gates = [_gate_kpi(rounds) for rounds in by_gate.values()]
    with_sla = sum(g.with_sla for g in gates)
    by_role: dict[str, list[float]] = defaultdict(list)
    for answer in turnarounds:
        by_role[answer.role].append(answer.hours)
    spis = [p.spi for p in projects if p.spi is not None]
    cpis = [p.cpi for p in projects if p.cpi is not None]
    lowest = sorted(((p.key, p.spi) for p in projects if p.spi is not None), key=lambda x: x[1])
    return PortfolioKpis(
        projects=len(projects),
        by_stage=dict(Counter(p.stage or "not started" for p in projects).most_common()),
        by_status=dict(Counter(p.status for p in projects).most_common()),
        by_rag=dict(Counter(p.rag or "no status yet" for p in projects).most_common()),
        gates=sorted(gates, key=lambda g: g.gate_key),
        turnaround_by_role={role: Spread.of(h) for role, h in sorted(by_role.items())},
        within_sla_share=sum(g.within_sla for g in gates) / with_sla if with_sla else None,
        compliance_rate=(sum(p.compliant for p in projects) / len(projects) if projects else None),
        spi=Spread.of(spis),
        cpi=Spread.of(cpis),
        lowest_spi=lowest[:5],
    )


def _gate_kpi(rounds: list[GateRound]) -> GateKpi:
    decided = [g for g in rounds if g.status == "decided"]
    timed = [g for g in decided if g.sla_hours is not None]
    within = [g for g in timed if g.round_hours <= g.sla_hours]  # type: ignore[operator]
    return GateKpi(
        gate_key=rounds[0].gate_key,
        gate_name=rounds[0].gate_name,
        decided=len(decided),
        cycle_hours=Spread.of([hours_between(g.opened_at, g.decided_at) for g in decided]),  # type: ignore[arg-type]
        within_sla=len(within),
        with_sla=len(timed),
        outcomes=_outcomes(rounds, decided),
    )


def _outcomes(rounds: list[GateRound], decided: list[GateRound]) -> dict[str, int]:
    counts = Counter(g.outcome for g in decided)
    counts["hold"] = sum(g.rounds - 1 for g in rounds)
    counts["waiting"] = sum(g.status != "decided" for g in rounds)
    return {k: counts[k] for k in ("go", "recycle", "hold", "kill", "waiting")}
