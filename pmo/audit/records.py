"""The store's record of a project as documents and audits read it: its signatures
(decision lines), its stage history, who answered with what authority, what moved its run.

`load_records` reads one project or thousands at once: an audit of a whole portfolio
cannot ask the store about one project at a time, so every table is read once for the
selected projects and grouped by project here.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.orm import Session, defer

from pmo.audit.bypass import RunReason
from pmo.gates.answers import FORM, POLICY
from pmo.store.lifecycles import parsed
from pmo.store.models import (
    ApprovalCode,
    DocumentRecord,
    EvmSnapshot,
    Gate,
    GateDecision,
    GateScore,
    PlanSubmission,
    Project,
    ProjectLifecycle,
    StageRun,
    StatusUpdateRecord,
)
from process_library.schema import Gate as GateDefinition
from process_library.schema import Lifecycle


@dataclass(frozen=True)
class StageLine:
    """One attempt at a stage and how its gate went."""

    stage: str
    attempt: int
    status: str
    started_at: datetime
    finished_at: datetime | None
    gate: str | None
    outcome: str | None
    rounds: int
    gate_opened_at: datetime | None
    gate_decided_at: datetime | None
    stage_key: str = ""
    stage_run_id: int | None = None
    lifecycle_version: str | None = None  # the version it ran under (None: the first)

    @property
    def gate_days(self) -> float | None:
        if self.gate_opened_at is None or self.gate_decided_at is None:
            return None
        return (self.gate_decided_at - self.gate_opened_at).total_seconds() / 86400


@dataclass(frozen=True)
class StatusLine:
    """One accepted status update and its earned value snapshot."""

    update: StatusUpdateRecord
    figures: EvmSnapshot


@dataclass(frozen=True)
class DecisionLine:
    """One signature in the record: who decided what at which gate, when and why."""

    stage: str
    gate: str
    attempt: int
    approver: str
    roles: str
    decision: str
    comment: str
    conditions: str
    decided_at: datetime
    round: int = 1
    scores: int = 0  # the 0 to 10 scores of should-meet criteria given with the answer


@dataclass(frozen=True)
class Authority:
    """Whether one accepted answer came from someone entitled to give it."""

    gate: str
    approver: str
    decision: str
    entitled: bool
    code_used: bool
    channel: str
    delegated: bool = False  # `approver` reads "B for A": a delegate answered for A


@dataclass
class ProjectRecord:
    """Everything the store holds on one project that an audit looks at."""

    project: Project
    lifecycle: Lifecycle  # the version pinned last
    # Every version the project ran under, by version; a stage is read by its own.
    versions: dict[str | None, Lifecycle] = field(default_factory=dict)
    # Rows of each table with its columns as attributes (read as plain rows, not ORM
    # objects: a portfolio has hundreds of thousands of them).
    stage_runs: list[Row] = field(default_factory=list)
    gates: list[Row] = field(default_factory=list)
    decisions: list[Row] = field(default_factory=list)  # accepted and refused
    codes_used: set[tuple[int, int, str]] = field(default_factory=set)  # gate, round, who
    scores: dict[int, int] = field(default_factory=dict)  # decision id -> scores given
    documents: list[Row] = field(default_factory=list)
    updates: list[Row] = field(default_factory=list)
    plans: list[Row] = field(default_factory=list)  # plans and change requests submitted
    latest_evm: Row | None = None

    @property
    def key(self) -> str:
        return self.project.key

    @property
    def refused_answers(self) -> int:
        return sum(not d.accepted for d in self.decisions)

    def lifecycle_of(self, stage_run: StageRun) -> Lifecycle:
        """The lifecycle version a stage attempt ran under (a migration moves the next)."""
        return self.versions.get(stage_run.lifecycle_version, self.lifecycle)

    def gate_definition(self, gate: Gate) -> GateDefinition | None:
        stage_run = self._stage_runs_by_id[gate.stage_run_id]
        stage_key = stage_run.stage_key
        for stage in self.lifecycle_of(stage_run).stages:
            if stage.key != stage_key:
                continue
            for definition in (stage.gate, stage.exception_gate, stage.change_gate):
                # An exception gate is kept as `<its key>-<update number>`, a change gate
                # as `<its key>-<change request number>`.
                if definition and (
                    gate.gate_key == definition.key
                    or gate.gate_key.startswith(f"{definition.key}-")
                ):
                    return definition
        return None

    @cached_property  # read once the record is loaded
    def _stage_runs_by_id(self) -> dict[int, StageRun]:
        return {sr.id: sr for sr in self.stage_runs}

    def decision_lines(self) -> list[DecisionLine]:
        """Every accepted decision, oldest first, as the dossier shows them."""
        stage_runs = self._stage_runs_by_id
        gates = {g.id: g for g in self.gates}
        return [
            DecisionLine(
                stage=stage_runs[gates[d.gate_id].stage_run_id].stage_name,
                gate=gates[d.gate_id].gate_name,
                attempt=stage_runs[gates[d.gate_id].stage_run_id].attempt,
                # A delegate's answer reads "B for A" wherever the record shows it.
                approver=(
                    f"{d.approver_email} for {d.on_behalf_of}"
                    if d.on_behalf_of
                    else d.approver_email
                ),
                roles=d.roles,
                decision=d.decision,
                comment=d.comment,
                conditions=d.conditions,
                decided_at=d.received_at,
                round=d.round,
                scores=self.scores.get(d.id, 0),
            )
            for d in self.decisions
            if d.accepted
        ]

    def stage_lines(self) -> list[StageLine]:
        """Every stage attempt in the order it ran, with how its stage gate went."""
        gates = {g.stage_run_id: g for g in self.gates if g.kind == "stage"}
        return [
            StageLine(
                stage=sr.stage_name,
                attempt=sr.attempt,
                status=sr.status,
                started_at=sr.started_at,
                finished_at=sr.finished_at,
                gate=gate.gate_name if (gate := gates.get(sr.id)) else None,
                outcome=gate.outcome if gate else None,
                rounds=gate.round if gate else 0,
                gate_opened_at=gate.opened_at if gate else None,
                gate_decided_at=gate.decided_at if gate else None,
                stage_key=sr.stage_key,
                stage_run_id=sr.id,
                lifecycle_version=sr.lifecycle_version,
            )
            for sr in self.stage_runs
        ]

    def authorities(self) -> list[Authority]:
        """For each accepted answer: was its giver named on the gate, with a code used?"""
        gates = {g.id: g for g in self.gates}
        named = self.project.brief.get("approvers", {})
        found = []
        for decision in (d for d in self.decisions if d.accepted):
            gate = gates[decision.gate_id]
            definition = self.gate_definition(gate)
            if decision.channel == POLICY:
                entitled = bool(definition and definition.timing.on_timeout == decision.decision)
                code_used = True  # a policy decides by the lifecycle's rule, not by a code
            else:
                # A delegate fills the seat of the approver they answered for, with its code.
                seat = decision.on_behalf_of or decision.approver_email
                roles = definition.approvers if definition else ()
                entitled = any(seat in named.get(r, ()) for r in roles)
                code_used = (gate.id, decision.round, seat) in self.codes_used
            found.append(
                Authority(
                    gate.gate_name,
                    (
                        f"{decision.approver_email} for {decision.on_behalf_of}"
                        if decision.on_behalf_of
                        else decision.approver_email
                    ),
                    decision.decision,
                    entitled,
                    code_used,
                    decision.channel,
                    bool(decision.on_behalf_of),
                )
            )
        return found

    def run_reasons(self) -> list[RunReason]:
        """What the store recorded that explains the lifecycle run leaving a pause."""
        gates = {g.id: g for g in self.gates}
        reasons = []
        for decision in self.decisions:
            if decision.channel != FORM and not decision.accepted:
                continue  # refused before it reached the run (by `pmo approve` itself)
            kind = (
                "policy"
                if decision.channel == POLICY
                else "answer"
                if decision.accepted
                else "refused"
            )
            detail = decision.refusal_reason or f"{decision.decision} by {decision.approver_email}"
            gate = gates[decision.gate_id].gate_name
            reasons.append(
                RunReason(decision.received_at, gate, kind, detail, decision.channel == FORM)
            )
        stage_names = {sr.id: sr.stage_name for sr in self.stage_runs}
        reasons += [
            RunReason(
                u.received_at,
                stage_names.get(u.stage_run_id, ""),
                "status",
                "update",
                u.channel == FORM,
            )
            for u in self.updates
        ]
        reasons += [
            RunReason(
                p.received_at,
                stage_names.get(p.stage_run_id, ""),
                "plan",
                "change request" if p.kind == "change" else "plan",
                p.channel == FORM,
            )
            for p in self.plans
            if p.channel != "brief"  # the brief's plan is taken without a pause
        ]
        return reasons

    def waiting_at(self) -> str | None:
        waiting = [g for g in self.gates if g.status != "decided"]
        return waiting[-1].gate_name if waiting else None


def load_records(
    session: Session, *, project_key: str | None = None, since: datetime | None = None
) -> list[ProjectRecord]:
    """The record of every project the selection names, oldest project first."""
    query = select(Project).options(defer(Project.lifecycle_definition)).order_by(Project.id)
    if project_key is not None:
        query = query.where(Project.key == project_key)
    if since is not None:
        query = query.where(Project.created_at >= since)
    projects = list(session.scalars(query))
    if not projects:
        return []
    records = {p.id: _record(p, versions) for p, versions in _pinned_lifecycles(session, projects)}
    ids = list(records)
    for row in _rows(session, StageRun, StageRun.project_id, ids, StageRun.id):
        records[row.project_id].stage_runs.append(row)
    gate_project: dict[int, int] = {}
    for row in _rows(session, Gate, Gate.project_id, ids, Gate.id):
        records[row.project_id].gates.append(row)
        gate_project[row.id] = row.project_id
    for row in _rows(session, GateDecision, GateDecision.gate_id, list(gate_project), None):
        records[gate_project[row.gate_id]].decisions.append(row)
    used = select(ApprovalCode.gate_id, ApprovalCode.round, ApprovalCode.approver_email).where(
        ApprovalCode.used_at.is_not(None)
    )
    for gate_id, round_, who in _chunked(session, used, ApprovalCode.gate_id, list(gate_project)):
        records[gate_project[gate_id]].codes_used.add((gate_id, round_, who))
    decision_gate = {d.id: d.gate_id for r in records.values() for d in r.decisions}
    scored = select(GateScore.gate_decision_id).where(GateScore.kind == "score")
    for (decision_id,) in _chunked(
        session, scored, GateScore.gate_decision_id, list(decision_gate)
    ):
        scores = records[gate_project[decision_gate[decision_id]]].scores
        scores[decision_id] = scores.get(decision_id, 0) + 1
    for row in _rows(session, DocumentRecord, DocumentRecord.project_id, ids, DocumentRecord.id):
        records[row.project_id].documents.append(row)
    updates = _rows(session, StatusUpdateRecord, StatusUpdateRecord.project_id, ids, None)
    for row in updates:
        records[row.project_id].updates.append(row)
    for row in _rows(session, PlanSubmission, PlanSubmission.project_id, ids, PlanSubmission.id):
        records[row.project_id].plans.append(row)
    for row in _rows(session, EvmSnapshot, EvmSnapshot.project_id, ids, EvmSnapshot.id):
        records[row.project_id].latest_evm = row  # ascending id: the last is the latest
    for record in records.values():
        record.decisions.sort(key=lambda d: (d.received_at, d.id))
        record.updates.sort(key=lambda u: (u.received_at, u.id))
    return list(records.values())


def _pinned_lifecycles(
    session: Session, projects: list[Project]
) -> list[tuple[Project, dict[str | None, Lifecycle]]]:
    """Each project with every lifecycle version it ran under, oldest first. A definition
    is read and validated once however many projects share it (by its digest); a project
    started before versions were kept has its one, read once per (version, tier)."""
    by_project: dict[int, list[Row]] = {}
    ids = [p.id for p in projects]
    pins = _chunked(
        session,
        select(
            ProjectLifecycle.project_id,
            ProjectLifecycle.seq,
            ProjectLifecycle.version,
            ProjectLifecycle.digest,
            ProjectLifecycle.id,
        ),
        ProjectLifecycle.project_id,
        ids,
    )
    for row in sorted(pins, key=lambda r: (r.project_id, r.seq)):
        by_project.setdefault(row.project_id, []).append(row)
    digests: dict[str, Lifecycle] = {}
    legacy: dict[tuple[str, str], Lifecycle] = {}
    found = []
    for project in projects:
        versions: dict[str | None, Lifecycle] = {}
        for pin in by_project.get(project.id, []):
            if pin.digest not in digests:
                definition = session.scalar(
                    select(ProjectLifecycle.definition).where(ProjectLifecycle.id == pin.id)
                )
                digests[pin.digest] = parsed(pin.digest, definition)
            versions[pin.version] = digests[pin.digest]
        if not versions:
            key = (project.lifecycle_version, project.tier)
            if key not in legacy:
                definition = session.scalar(
                    select(Project.lifecycle_definition).where(Project.id == project.id)
                )
                legacy[key] = Lifecycle.model_validate(definition)
            versions[project.lifecycle_version] = legacy[key]
        found.append((project, versions))
    return found


def _record(project: Project, versions: dict[str | None, Lifecycle]) -> ProjectRecord:
    current = versions[project.lifecycle_version]
    # stage runs from before versions were kept name none: they ran under the first
    first = next(iter(versions.values()))
    return ProjectRecord(project, current, {**versions, None: first})


CHUNK = 5000  # ids per IN (...) list: PostgreSQL and SQLite both take this many parameters


def _rows(session: Session, model: Any, column: Any, ids: list[int], order: Any) -> list[Row]:
    rows: list[Row] = []
    every_column = model.__table__.columns
    for start in range(0, len(ids), CHUNK):
        query = select(*every_column).where(column.in_(ids[start : start + CHUNK]))
        if order is not None:
            query = query.order_by(order)
        rows += session.execute(query)
    return rows


def _chunked(session: Session, query: Any, column: Any, ids: list[int]) -> Iterable[Any]:
    for start in range(0, len(ids), CHUNK):
        yield from session.execute(query.where(column.in_(ids[start : start + CHUNK])))
