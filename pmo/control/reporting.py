"""Status reporting in a stage: take an update (checked, recorded with its earned value and
RAG), the tolerances in force, who is sent the status report, and the portfolio's view.

Shared by the lifecycle flow, `pmo status`, `pmo projects` and the gate-sla check; free of
Prefect. Every write is keyed (stage attempt + update number), so a run that resumes from
the top finds what it recorded instead of recording it twice.
"""

import math
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import update
from sqlalchemy.orm import Session

from pmo.brief import ProjectBrief
from pmo.control.activities import check_confirmed, record_confirmed
from pmo.control.updates import (
    Assessment,
    ReportedRisk,
    StatusUpdate,
    assess,
    check_update,
    parse_tolerances,
)
from pmo.errors import StatusRefused
from pmo.mail import compose_message, send_once
from pmo.store.lifecycles import lifecycle_for
from pmo.store.models import EvmSnapshot, Project, StageRun, StatusUpdateRecord, utcnow
from pmo.store.plans import BaselineInForce, baseline_in_force, latest_baseline_number
from pmo.store.records import gate_decisions
from pmo.store.reporting import (
    all_projects,
    exception_gates,
    find_status_update,
    latest_stage_run,
    project_snapshots,
    project_updates,
    snapshot_of,
    status_updates,
)
from pmo.templating import render_text
from process_library.communication import load_communication_policy
from process_library.schema import Stage, Tolerances


@dataclass(frozen=True)
class ReportingState:
    """Where a reporting stage attempt stands: progress and risks so far, the tolerances
    in force."""

    progress: dict[str, float]
    as_of: date | None
    risk_scores: list[int]
    tolerances: Tolerances


def tolerances_in_force(session: Session, *, stage_run: StageRun, stage: Stage) -> Tolerances:
    """The stage's tolerances, as replaced by each exception gate's go since it started."""
    tolerances = stage.tolerances
    assert tolerances is not None, f"stage {stage.key} has no tolerances"
    for gate in exception_gates(session, stage_run=stage_run):
        if gate.status == "decided" and gate.outcome == "go":
            for row in gate_decisions(session, gate=gate, round=gate.round):
                if row.decision == "go":
                    tolerances = parse_tolerances(row.conditions, tolerances)
    return tolerances


def reporting_state(session: Session, *, stage_run: StageRun, stage: Stage) -> ReportingState:
    """Progress, dates and risks carry over from the project's earlier updates (work done
    before a re-plan stays done); the tolerances are the stage attempt's own."""
    accepted = project_updates(session, project=session.get(Project, stage_run.project_id))
    last = accepted[-1] if accepted else None
    risks = [ReportedRisk(**risk).score for row in accepted for risk in row.risks]
    return ReportingState(
        progress=dict(last.progress) if last else {},
        as_of=last.as_of if last else None,
        risk_scores=risks,
        tolerances=tolerances_in_force(session, stage_run=stage_run, stage=stage),
    )


def measured_against(session: Session, *, project: Project) -> BaselineInForce:
    """The baseline status is measured against; StatusRefused before there is one."""
    baseline = baseline_in_force(session, project_id=project.id)
    if baseline is None:
        raise StatusRefused(
            "RUN_ID",
            f"{project.key} has no approved plan baseline to report against; "
            "its plan-approval gate baselines one",
        )
    return baseline


def judge_update(
    session: Session, *, project: Project, stage_run: StageRun, stage: Stage, update: StatusUpdate
) -> tuple[dict[str, float], Assessment, BaselineInForce]:
    """The progress after the update, its assessment against the baseline in force, and
    that baseline; StatusRefused if the update is refused."""
    brief = ProjectBrief.model_validate(project.brief)
    baseline = measured_against(session, project=project)
    state = reporting_state(session, stage_run=stage_run, stage=stage)
    check_confirmed(stage, update.confirmed_activities, StatusRefused)
    progress = check_update(
        update,
        brief=brief,
        schedule=baseline.schedule,
        previous={k: v for k, v in state.progress.items() if k in baseline.schedule.packages},
        previous_as_of=state.as_of,
    )
    lifecycle = lifecycle_for(session, stage_run=stage_run)
    assessment = assess(
        update,
        brief=brief,
        progress=progress,
        risks_so_far=state.risk_scores,
        tolerances=state.tolerances,
        rag=lifecycle.rag,
        schedule=baseline.schedule,
    )
    return progress, assessment, baseline


@dataclass(frozen=True)
class RecordedUpdate:
    """A status update as the store judged and recorded it; `waiting_key` is the pause the
    stage's run waits at (or is about to), for the channel to wake."""

    update_id: int
    number: int
    accepted: bool
    waiting_key: str | None


def lock_stage_run(session: Session, stage_run_id: int) -> StageRun:
    """Hold the stage attempt's row until the transaction ends and read it as committed:
    updates are numbered and judged one at a time, and one recorded while the run is about
    to suspend is either seen by the run or sees the run's pause key (see `lock_gate`)."""
    session.execute(
        update(StageRun)
        .where(StageRun.id == stage_run_id)
        .values(waits=StageRun.waits)
        .execution_options(synchronize_session=False)  # read afresh below (`lock_gate`)
    )
    return session.get(StageRun, stage_run_id, populate_existing=True)


def record_update(
    session: Session,
    *,
    stage_run_id: int,
    stage: Stage,
    update: StatusUpdate,
    response_key: str,
    channel: str,
) -> RecordedUpdate:
    """Judge one update and record it, once per `response_key`: the one place an update
    is judged, whichever way it came. An accepted one gets its earned value snapshot.

    A refusal through the Resume form is kept with the field and the reason (the run shows
    it above the next form); `pmo status` (channel `cli`) raises StatusRefused instead and
    records nothing.
    """
    stage_run = lock_stage_run(session, stage_run_id)
    if existing := find_status_update(session, stage_run=stage_run, response_key=response_key):
        return RecordedUpdate(
            existing.id, existing.number, existing.accepted, stage_run.waiting_key
        )
    project = session.get(Project, stage_run.project_id)
    try:
        progress, assessment, baseline = judge_update(
            session, project=project, stage_run=stage_run, stage=stage, update=update
        )
        refusal = None
    except StatusRefused as refused:
        if channel == "cli":
            raise
        progress = {str(k): float(v) for k, v in update.progress.items()}
        assessment, baseline, refusal = None, None, refused
    row = StatusUpdateRecord(
        project_id=project.id,
        stage_run_id=stage_run.id,
        number=len(status_updates(session, stage_run=stage_run)) + 1,
        response_key=response_key,
        channel=channel,
        reported_by=project.project_manager_email,
        as_of=update.as_of,
        progress=progress,
        actual_cost=(
            sum(update.actual_costs.values(), Decimal(0))
            if update.actual_costs
            else update.actual_cost
        ),
        actual_costs=(
            {k: str(v) for k, v in update.actual_costs.items()} if update.actual_costs else None
        ),
        confirmed_activities=list(update.confirmed_activities) if assessment else None,
        forecast_finish=update.forecast_finish,
        forecast_cost=update.forecast_cost,
        scope_change_percent=update.scope_change_percent,
        quality_shortfall_percent=update.quality_shortfall_percent,
        benefits_shortfall_percent=update.benefits_shortfall_percent,
        commentary=update.commentary,
        note=update.note,
        risks=[vars(risk) for risk in update.risks],
        issues=list(update.issues),
        complete=bool(assessment and (update.complete or assessment.complete)),
        accepted=refusal is None,
        refusal_field=refusal.where if refusal else None,
        refusal_reason=refusal.problem if refusal else None,
    )
    session.add(row)
    session.flush()
    if assessment is not None and baseline is not None:
        session.add(_snapshot(row, project, update, assessment, baseline.number))
        record_confirmed(
            session, stage_run=stage_run, stage=stage, confirmed=update.confirmed_activities
        )
        session.flush()
    return RecordedUpdate(row.id, row.number, row.accepted, stage_run.waiting_key)


def begin_status_wait(
    session: Session, *, stage_run_id: int, number: int, prefix: str
) -> str | None:
    """The run comes to wait for update `number`: None if it is recorded already, else a
    new pause key (`<prefix>-<n>`), recorded as where the run now waits."""
    stage_run = lock_stage_run(session, stage_run_id)
    if any(row.number == number for row in status_updates(session, stage_run=stage_run)):
        stage_run.waiting_key = stage_run.waiting_since = None
    else:
        stage_run.waits += 1
        stage_run.waiting_key = f"{prefix}-{stage_run.waits}"
        stage_run.waiting_since = utcnow()
    return stage_run.waiting_key


def _snapshot(
    row: StatusUpdateRecord,
    project: Project,
    update: StatusUpdate,
    assessment: Assessment,
    baseline_number: int,
) -> EvmSnapshot:
    """The update's figures; `eac` and `vac` columns hold BAC and 0 while CPI is unknown
    (no cost yet), the `evm` column every figure under DESIGN.md's keys (null there)."""
    figures = assessment.figures
    eac = figures.eac if figures.eac is not None else figures.bac
    return EvmSnapshot(
        status_update_id=row.id,
        project_id=project.id,
        as_of=update.as_of,
        percent_complete=assessment.percent_complete,
        bac=figures.bac,
        pv=figures.pv,
        ev=figures.ev,
        ac=figures.ac,
        spi=figures.spi,
        cpi=figures.cpi,
        sv=figures.sv,
        cv=figures.cv,
        eac=eac,
        vac=figures.bac - eac,
        rag=[
            {
                "dimension": s.dimension,
                "variance": s.variance,
                "tolerance": s.tolerance,
                "used": None if math.isinf(s.used) else round(s.used, 4),
                "colour": s.colour,
            }
            for s in assessment.statuses
        ],
        overall=assessment.overall,
        breached=bool(assessment.breaches),
        baseline_number=baseline_number,
        evm=figures.as_json(),
    )


def report_recipients(brief: ProjectBrief, document_key: str) -> list[str]:
    """Who the communication plan sends this document to: the stakeholders whose quadrant
    receives it (`document:` of a message in `process_library/communication.yaml`)."""
    policy = load_communication_policy()
    recipients = []
    for person in brief.stakeholders:
        quadrant = policy.quadrant(person.influence, person.interest)
        if any(m.document == document_key for m in quadrant.messages):
            recipients.append(person.email)
    return list(dict.fromkeys(recipients))


def mail_status_report(
    session: Session,
    *,
    project: Project,
    stage_run: StageRun,
    update: StatusUpdateRecord,
    docx_path: str,
    run_url: str,
) -> list[str]:
    """Mail the update's status report to its recipients, once each; returns who got it."""
    brief = ProjectBrief.model_validate(project.brief)
    snapshot = snapshot_of(session, update=update)
    sent = []
    for recipient in report_recipients(brief, "status-report"):
        occasion = f"{project.key}/{stage_run.stage_key}/{stage_run.attempt}/status-{update.number}"
        delivery = send_once(
            session,
            key=f"status-report:{occasion}:{recipient}",
            project_id=project.id,
            message=lambda recipient=recipient, occasion=occasion: compose_message(
                to=[recipient],
                subject=f"[{project.key}] Status report {update.as_of}: {snapshot.overall.upper()}",
                body=render_text(
                    "email/status-report.txt.j2",
                    {
                        "project": project,
                        "stage": stage_run,
                        "update": update,
                        "snapshot": snapshot,
                        "recipient": recipient,
                        "run_url": run_url,
                    },
                ),
                message_id_key=f"{occasion}/{recipient}",
                attachments=[Path(docx_path)],
            ),
        )
        if delivery:
            sent.append(recipient)
    return sent


def covering_tolerances(snapshot: EvmSnapshot, current: Tolerances) -> dict[str, float]:
    """Tolerances just wide enough for the forecast: what a go would have to agree to.
    Not checked against a lifecycle's limits: a forecast may stray further than any
    lifecycle lets a stage tolerate (time 1,316 % past a short stage), and the exception
    report shows what covering it would take all the same."""
    values = current.model_dump()
    for line in snapshot.rag:
        if line["colour"] == "red":
            name = next(k for k in values if k.startswith(line["dimension"]))
            values[name] = math.ceil(line["variance"])
    return values


def past_the_limits(proposed: dict[str, float]) -> dict[str, float]:
    """Of the tolerances `covering_tolerances` proposes, those wider than any stage may
    tolerate (the schema's bounds), each with its bound: a go cannot set them, so the
    exception report must not offer it."""
    past = {}
    for name, value in proposed.items():
        bound = next(m.le for m in Tolerances.model_fields[name].metadata if hasattr(m, "le"))
        if value > bound:
            past[name] = bound
    return past


@dataclass(frozen=True)
class ProjectLine:
    """One project as `pmo projects` lists it."""

    key: str
    name: str
    lifecycle: str
    stage: str | None
    status: str
    rag: str | None
    spi: Decimal | None
    cpi: Decimal | None
    as_of: date | None
    run_id: str | None
    updated_at: datetime | None
    baseline: int | None = None  # the baseline in force
    evm: dict | None = None  # the latest figures under DESIGN.md's `evm` keys


def list_projects(session: Session) -> list[ProjectLine]:
    """Every project: its stage, status, overall RAG, the baseline in force and the latest
    earned value figures against it."""
    lines = []
    for project in all_projects(session):
        stage_run = latest_stage_run(session, project=project)
        snapshots = project_snapshots(session, project=project)
        latest = snapshots[-1] if snapshots else None
        status = project.status
        if status == "active" and stage_run is not None:
            status = stage_run.status
        lines.append(
            ProjectLine(
                key=project.key,
                name=project.name,
                lifecycle=project.lifecycle,
                stage=stage_run.stage_name if stage_run else None,
                status=status,
                rag=latest.overall if latest else None,
                spi=latest.spi if latest else None,
                cpi=latest.cpi if latest else None,
                as_of=latest.as_of if latest else None,
                run_id=project.flow_run_id,
                updated_at=latest.recorded_at if latest else None,
                baseline=latest_baseline_number(session, project_id=project.id),
                evm=latest.evm if latest else None,
            )
        )
    return lines
