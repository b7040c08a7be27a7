"""Store functions for plans: the plans submitted at planning and with change requests,
and every baseline approved. Keyword-only, session first, like `pmo.store.records`.

A plan is kept in its public format (`Plan.data()`), with its content hash; the baseline
in force is the highest-numbered one, read back as a plan with its schedule.
"""

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pmo.brief import ProjectBrief
from pmo.plan.model import Plan, parse_plan
from pmo.plan.phased import PhasedFigures, phased_figures
from pmo.plan.schedule import Schedule, schedule_plan
from pmo.store.models import Baseline, Gate, PlanSubmission, Project, StageRun, utcnow


@dataclass(frozen=True)
class BaselineInForce:
    """An approved baseline as control measures against it."""

    number: int
    plan: Plan
    hash: str
    schedule: Schedule
    approved_at: date


def plan_start(plan: Plan, brief: ProjectBrief) -> date:
    """The day a plan's schedule starts: its own `start`, else the brief's start_date."""
    return plan.start or brief.start_date


def find_plan_submission(
    session: Session, *, stage_run: StageRun, response_key: str
) -> PlanSubmission | None:
    return session.scalar(
        select(PlanSubmission).where(
            PlanSubmission.stage_run_id == stage_run.id,
            PlanSubmission.response_key == response_key,
        )
    )


def plan_submissions(
    session: Session, *, stage_run: StageRun, kind: str | None = None
) -> list[PlanSubmission]:
    """The plans submitted in this stage attempt, oldest first."""
    query = select(PlanSubmission).where(PlanSubmission.stage_run_id == stage_run.id)
    if kind is not None:
        query = query.where(PlanSubmission.kind == kind)
    return list(session.scalars(query.order_by(PlanSubmission.id)))


def proposed_plan(session: Session, *, stage_run: StageRun) -> PlanSubmission | None:
    """The plan this stage attempt's gate is asked to baseline: the last accepted one
    submitted at planning."""
    submitted = plan_submissions(session, stage_run=stage_run, kind="plan")
    accepted = [row for row in submitted if row.accepted]
    return accepted[-1] if accepted else None


def change_requests(session: Session, *, project: Project) -> list[PlanSubmission]:
    """Every accepted change request of the project, oldest first."""
    return list(
        session.scalars(
            select(PlanSubmission)
            .where(
                PlanSubmission.project_id == project.id,
                PlanSubmission.kind == "change",
                PlanSubmission.accepted,
            )
            .order_by(PlanSubmission.id)
        )
    )


def undecided_changes(session: Session, *, project_id: int) -> list[PlanSubmission]:
    """Accepted change requests of the project whose change gate has not decided yet."""
    rows = session.execute(
        select(PlanSubmission, Gate)
        .outerjoin(
            Gate,
            (Gate.stage_run_id == PlanSubmission.stage_run_id)
            & (Gate.gate_key == PlanSubmission.gate_key),
        )
        .where(
            PlanSubmission.project_id == project_id,
            PlanSubmission.kind == "change",
            PlanSubmission.accepted,
        )
        .order_by(PlanSubmission.id)
    )
    return [row for row, gate in rows if gate is None or gate.status != "decided"]


def baselines(session: Session, *, project_id: int) -> list[Baseline]:
    """Every baseline of the project, number 1 first."""
    return list(
        session.scalars(
            select(Baseline).where(Baseline.project_id == project_id).order_by(Baseline.number)
        )
    )


def record_baseline(
    session: Session,
    *,
    project_id: int,
    plan: Plan,
    gate_id: int | None,
    reason: str,
    gate_round: int | None = None,
    submission_id: int | None = None,
) -> Baseline:
    """Make `plan` the project's next baseline, approved at gate `gate_id`; once per gate,
    so a run that resumes after the decision finds the baseline it made."""
    if gate_id is not None and (
        existing := session.scalar(select(Baseline).where(Baseline.gate_id == gate_id))
    ):
        return existing
    project = session.get(Project, project_id)
    brief = ProjectBrief.model_validate(project.brief)
    number = (
        session.scalar(select(func.max(Baseline.number)).where(Baseline.project_id == project_id))
        or 0
    ) + 1
    start = plan_start(plan, brief)
    row = Baseline(
        project_id=project_id,
        number=number,
        plan=plan.data(),
        plan_hash=plan.content_hash(),
        start=start,
        figures=phased_figures(schedule_plan(plan, start)).as_data(),
        submission_id=submission_id,
        gate_id=gate_id,
        gate_round=gate_round,
        reason=reason,
        approved_at=utcnow(),
    )
    session.add(row)
    session.flush()
    return row


def baseline_of(row: Baseline) -> BaselineInForce:
    """A stored baseline as a plan with its schedule."""
    plan = parse_plan(row.plan, f"baseline {row.number}")
    return BaselineInForce(
        number=row.number,
        plan=plan,
        hash=row.plan_hash,
        schedule=schedule_plan(plan, row.start),
        approved_at=row.approved_at.date(),
    )


def figures_of(row: Baseline) -> PhasedFigures:
    """A baseline's monthly planned value and effort by role: as stored when it was
    approved, or from its plan for a row older than the stored figures (nothing written)."""
    if row.figures is not None:
        return PhasedFigures.from_data(row.figures)
    return phased_figures(baseline_of(row).schedule)


def baseline_in_force(session: Session, *, project_id: int) -> BaselineInForce | None:
    """The project's latest baseline, or None before the plan-approval gate's go."""
    row = session.scalar(
        select(Baseline)
        .where(Baseline.project_id == project_id)
        .order_by(Baseline.number.desc())
        .limit(1)
    )
    return baseline_of(row) if row is not None else None


def latest_baseline_number(session: Session, *, project_id: int) -> int | None:
    """The number of the baseline in force, without reading its plan."""
    return session.scalar(
        select(func.max(Baseline.number)).where(Baseline.project_id == project_id)
    )


def change_request(session: Session, *, stage_run_id: int, gate_key: str) -> PlanSubmission:
    """The change request that opened change gate `gate_key` of the stage attempt."""
    return session.scalars(
        select(PlanSubmission).where(
            PlanSubmission.stage_run_id == stage_run_id,
            PlanSubmission.gate_key == gate_key,
            PlanSubmission.kind == "change",
        )
    ).one()


def decided_change_gates(session: Session, *, stage_run_id: int) -> list[Gate]:
    """The change gates of the stage attempt that have decided, in the order decided."""
    return list(
        session.scalars(
            select(Gate)
            .where(
                Gate.stage_run_id == stage_run_id,
                Gate.kind == "change",
                Gate.status == "decided",
            )
            .order_by(Gate.decided_at, Gate.id)
        )
    )


def latest_submission(session: Session, *, stage_run: StageRun) -> PlanSubmission | None:
    """The last accepted plan of the stage attempt, proposed at planning or with a change."""
    accepted = [row for row in plan_submissions(session, stage_run=stage_run) if row.accepted]
    return accepted[-1] if accepted else None
