"""The plan at planning: taken from the brief or the project manager, judged and recorded
in one place, shown to the plan-approval gate with its figures, baselined on its go.

Free of Prefect: the lifecycle flow, `pmo plan` and the Resume form all hand a plan to
`record_plan`, which checks it and records it once per response key, in the caller's
transaction. A refusal through `pmo plan` (channel `cli`) raises and records nothing;
one through the Resume form is kept with the field and the reason, shown above the next
form.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from pmo.brief import ProjectBrief
from pmo.control.activities import check_confirmed, record_confirmed
from pmo.control.reporting import lock_stage_run
from pmo.errors import PmoInputError
from pmo.plan.formats import read_plan_text
from pmo.plan.model import Plan, parse_plan
from pmo.plan.schedule import Schedule, schedule_plan
from pmo.store.models import Baseline, Gate, PlanSubmission, Project, StageRun, utcnow
from pmo.store.plans import (
    find_plan_submission,
    plan_start,
    plan_submissions,
    proposed_plan,
    record_baseline,
    undecided_changes,
)
from process_library.schema import Stage

BRIEF = "brief"  # the channel and response key of the plan a brief carries
WAITING = "planning"  # a stage attempt's status while it waits for the plan


class PlanRefused(PmoInputError):
    """A plan submission was refused: a malformed plan, a stage not taking one..."""


@dataclass(frozen=True)
class PlanFigures:
    """What the plan-approval gate is shown: the plan against the brief's dates and money."""

    start: date
    finish: date
    target_end_date: date
    duration_days: int
    critical_path: list[str]
    plan_budget: Decimal
    budget: Decimal
    currency: str

    @property
    def on_time(self) -> bool:
        return self.finish <= self.target_end_date

    @property
    def late_by_days(self) -> int:
        """Calendar days past the target end date (0 when on time)."""
        return max((self.finish - self.target_end_date).days, 0)

    @property
    def within_budget(self) -> bool:
        return self.plan_budget <= self.budget

    @property
    def management_reserve(self) -> Decimal:
        """The approved budget less the plan's: negative when the plan costs more."""
        return self.budget - self.plan_budget

    def finish_evidence(self) -> str:
        if self.on_time:
            return (
                f"Plan finishes {self.finish}, by the target end date {self.target_end_date} "
                f"({self.duration_days} working days)"
            )
        return (
            f"Plan finishes {self.finish}, {self.late_by_days} days after the target end "
            f"date {self.target_end_date}"
        )

    def cost_evidence(self) -> str:
        plan, budget = f"{self.plan_budget:,.2f}", f"{self.budget:,.2f}"
        if self.within_budget:
            return (
                f"Plan costs {self.currency} {plan} of the budget {budget}: management "
                f"reserve {self.currency} {self.management_reserve:,.2f}"
            )
        return (
            f"Plan costs {self.currency} {plan}, {self.currency} "
            f"{-self.management_reserve:,.2f} more than the budget {budget}"
        )


def plan_figures(plan: Plan, brief: ProjectBrief, schedule: Schedule | None = None) -> PlanFigures:
    schedule = schedule or schedule_plan(plan, plan_start(plan, brief))
    return PlanFigures(
        start=schedule.start,
        finish=schedule.finish,
        target_end_date=brief.target_end_date,
        duration_days=schedule.duration_days,
        critical_path=list(schedule.critical_path),
        plan_budget=plan.budget(),
        budget=Decimal(brief.budget),
        currency=brief.currency,
    )


@dataclass(frozen=True)
class RecordedPlan:
    """A plan as the store judged and recorded it; `waiting_key` is the pause the stage's
    run waits at (or is about to), for the channel to wake."""

    submission_id: int
    accepted: bool
    waiting_key: str | None


def judge_plan(
    session: Session, *, project: Project, stage_run: StageRun, stage: Stage, plan: object
) -> Plan:
    """The plan (data, a Plan, or YAML text), checked; PlanRefused or PlanError naming the
    field if it is refused. A stage attempt takes one plan: once one is accepted, it is
    with the gate, and after the gate's go it changes only through `pmo change`."""
    if not stage.takes_plan:
        raise PlanRefused("RUN_ID", f"{stage.name} does not take a plan")
    taken = proposed_plan(session, stage_run=stage_run) is not None
    if taken or stage_run.status not in ("in-progress", WAITING):
        raise PlanRefused(
            "RUN_ID",
            f"{project.key} is not waiting for a plan at {stage.name} ({stage_run.status}); "
            "once the plan is baselined it changes through `pmo change`",
        )
    if isinstance(plan, str):  # the Resume form's YAML text
        checked = read_plan_text(plan, fmt="yaml", source="plan_yaml")
    else:
        checked = parse_plan(plan)
    brief = ProjectBrief.model_validate(project.brief)
    schedule_plan(checked, plan_start(checked, brief))  # a plan that cannot be scheduled is refused
    return checked


def record_plan(
    session: Session,
    *,
    stage_run_id: int,
    stage: Stage,
    plan: object,
    response_key: str,
    channel: str,
    confirmed_activities: list[str] | tuple[str, ...] = (),
    submitted_by: str | None = None,
) -> RecordedPlan:
    """Judge a plan for the stage attempt and record it, once per `response_key`: the one
    place a plan submitted at planning is judged, whichever way it came."""
    stage_run = lock_stage_run(session, stage_run_id)
    if existing := find_plan_submission(session, stage_run=stage_run, response_key=response_key):
        return RecordedPlan(existing.id, existing.accepted, stage_run.waiting_key)
    project = session.get(Project, stage_run.project_id)
    if submitted_by is not None and submitted_by != project.project_manager_email:
        raise PlanRefused(
            "--as",
            f"{submitted_by} is not the project manager of {project.key}: only they submit plans",
        )
    try:
        checked = judge_plan(session, project=project, stage_run=stage_run, stage=stage, plan=plan)
        confirmed = check_confirmed(stage, confirmed_activities, PlanRefused)
        refusal = None
    except PmoInputError as refused:
        if channel == "cli":
            raise
        checked, confirmed, refusal = None, [], refused
    row = PlanSubmission(
        project_id=project.id,
        stage_run_id=stage_run.id,
        response_key=response_key,
        kind="plan",
        channel=channel,
        submitted_by=project.project_manager_email,
        plan=checked.data() if checked else None,
        plan_hash=checked.content_hash() if checked else None,
        confirmed_activities=confirmed,
        accepted=refusal is None,
        refusal_field=refusal.where if refusal else None,
        refusal_reason=refusal.problem if refusal else None,
    )
    session.add(row)
    if refusal is None:
        # The run still waits at its key (a channel wakes it there); it clears the key
        # when it comes back and finds the plan (`begin_plan_wait`).
        stage_run.status = "in-progress"
        record_confirmed(session, stage_run=stage_run, stage=stage, confirmed=confirmed)
    session.flush()
    return RecordedPlan(row.id, row.accepted, stage_run.waiting_key)


def begin_plan_wait(session: Session, *, stage_run_id: int, prefix: str) -> str | None:
    """The run comes to wait for the plan: None if one is on record, else a new pause key
    (`<prefix>-<n>`), recorded as where the run now waits."""
    stage_run = lock_stage_run(session, stage_run_id)
    if proposed_plan(session, stage_run=stage_run) is not None:
        stage_run.waiting_key = stage_run.waiting_since = None
        return None
    stage_run.status = WAITING
    stage_run.waits += 1
    stage_run.waiting_key = f"{prefix}-{stage_run.waits}"
    stage_run.waiting_since = utcnow()
    return stage_run.waiting_key


def last_refusal(session: Session, *, stage_run_id: int) -> str | None:
    """Why the last plan submitted through the Resume form was refused, if it was."""
    rows = plan_submissions(session, stage_run=session.get(StageRun, stage_run_id), kind="plan")
    if rows and not rows[-1].accepted:
        return f"{rows[-1].refusal_field}: {rows[-1].refusal_reason}"
    return None


def baseline_proposed(session: Session, *, gate: Gate) -> Baseline | None:
    """On the plan-approval gate's go, the plan it was shown becomes the next baseline
    (once: the gate's baseline is found again on a resume)."""
    stage_run = session.get(StageRun, gate.stage_run_id)
    submission = proposed_plan(session, stage_run=stage_run)
    if submission is None:
        return None
    return record_baseline(
        session,
        project_id=gate.project_id,
        plan=parse_plan(submission.plan, "proposed plan"),
        gate_id=gate.id,
        gate_round=gate.round,
        submission_id=submission.id,
        reason=f"Approved at {gate.gate_name}",
    )


def record_change(
    session: Session,
    *,
    stage_run_id: int,
    stage: Stage,
    plan: Plan,
    reason: str,
    response_key: str,
    channel: str,
    submitted_by: str | None = None,
) -> RecordedPlan:
    """Judge a change request (a new plan and why) for a reporting stage attempt and
    record it, once per `response_key`, with the change gate it opens
    (`<change gate>-<n>`): the one place a change request is judged. Refused while a
    change gate of the project is open, or when the stage has none."""
    stage_run = lock_stage_run(session, stage_run_id)
    if existing := find_plan_submission(session, stage_run=stage_run, response_key=response_key):
        return RecordedPlan(existing.id, existing.accepted, stage_run.waiting_key)
    project = session.get(Project, stage_run.project_id)
    if submitted_by is not None and submitted_by != project.project_manager_email:
        raise PlanRefused(
            "--as",
            f"{submitted_by} is not the project manager of {project.key}; they ask for changes",
        )
    if open_changes := undecided_changes(session, project_id=project.id):
        raise PlanRefused(
            "RUN_ID",
            f"change request {open_changes[0].gate_key} of {project.key} is still before its "
            "change gate; wait for its decision",
        )
    if stage.change_gate is None or stage_run.status != "reporting":
        raise PlanRefused(
            "RUN_ID",
            f"{project.key} is not in a stage that takes change requests "
            f"({stage.name}, {stage_run.status})",
        )
    if not reason.strip():
        raise PlanRefused("--reason", "a change request needs the reason for the change")
    checked = parse_plan(plan)
    brief = ProjectBrief.model_validate(project.brief)
    schedule_plan(checked, plan_start(checked, brief))
    number = len(plan_submissions(session, stage_run=stage_run, kind="change")) + 1
    row = PlanSubmission(
        project_id=project.id,
        stage_run_id=stage_run.id,
        response_key=response_key,
        kind="change",
        channel=channel,
        submitted_by=project.project_manager_email,
        plan=checked.data(),
        plan_hash=checked.content_hash(),
        reason=reason.strip(),
        confirmed_activities=[],
        gate_key=f"{stage.change_gate.key}-{number}",
        accepted=True,
    )
    session.add(row)
    session.flush()
    return RecordedPlan(row.id, True, stage_run.waiting_key)


def baseline_change(session: Session, *, gate: Gate) -> Baseline | None:
    """On a change gate's go, the changed plan becomes the next baseline (once)."""
    submission = session.scalar(
        select(PlanSubmission).where(
            PlanSubmission.stage_run_id == gate.stage_run_id,
            PlanSubmission.gate_key == gate.gate_key,
            PlanSubmission.kind == "change",
        )
    )
    if submission is None or gate.outcome != "go":
        return None
    return record_baseline(
        session,
        project_id=gate.project_id,
        plan=parse_plan(submission.plan, "change request"),
        gate_id=gate.id,
        gate_round=gate.round,
        submission_id=submission.id,
        reason=submission.reason,
    )
