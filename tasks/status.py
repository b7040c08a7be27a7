"""Tasks of a reporting stage: take a status update, mail its status report."""

from dataclasses import dataclass

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from pmo.control.reporting import begin_status_wait as begin_status_wait_in_store
from pmo.control.reporting import (
    covering_tolerances,
    mail_status_report,
    measured_against,
    record_update,
    reporting_state,
    tolerances_in_force,
)
from pmo.control.updates import StatusUpdate, work_packages
from pmo.gates.links import flow_run_url
from pmo.store import session_scope
from pmo.store.models import Project, StageRun, StatusUpdateRecord
from pmo.store.reporting import snapshot_of, status_updates
from process_library.schema import Stage
from tasks.documents import DocumentRef
from tasks.retries import STORE_RETRIES, retried_while_unavailable


@dataclass(frozen=True)
class TakenUpdate:
    """What the run did with an update: refused (why), or accepted with what it showed."""

    number: int
    accepted: bool
    refusal: str
    complete: bool
    breached: bool
    tolerances: dict
    proposed: dict  # tolerances just wide enough for its forecast


def _taken(session, stage_run: StageRun, stage: Stage, row) -> TakenUpdate:
    snapshot = snapshot_of(session, update=row) if row.accepted else None
    tolerances = tolerances_in_force(session, stage_run=stage_run, stage=stage)
    return TakenUpdate(
        number=row.number,
        accepted=row.accepted,
        refusal=f"{row.refusal_field}: {row.refusal_reason}" if not row.accepted else "",
        complete=row.complete,
        breached=bool(snapshot and snapshot.breached),
        tolerances=tolerances.model_dump(),
        proposed=covering_tolerances(snapshot, tolerances) if snapshot else {},
    )


@retried_while_unavailable
def recall_update(stage_run_id: int, stage: Stage, number: int) -> TakenUpdate | None:
    """Update `number` of the stage attempt as the run recorded it before a resume, if any."""
    with session_scope() as session:
        stage_run = session.get(StageRun, stage_run_id)
        for row in status_updates(session, stage_run=stage_run):
            if row.number == number:
                return _taken(session, stage_run, stage, row)
    return None


@retried_while_unavailable
def current_progress(stage_run_id: int, stage: Stage) -> dict[str, float]:
    """Percent complete per work package after the last accepted update of the attempt."""
    with session_scope() as session:
        stage_run = session.get(StageRun, stage_run_id)
        return reporting_state(session, stage_run=stage_run, stage=stage).progress


def baseline_packages(stage_run_id: int) -> tuple[int, dict[str, str]]:
    """The number of the baseline in force and its work packages (key -> name)."""
    with session_scope() as session:
        project = session.get(Project, session.get(StageRun, stage_run_id).project_id)
        baseline = measured_against(session, project=project)
        return baseline.number, work_packages(baseline.schedule)


@task(cache_policy=NO_CACHE, **STORE_RETRIES, task_run_name="begin reporting {stage.name}")
def begin_reporting(stage_run_id: int, stage: Stage) -> None:
    """Mark the stage attempt as taking status updates (`pmo status` checks this)."""
    with session_scope() as session:
        stage_run = session.get(StageRun, stage_run_id)
        if stage_run.status == "in-progress":
            stage_run.status = "reporting"


@task(cache_policy=NO_CACHE, **STORE_RETRIES, task_run_name="wait for status update {number}")
def begin_status_wait(stage_run_id: int, stage: Stage, attempt: int, number: int) -> str | None:
    """None if update `number` is on record already (`pmo status` recorded it), else the
    pause key the run now waits at for it."""
    with session_scope() as session:
        return begin_status_wait_in_store(
            session,
            stage_run_id=stage_run_id,
            number=number,
            prefix=f"status-{stage.key}-{attempt}",
        )


@retried_while_unavailable
def last_status_pause_key(stage_run_id: int) -> str | None:
    """The pause key the run last waited at for an update, if it still waits there."""
    with session_scope() as session:
        return session.get(StageRun, stage_run_id).waiting_key


@task(cache_policy=NO_CACHE, **STORE_RETRIES, task_run_name="take status update {response_key}")
def take_status_update(
    stage: Stage, stage_run_id: int, response_key: str, update: StatusUpdate
) -> TakenUpdate:
    """Judge an update given through the Resume form and record it with its earned value
    and RAG; a refused one is recorded with the field and the reason, and changes nothing else."""
    with session_scope() as session:
        recorded = record_update(
            session,
            stage_run_id=stage_run_id,
            stage=stage,
            update=update,
            response_key=response_key,
            channel="prefect",
        )
        stage_run = session.get(StageRun, stage_run_id)
        row = session.get(StatusUpdateRecord, recorded.update_id)
        return _taken(session, stage_run, stage, row)


@task(cache_policy=NO_CACHE, **STORE_RETRIES, task_run_name="send status report {number}")
def send_status_report(stage_run_id: int, number: int, report: DocumentRef) -> int:
    """Mail the status report to whom the communication plan names, once each."""
    with session_scope() as session:
        stage_run = session.get(StageRun, stage_run_id)
        row = next(r for r in status_updates(session, stage_run=stage_run) if r.number == number)
        sent = mail_status_report(
            session,
            project=session.get(Project, stage_run.project_id),
            stage_run=stage_run,
            update=row,
            docx_path=report.docx_path,
            run_url=flow_run_url(flow_run.get_id()),
        )
        return len(sent)
