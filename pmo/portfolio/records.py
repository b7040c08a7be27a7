"""The open projects as the portfolio weighs them: the rows `pmo.portfolio.rows` reads,
turned into candidates with their score, their risk and their cost and effort by month."""

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Row
from sqlalchemy.orm import Session

from pmo.control.analysis import risk_score
from pmo.gates.scoring import scorecard_of
from pmo.portfolio.candidates import Candidate, spread_by_month
from pmo.portfolio.rows import PortfolioRows, read_portfolio_rows
from pmo.store.models import Baseline
from pmo.store.plans import figures_of
from process_library.schema import Gate as GateDefinition


def open_candidates(session: Session) -> list[Candidate]:
    """Every project still open (proposed, active or on hold), with its figures."""
    rows = read_portfolio_rows(session)
    # Thousands of projects share a few lifecycles: each funding gate is validated once.
    definitions: dict[int, GateDefinition] = {}
    funding: dict[int, GateDefinition | None] = {}
    for project_id, gate in rows.funding_gates.items():
        if gate is not None and id(gate) not in definitions:
            definitions[id(gate)] = GateDefinition.model_validate(gate)
        funding[project_id] = definitions[id(gate)] if gate is not None else None
    return [_candidate(project, funding.get(project.id), rows) for project in rows.projects]


def _candidate(project: Row, funding: GateDefinition | None, rows: PortfolioRows) -> Candidate:
    # The brief's fields as recorded (it was validated then): the rest of it, and its
    # first plan, are not read; the baseline in force is the plan that counts.
    gate = rows.gates.get(project.id)
    funded = funding is None or (gate is not None and gate.outcome == "go")
    status = "on-hold" if project.status == "on-hold" else "active" if funded else "proposed"
    score = (
        scorecard_of(funding, rows.decisions.get(gate.id, []), rows.scores).weighted
        if funding is not None and gate is not None
        else None
    )
    evm = rows.evm.get(project.id)
    # What the portfolio must fund: the approved budget, or a baselined plan that costs more.
    phasing = _phasing(project, rows.baselines.get(project.id))
    return Candidate(
        key=project.key,
        name=project.name,
        status=status,
        stage=project.current_stage or "",
        category=project.category,
        budget=sum(phasing["spend"].values(), Decimal(0)),
        benefits=None if project.benefits is None else Decimal(str(project.benefits)),
        objectives=tuple(project.objectives or ()),
        score=score,
        risk=max((_risk(risk) for risk in project.risks or ()), default=0),
        rag=evm.overall if evm else None,
        spi=evm.spi if evm else None,
        cpi=evm.cpi if evm else None,
        **phasing,
    )


def _risk(risk: dict[str, Any]) -> int:
    return risk_score(risk.get("probability", "medium"), risk.get("impact", "medium"))


def _phasing(project: Row, baseline: Baseline | None) -> dict:
    """Spend and effort by month: from the baseline in force, else the brief's budget
    spread over its dates (and no known demand on people)."""
    budget = Decimal(str(project.budget))
    if baseline is None:
        start, end = (
            date.fromisoformat(project.start_date),
            date.fromisoformat(project.target_end_date),
        )
        return {
            "spend": spread_by_month(budget, start, end),
            "effort": {},
            "basis": "the brief's budget spread evenly over its start and target end dates "
            "(no approved plan yet, so no demand on people)",
        }
    figures = figures_of(baseline)
    spend, before = {}, Decimal(0)
    for month, cumulative in figures.cumulative_pv:
        spend[month], before = cumulative - before, cumulative
    reserve = budget - before
    held = ""
    if reserve > 0:  # the management reserve is committed too, held to the plan's last month
        spend[month] += reserve
        held = f", and the management reserve ({reserve:,.0f}) in its last month"
    return {
        "spend": spend,
        "effort": figures.effort,
        "basis": f"baseline {baseline.number} (plan {baseline.plan_hash[:12]}): planned value "
        f"and effort by role, each work package's spread evenly over its working days{held}",
    }
