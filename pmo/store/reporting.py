"""Store functions for status reporting: updates, earned value snapshots, the stage taking
them. Keyword-only, session first, like `pmo.store.records`."""

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from pmo.store.models import EvmSnapshot, Gate, Project, StageRun, StatusUpdateRecord


def status_updates(
    session: Session, *, stage_run: StageRun, accepted: bool | None = None
) -> list[StatusUpdateRecord]:
    """The updates the run took in this stage attempt, in the order it took them."""
    query = select(StatusUpdateRecord).where(StatusUpdateRecord.stage_run_id == stage_run.id)
    if accepted is not None:
        query = query.where(StatusUpdateRecord.accepted == accepted)
    return list(session.scalars(query.order_by(StatusUpdateRecord.number)))


def project_updates(session: Session, *, project: Project) -> list[StatusUpdateRecord]:
    """Every accepted update of the project, oldest first."""
    return list(
        session.scalars(
            select(StatusUpdateRecord)
            .where(StatusUpdateRecord.project_id == project.id, StatusUpdateRecord.accepted)
            .order_by(StatusUpdateRecord.received_at, StatusUpdateRecord.id)
        )
    )


def find_status_update(
    session: Session, *, stage_run: StageRun, response_key: str
) -> StatusUpdateRecord | None:
    return session.scalar(
        select(StatusUpdateRecord).where(
            StatusUpdateRecord.stage_run_id == stage_run.id,
            StatusUpdateRecord.response_key == response_key,
        )
    )


def snapshot_of(session: Session, *, update: StatusUpdateRecord) -> EvmSnapshot | None:
    return session.scalar(select(EvmSnapshot).where(EvmSnapshot.status_update_id == update.id))


def project_snapshots(session: Session, *, project: Project) -> list[EvmSnapshot]:
    """The project's earned value time series, oldest first."""
    return list(
        session.scalars(
            select(EvmSnapshot)
            .where(EvmSnapshot.project_id == project.id)
            .order_by(EvmSnapshot.as_of, EvmSnapshot.id)
        )
    )


def exception_gates(session: Session, *, stage_run: StageRun) -> list[Gate]:
    """The exception gates opened in this stage attempt, oldest first."""
    return list(
        session.scalars(
            select(Gate)
            .where(Gate.stage_run_id == stage_run.id, Gate.kind == "exception")
            .order_by(Gate.id)
        )
    )


def _reporting_query(*columns: Any) -> Select:
    return (
        select(*columns)
        .select_from(Project)
        .join(StageRun, StageRun.project_id == Project.id)
        .where(StageRun.status == "reporting", Project.status == "active")
        .order_by(StageRun.id)
    )


def reporting_stage_runs(
    session: Session, *, stage_run_id: int | None = None
) -> list[tuple[Project, StageRun]]:
    """Every stage attempt now waiting for status updates (or the one given, if it still
    does), with its project."""
    query = _reporting_query(Project, StageRun)
    if stage_run_id is not None:
        query = query.where(StageRun.id == stage_run_id)
    return [(project, stage_run) for project, stage_run in session.execute(query)]


def reporting_stage_run_ids(session: Session) -> list[int]:
    """The ids of every stage attempt now waiting for status updates, without loading
    their projects."""
    return list(session.scalars(_reporting_query(StageRun.id)))


def latest_stage_run(session: Session, *, project: Project) -> StageRun | None:
    return session.scalar(
        select(StageRun)
        .where(StageRun.project_id == project.id)
        .order_by(StageRun.id.desc())
        .limit(1)
    )


def all_projects(session: Session) -> list[Project]:
    return list(session.scalars(select(Project).order_by(Project.key)))


def status_lines(
    session: Session, *, project: Project
) -> list[tuple[StatusUpdateRecord, EvmSnapshot]]:
    """Every accepted update of the project with its earned value snapshot, oldest first."""
    rows = session.execute(
        select(StatusUpdateRecord, EvmSnapshot)
        .join(EvmSnapshot, EvmSnapshot.status_update_id == StatusUpdateRecord.id)
        .where(StatusUpdateRecord.project_id == project.id)
        .order_by(StatusUpdateRecord.received_at, StatusUpdateRecord.id)
    )
    return [(update, snapshot) for update, snapshot in rows]
