"""The open projects as the portfolio weighs them, read from the store in a few bulk
queries (a PMO's portfolio runs to thousands of projects)."""

from collections.abc import Iterable
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from pmo.brief import ProjectBrief
from pmo.control.analysis import rated_risks
from pmo.gates.scoring import scorecard_of
from pmo.plan.phased import cumulative_pv_by_month, effort_by_role_month
from pmo.portfolio.candidates import Candidate, spread_by_month
from pmo.store.models import Baseline, EvmSnapshot, Gate, GateDecision, GateScore, Project
from pmo.store.plans import BaselineInForce, baseline_of
from process_library.schema import Gate as GateDefinition

OPEN = ("active", "on-hold")


def open_candidates(session: Session) -> list[Candidate]:
    """Every project still open (proposed, active or on hold), with its figures."""
    projects = list(
        session.scalars(select(Project).where(Project.status.in_(OPEN)).order_by(Project.key))
    )
    ids = [p.id for p in projects]
    funding = {p.id: _funding_gate(p.lifecycle_definition) for p in projects}
    gates = _funding_gate_rows(session, ids, funding)
    scores = _scores(session, gates, funding)
    evm = _latest_evm(session, ids)
    plans = _baselines_in_force(session, ids)
    return [
        _candidate(
            p, funding[p.id], gates.get(p.id), scores.get(p.id), evm.get(p.id), plans.get(p.id)
        )
        for p in projects
    ]


def _baselines_in_force(session: Session, ids: list[int]) -> dict[int, BaselineInForce]:
    """Each project's highest-numbered baseline, with its schedule."""
    latest: dict[int, Baseline] = {}
    for batch in _batches(ids):
        query = select(Baseline).where(Baseline.project_id.in_(batch))
        for row in session.scalars(query.order_by(Baseline.number)):
            latest[row.project_id] = row
    return {project_id: baseline_of(row) for project_id, row in latest.items()}


def _funding_gate(lifecycle: dict) -> GateDefinition | None:
    """The gate of a pinned lifecycle that commits the money, read from its JSON."""
    for stage in lifecycle.get("stages", []):
        gate = stage.get("gate") or {}
        if gate.get("funds_project"):
            return GateDefinition.model_validate(gate)
    return None


def _funding_gate_rows(
    session: Session, ids: list[int], funding: dict[int, GateDefinition | None]
) -> dict[int, Gate]:
    """Each project's latest row of its funding gate (the last stage attempt's)."""
    keys = {f.key for f in funding.values() if f is not None}
    found: dict[int, Gate] = {}
    for batch in _batches(ids):
        query = (
            select(Gate)
            .where(Gate.project_id.in_(batch), Gate.gate_key.in_(keys), Gate.kind == "stage")
            .order_by(Gate.id)
        )
        for gate in session.scalars(query):
            definition = funding[gate.project_id]
            if definition is not None and gate.gate_key == definition.key:
                found[gate.project_id] = gate  # later rows (a recycled stage) replace earlier
    return found


def _scores(
    session: Session, gates: dict[int, Gate], funding: dict[int, GateDefinition | None]
) -> dict[int, Decimal | None]:
    """The weighted score of each funding gate's latest round."""
    by_gate = {gate.id: gate for gate in gates.values()}
    decisions: dict[int, list[GateDecision]] = {}
    for batch in _batches(list(by_gate)):
        query = select(GateDecision).where(
            GateDecision.gate_id.in_(batch), GateDecision.accepted.is_(True)
        )
        for row in session.scalars(query.order_by(GateDecision.id)):
            if row.round == by_gate[row.gate_id].round:
                decisions.setdefault(row.gate_id, []).append(row)
    given: dict[int, list[GateScore]] = {}
    decision_ids = [d.id for rows in decisions.values() for d in rows]
    for batch in _batches(decision_ids):
        query = select(GateScore).where(GateScore.gate_decision_id.in_(batch))
        for row in session.scalars(query.order_by(GateScore.id)):
            given.setdefault(row.gate_decision_id, []).append(row)
    return {
        project_id: scorecard_of(funding[project_id], decisions.get(gate.id, []), given).weighted
        for project_id, gate in gates.items()
    }


def _latest_evm(session: Session, ids: list[int]) -> dict[int, EvmSnapshot]:
    latest: dict[int, EvmSnapshot] = {}
    for batch in _batches(ids):
        query = select(EvmSnapshot).where(EvmSnapshot.project_id.in_(batch))
        for row in session.scalars(query.order_by(EvmSnapshot.as_of, EvmSnapshot.id)):
            latest[row.project_id] = row
    return latest


def _candidate(
    project: Project,
    funding: GateDefinition | None,
    gate: Gate | None,
    score: Decimal | None,
    evm: EvmSnapshot | None,
    baseline: BaselineInForce | None,
) -> Candidate:
    # The brief without its plan: the baseline in force is the plan that counts, and
    # validating every brief's first plan again would double the time of a large portfolio.
    brief = ProjectBrief.model_validate({**project.brief, "plan": None})
    funded = funding is None or (gate is not None and gate.outcome == "go")
    status = "on-hold" if project.status == "on-hold" else "active" if funded else "proposed"
    risks = rated_risks(brief)
    # What the portfolio must fund: the approved budget, or a baselined plan that costs more.
    phasing = _phasing(brief, baseline)
    return Candidate(
        key=project.key,
        name=project.name,
        status=status,
        stage=project.current_stage or "",
        category=brief.category,
        budget=sum(phasing["spend"].values(), Decimal(0)),
        benefits=brief.benefits,
        objectives=tuple(brief.strategic_objectives),
        score=score,
        risk=risks[0].score if risks else 0,
        rag=evm.overall if evm else None,
        spi=evm.spi if evm else None,
        cpi=evm.cpi if evm else None,
        **phasing,
    )


def _phasing(brief: ProjectBrief, baseline: BaselineInForce | None) -> dict:
    """Spend and effort by month: from the baseline in force, else the brief's budget
    spread over its dates (and no known demand on people)."""
    if baseline is None:
        return {
            "spend": spread_by_month(brief.budget, brief.start_date, brief.target_end_date),
            "effort": {},
            "basis": "the brief's budget spread evenly over its start and target end dates "
            "(no approved plan yet, so no demand on people)",
        }
    spend, before = {}, Decimal(0)
    for month, cumulative in cumulative_pv_by_month(baseline.schedule):
        spend[month], before = cumulative - before, cumulative
    reserve = brief.budget - before
    held = ""
    if reserve > 0:  # the management reserve is committed too, held to the plan's last month
        spend[month] += reserve
        held = f", and the management reserve ({reserve:,.0f}) in its last month"
    return {
        "spend": spend,
        "effort": effort_by_role_month(baseline.schedule),
        "basis": f"baseline {baseline.number} (plan {baseline.hash[:12]}): planned value and "
        f"effort by role, each work package's spread evenly over its working days{held}",
    }


def _batches(ids: list[int], size: int = 500) -> Iterable[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]
