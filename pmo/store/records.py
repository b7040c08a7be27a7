"""Store functions the lifecycle and the CLI call: keyword-only, session first.

Each `ensure_*` finds the row its natural key names or creates it, so a flow that runs
again from the top after a resume writes nothing twice.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, exists, func, or_, select
from sqlalchemy.orm import Session

from pmo.brief import ProjectBrief
from pmo.errors import BriefError
from pmo.store.engine import session_scope
from pmo.store.lifecycles import add_pin
from pmo.store.models import (
    ActivityRecord,
    ApprovalCode,
    DocumentRecord,
    Gate,
    GateDecision,
    GateScore,
    PlanSubmission,
    Project,
    ReviewLink,
    StageRun,
    StatusUpdateRecord,
    utcnow,
)
from process_library.loader import LoadedLifecycle
from process_library.schema import Stage


def ensure_project(
    session: Session,
    *,
    brief: ProjectBrief,
    lifecycle: LoadedLifecycle,
    flow_run_id: str | None,
    tailoring: Sequence[Mapping[str, Any]] = (),
) -> Project:
    """The project's row, pinned to this lifecycle version (as the project runs it, with
    what was tailored and why); one project key, one lifecycle run."""
    project = session.scalar(select(Project).where(Project.key == brief.key))
    if project is not None:
        if project.flow_run_id != flow_run_id:
            raise BriefError(
                "brief: key",
                f"project '{brief.key}' already exists (run {project.flow_run_id}); "
                "choose another key",
            )
        return project
    project = Project(
        key=brief.key,
        name=brief.name,
        lifecycle=lifecycle.lifecycle.name,
        lifecycle_version=lifecycle.version,
        lifecycle_definition=lifecycle.lifecycle.model_dump(mode="json"),
        tier=brief.tier,
        budget=brief.budget,
        currency=brief.currency,
        project_manager_email=brief.project_manager.email,
        brief=brief.model_dump(mode="json"),
        flow_run_id=flow_run_id,
    )
    session.add(project)
    session.flush()
    add_pin(
        session,
        project=project,
        lifecycle=lifecycle.lifecycle,
        version=lifecycle.version,
        tailoring=tailoring,
        reason="The project started on it.",
        first=True,
    )
    return project


def get_project(session: Session, *, key: str) -> Project | None:
    return session.scalar(select(Project).where(Project.key == key))


def ensure_stage_run(
    session: Session, *, project: Project, stage: Stage, attempt: int, version: str | None = None
) -> StageRun:
    """The stage attempt's row; a new one runs under `version` (default: the project's)."""
    stage_run = session.scalar(
        select(StageRun).where(
            StageRun.project_id == project.id,
            StageRun.stage_key == stage.key,
            StageRun.attempt == attempt,
        )
    )
    if stage_run is None:
        stage_run = StageRun(
            project_id=project.id,
            stage_key=stage.key,
            stage_name=stage.name,
            attempt=attempt,
            lifecycle_version=version or project.lifecycle_version,
        )
        session.add(stage_run)
        session.flush()
    project.current_stage = stage.key
    return stage_run


def project_stage_runs(session: Session, *, project: Project) -> list[StageRun]:
    return list(
        session.scalars(
            select(StageRun).where(StageRun.project_id == project.id).order_by(StageRun.id)
        )
    )


def ensure_activity(
    session: Session, *, stage_run: StageRun, activity_key: str, name: str
) -> ActivityRecord:
    record = session.scalar(
        select(ActivityRecord).where(
            ActivityRecord.stage_run_id == stage_run.id,
            ActivityRecord.activity_key == activity_key,
        )
    )
    if record is None:
        record = ActivityRecord(stage_run_id=stage_run.id, activity_key=activity_key, name=name)
        session.add(record)
        session.flush()
    return record


def find_document(session: Session, *, idempotency_key: str) -> DocumentRecord | None:
    return session.scalar(
        select(DocumentRecord).where(DocumentRecord.idempotency_key == idempotency_key)
    )


def next_document_version(session: Session, *, project: Project, document_key: str) -> int:
    latest = session.scalar(
        select(func.max(DocumentRecord.version)).where(
            DocumentRecord.project_id == project.id,
            DocumentRecord.document_key == document_key,
        )
    )
    return (latest or 0) + 1


def project_documents(session: Session, *, project: Project) -> list[DocumentRecord]:
    return list(
        session.scalars(
            select(DocumentRecord)
            .where(DocumentRecord.project_id == project.id)
            .order_by(DocumentRecord.created_at, DocumentRecord.id)
        )
    )


def stage_documents(session: Session, *, stage_run: StageRun) -> list[DocumentRecord]:
    return list(
        session.scalars(
            select(DocumentRecord)
            .where(DocumentRecord.stage_run_id == stage_run.id)
            .order_by(DocumentRecord.id)
        )
    )


def project_for_run(session: Session, *, flow_run_id: str) -> Project | None:
    return session.scalar(select(Project).where(Project.flow_run_id == flow_run_id))


def document_versions(
    session: Session, *, project: Project
) -> list[tuple[DocumentRecord, StageRun | None]]:
    """Every version of every document of the project, oldest first, with its stage run."""
    rows = session.execute(
        select(DocumentRecord, StageRun)
        .outerjoin(StageRun, StageRun.id == DocumentRecord.stage_run_id)
        .where(DocumentRecord.project_id == project.id)
        .order_by(DocumentRecord.created_at, DocumentRecord.id)
    )
    return [(record, stage_run) for record, stage_run in rows]


def ensure_gate(
    session: Session,
    *,
    stage_run: StageRun,
    gate_key: str,
    gate_name: str,
    flow_run_id: str | None,
    kind: str = "stage",
) -> Gate:
    gate = session.scalar(
        select(Gate).where(Gate.stage_run_id == stage_run.id, Gate.gate_key == gate_key)
    )
    if gate is None:
        now = utcnow()
        gate = Gate(
            stage_run_id=stage_run.id,
            project_id=stage_run.project_id,
            kind=kind,
            gate_key=gate_key,
            gate_name=gate_name,
            flow_run_id=flow_run_id,
            opened_at=now,
            round_opened_at=now,
        )
        session.add(gate)
        session.flush()
    if gate.status != "decided":
        stage_run.status = {"stage": "at-gate", "exception": "at-exception-gate"}.get(
            kind, "at-change-gate"
        )
    return gate


def decided_gate(
    session: Session, *, project_key: str, stage_key: str, attempt: int
) -> Gate | None:
    """The gate of this stage attempt, if it has been decided."""
    return session.scalar(
        select(Gate)
        .join(StageRun, StageRun.id == Gate.stage_run_id)
        .join(Project, Project.id == Gate.project_id)
        .where(
            Project.key == project_key,
            StageRun.stage_key == stage_key,
            StageRun.attempt == attempt,
            Gate.kind == "stage",
            Gate.status == "decided",
        )
    )


def approval_code(
    session: Session, *, gate: Gate, round: int, approver: str
) -> ApprovalCode | None:
    return session.scalar(
        select(ApprovalCode).where(
            ApprovalCode.gate_id == gate.id,
            ApprovalCode.round == round,
            ApprovalCode.approver_email == approver,
        )
    )


def find_response(session: Session, *, gate: Gate, response_key: str) -> GateDecision | None:
    return session.scalar(
        select(GateDecision).where(
            GateDecision.gate_id == gate.id, GateDecision.response_key == response_key
        )
    )


def gate_decisions(
    session: Session, *, gate: Gate, round: int | None = None, accepted: bool | None = True
) -> list[GateDecision]:
    query = select(GateDecision).where(GateDecision.gate_id == gate.id)
    if round is not None:
        query = query.where(GateDecision.round == round)
    if accepted is not None:
        query = query.where(GateDecision.accepted == accepted)
    return list(session.scalars(query.order_by(GateDecision.received_at, GateDecision.id)))


def record_scores(
    session: Session, *, decision: GateDecision, scores: dict[str, int], checks: dict[str, bool]
) -> None:
    """The scores and yes/no given with an accepted answer, a row per criterion."""
    for key, value in scores.items():
        session.add(
            GateScore(gate_decision_id=decision.id, criterion_key=key, kind="score", value=value)
        )
    for key, met in checks.items():
        session.add(
            GateScore(gate_decision_id=decision.id, criterion_key=key, kind="check", value=int(met))
        )


def decision_scores(
    session: Session, *, decisions: list[GateDecision]
) -> dict[int, list[GateScore]]:
    """The scores given with each of `decisions`, by decision id."""
    found: dict[int, list[GateScore]] = {d.id: [] for d in decisions}
    if found:
        query = select(GateScore).where(GateScore.gate_decision_id.in_(list(found)))
        for row in session.scalars(query.order_by(GateScore.id)):
            found[row.gate_decision_id].append(row)
    return found


def answered_approvers(session: Session, *, gate: Gate) -> set[str]:
    """Whose seat has an accepted answer in the gate's current round (a delegate's answer
    fills the seat of the approver they answered for)."""
    return {
        d.on_behalf_of or d.approver_email
        for d in gate_decisions(session, gate=gate, round=gate.round)
    }


def _open_gates_query() -> Select:
    return (
        select(Project, StageRun, Gate)
        .join(StageRun, StageRun.id == Gate.stage_run_id)
        .join(Project, Project.id == Gate.project_id)
        .where(Gate.status.in_(("open", "on-hold")))
        .order_by(Gate.opened_at)
    )


def open_gates(session: Session) -> list[tuple[Project, StageRun, Gate]]:
    return [(p, s, g) for p, s, g in session.execute(_open_gates_query())]


def open_gates_asking(session: Session, *, approver: str) -> list[tuple[Project, StageRun, Gate]]:
    """The open gates whose current round's request went to `approver`, or to them as a
    delegate: the only ones that can wait on them, found by the database so that an
    approver's inbox does not cost every gate of the PMO."""
    asked = exists().where(
        ReviewLink.gate_id == Gate.id,
        ReviewLink.round == Gate.round,
        or_(ReviewLink.approver_email == approver, ReviewLink.delegate_email == approver),
    )
    return [(p, s, g) for p, s, g in session.execute(_open_gates_query().where(asked))]


def open_gate(session: Session, gate_id: int) -> tuple[Project, StageRun, Gate] | None:
    """The gate with its project and stage attempt, if it is still open or on hold."""
    row = session.execute(_open_gates_query().where(Gate.id == gate_id)).first()
    return tuple(row) if row is not None else None


def open_gate_ids(session: Session) -> list[int]:
    """The gates waiting for answers (not those on hold), oldest first."""
    return list(
        session.scalars(select(Gate.id).where(Gate.status == "open").order_by(Gate.opened_at))
    )


def gate_waits_at(gate_id: int) -> str | None:
    """The pause key the run waits at for this gate now, read afresh in a session of its
    own: what a wake checks just before it resumes the run, so a run that moved on is not
    woken."""
    with session_scope() as session:
        return session.get(Gate, gate_id).waiting_key


def stage_waits_at(stage_run_id: int) -> str | None:
    """The pause key the run waits at for a plan or status update of this stage attempt,
    read afresh in a session of its own (as `gate_waits_at`)."""
    with session_scope() as session:
        return session.get(StageRun, stage_run_id).waiting_key


# How far apart the clocks of the machine a run waits on and the one recording its input
# may be: an input recorded up to this long before the wait began still counts as after it.
CLOCK_MARGIN = timedelta(minutes=1)


@dataclass(frozen=True)
class StageWait:
    """A stage attempt whose run waits for a plan or status update recorded since it began
    to wait, and when the latest one accepted for it was recorded."""

    stage_run_id: int
    project_key: str
    stage_name: str
    run_id: str
    key: str
    latest_input: datetime


def stage_waits_with_input(session: Session) -> list[StageWait]:
    """Every stage attempt of an active project whose run waits for a plan or update that
    has been recorded since the wait began: a run the channel that recorded it may not have
    woken. A run that began to wait after its latest input has taken it."""
    latest = {}
    for model in (StatusUpdateRecord, PlanSubmission):
        rows = session.execute(
            select(model.stage_run_id, func.max(model.received_at))
            .join(StageRun, StageRun.id == model.stage_run_id)
            .where(StageRun.waiting_key.is_not(None), model.accepted.is_(True))
            .group_by(model.stage_run_id)
        )
        for stage_run_id, received in rows:
            latest[stage_run_id] = max(filter(None, (latest.get(stage_run_id), received)))
    waiting = session.execute(
        select(StageRun, Project)
        .join(Project, Project.id == StageRun.project_id)
        .where(
            StageRun.id.in_(latest), StageRun.waiting_key.is_not(None), Project.status == "active"
        )
        .order_by(StageRun.id)
    )
    return [
        StageWait(
            stage_run.id,
            project.key,
            stage_run.stage_name,
            project.flow_run_id or "",
            stage_run.waiting_key,
            latest[stage_run.id],
        )
        for stage_run, project in waiting
        if stage_run.waiting_since is None
        or latest[stage_run.id] > stage_run.waiting_since - CLOCK_MARGIN
    ]


def gate_for_run(session: Session, *, flow_run_id: str) -> tuple[Project, StageRun, Gate] | None:
    """The gate a lifecycle run is waiting at, if any."""
    # Found by the database, not among every open gate: an answer's cost must not grow
    # with the number of projects waiting.
    row = session.execute(_open_gates_query().where(Gate.flow_run_id == flow_run_id)).first()
    return tuple(row) if row is not None else None


def close_project(session: Session, *, project: Project, status: str, reason: str) -> None:
    if project.closed_at is None:
        project.status = status
        project.close_reason = reason
        project.closed_at = utcnow()


def mark_decided(
    session: Session, *, gate: Gate, stage_run: StageRun, round: int, outcome: str, at: datetime
) -> None:
    """Record a round's outcome once; a hold reopens the gate for the next round."""
    if gate.round > round or gate.status == "decided":
        return
    gate.outcome = outcome
    gate.decided_at = at
    if outcome == "hold":
        gate.status = "on-hold"
        gate.round = round + 1
        gate.round_opened_at = at
        return
    gate.status = "decided"
    if gate.kind == "exception" and outcome == "go":
        stage_run.status = "reporting"  # the stage goes on, under the new tolerances
        return
    if gate.kind == "change" and outcome != "kill":
        stage_run.status = "reporting"  # the stage goes on, under the new baseline or the old
        return
    replanned = "replanned" if gate.kind == "exception" else "recycled"
    stage_run.status = {"go": "passed", "recycle": replanned, "kill": "killed"}[outcome]
    stage_run.finished_at = at
