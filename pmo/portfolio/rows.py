"""The rows a portfolio is weighed from, read in a few bulk queries: a PMO's portfolio runs
to thousands of projects, so no question is asked one project at a time.

Only what the portfolio weighs is read. Not a brief's whole document (its plan, its
stakeholders) but the fields ranking needs; not a lifecycle per project but one per
version pinned (thousands of projects share a few); not a baseline's plan but the figures
stored with it (`pmo.store.plans.figures_of`). `bench/portfolio_ranking.py` times these
reads alone as its baseline.
"""

import gc
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Row, func, select
from sqlalchemy.orm import Session, defer

from pmo.store.models import (
    Baseline,
    EvmSnapshot,
    Gate,
    GateDecision,
    GateScore,
    Project,
    ProjectLifecycle,
)

OPEN = ("active", "on-hold")


@dataclass
class PortfolioRows:
    """The open projects and what the store holds on each that the portfolio weighs."""

    # id, key, name, status, current_stage and, from the brief: budget, category, benefits,
    # objectives, risks, start_date, target_end_date (as stored: JSON text and lists)
    projects: list[Row]
    # project id -> the funding gate of the lifecycle pinned last, as stored (JSON)
    funding_gates: dict[int, dict[str, Any] | None] = field(default_factory=dict)
    gates: dict[int, Gate] = field(default_factory=dict)  # project id -> its latest row
    decisions: dict[int, list[GateDecision]] = field(default_factory=dict)  # gate id -> round's
    scores: dict[int, list[GateScore]] = field(default_factory=dict)  # decision id -> given
    evm: dict[int, Row] = field(default_factory=dict)  # project id -> latest overall/spi/cpi
    baselines: dict[int, Baseline] = field(default_factory=dict)  # project id -> in force


@contextmanager
def collector_paused() -> Iterator[None]:
    """Build many objects without the cyclic garbage collector: thousands of rows become
    hundreds of thousands of small objects at once, and the collector would walk them again
    and again while they are made (a third of the time) to free nothing. Memory held is
    the portfolio's own, freed by reference counting; the collector resumes after."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def read_portfolio_rows(session: Session) -> PortfolioRows:
    with collector_paused():
        return _read(session)


def _read(session: Session) -> PortfolioRows:
    brief = Project.brief
    projects = session.execute(
        select(
            Project.id,
            Project.key,
            Project.name,
            Project.status,
            Project.current_stage,
            brief["budget"].as_string().label("budget"),
            brief["category"].as_string().label("category"),
            brief["benefits"].as_string().label("benefits"),
            brief["strategic_objectives"].label("objectives"),
            brief["risks"].label("risks"),
            brief["start_date"].as_string().label("start_date"),
            brief["target_end_date"].as_string().label("target_end_date"),
        )
        .where(Project.status.in_(OPEN))
        .order_by(Project.key)
    ).all()
    rows = PortfolioRows(projects)
    ids = [p.id for p in projects]
    rows.funding_gates = _funding_gates(session, ids)
    rows.gates = _funding_gate_rows(session, ids, rows.funding_gates)
    rows.decisions, rows.scores = _answers(session, rows.gates)
    rows.evm = _latest_evm(session, ids)
    rows.baselines = _baselines_in_force(session, ids)
    return rows


def _funding_gates(session: Session, ids: list[int]) -> dict[int, dict[str, Any] | None]:
    """Each project's funding gate, from the lifecycle pinned last: every definition read
    once, by its digest; a project started before pins were kept reads its own."""
    latest: dict[int, tuple[int, str, int]] = {}  # project id -> seq, digest, pin id
    query = select(
        ProjectLifecycle.project_id,
        ProjectLifecycle.seq,
        ProjectLifecycle.digest,
        ProjectLifecycle.id,
    )
    for batch in _batches(ids):
        for project_id, seq, digest, pin_id in session.execute(
            query.where(ProjectLifecycle.project_id.in_(batch))
        ):
            if project_id not in latest or seq > latest[project_id][0]:
                latest[project_id] = (seq, digest, pin_id)
    first_pin = {digest: pin_id for _, digest, pin_id in latest.values()}
    by_digest: dict[str, dict[str, Any] | None] = {}
    definitions = select(ProjectLifecycle.digest, ProjectLifecycle.definition)
    for batch in _batches(list(first_pin.values())):
        for digest, definition in session.execute(
            definitions.where(ProjectLifecycle.id.in_(batch))
        ):
            by_digest[digest] = funding_gate_of(definition)
    found = {project_id: by_digest[pin[1]] for project_id, pin in latest.items()}
    unpinned = [i for i in ids if i not in latest]
    own = select(Project.id, Project.lifecycle_definition)
    for batch in _batches(unpinned):
        for project_id, definition in session.execute(own.where(Project.id.in_(batch))):
            found[project_id] = funding_gate_of(definition)
    return found


def funding_gate_of(lifecycle: dict[str, Any]) -> dict[str, Any] | None:
    """The gate of a stored lifecycle that commits the money, as its JSON."""
    for stage in lifecycle.get("stages", []):
        gate = stage.get("gate") or {}
        if gate.get("funds_project"):
            return gate
    return None


def _funding_gate_rows(
    session: Session, ids: list[int], funding: dict[int, dict[str, Any] | None]
) -> dict[int, Gate]:
    """Each project's latest row of its funding gate (the last stage attempt's)."""
    keys = {gate["key"] for gate in funding.values() if gate is not None}
    found: dict[int, Gate] = {}
    for batch in _batches(ids):
        query = (
            select(Gate)
            .where(Gate.project_id.in_(batch), Gate.gate_key.in_(keys), Gate.kind == "stage")
            .order_by(Gate.id)
        )
        for gate in session.scalars(query):
            definition = funding.get(gate.project_id)
            if definition is not None and gate.gate_key == definition["key"]:
                found[gate.project_id] = gate  # later rows (a recycled stage) replace earlier
    return found


def _answers(
    session: Session, gates: dict[int, Gate]
) -> tuple[dict[int, list[GateDecision]], dict[int, list[GateScore]]]:
    """The accepted answers of each funding gate's latest round, and the scores given."""
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
    return decisions, given


def _latest_evm(session: Session, ids: list[int]) -> dict[int, Row]:
    """Each project's latest earned value standing (not every snapshot's full figures)."""
    latest: dict[int, Row] = {}
    query = select(EvmSnapshot.project_id, EvmSnapshot.overall, EvmSnapshot.spi, EvmSnapshot.cpi)
    for batch in _batches(ids):
        ordered = query.where(EvmSnapshot.project_id.in_(batch)).order_by(
            EvmSnapshot.as_of, EvmSnapshot.id
        )
        for row in session.execute(ordered):
            latest[row.project_id] = row
    return latest


def _baselines_in_force(session: Session, ids: list[int]) -> dict[int, Baseline]:
    """Each project's highest-numbered baseline, without its plan: its figures are enough
    (`figures_of` reads the plan only for a row older than the figures)."""
    found: dict[int, Baseline] = {}
    for batch in _batches(ids):
        latest = (
            select(Baseline.project_id, func.max(Baseline.number).label("number"))
            .where(Baseline.project_id.in_(batch))
            .group_by(Baseline.project_id)
            .subquery()
        )
        query = (
            select(Baseline)
            .options(defer(Baseline.plan))
            .join(
                latest,
                (Baseline.project_id == latest.c.project_id) & (Baseline.number == latest.c.number),
            )
        )
        for row in session.scalars(query):
            found[row.project_id] = row
    return found


def _batches(ids: list[int], size: int = 500) -> Iterable[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]
