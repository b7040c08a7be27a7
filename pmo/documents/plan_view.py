"""The plan a document shows: the one proposed in the stage (a plan baseline to be
approved) or the baseline in force (a status report's), with its number, hash, schedule,
figures, cost curve and effort."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cached_property

from sqlalchemy import select
from sqlalchemy.orm import Session

from pmo.brief import ProjectBrief
from pmo.control.planning import PlanFigures, plan_figures
from pmo.plan.evm import planned_value
from pmo.plan.model import parse_plan
from pmo.plan.phased import cumulative_pv_by_month, effort_by_role_month
from pmo.plan.schedule import Schedule, ScheduledPackage, schedule_plan
from pmo.store.models import Baseline, PlanSubmission, StageRun
from pmo.store.plans import baseline_of, baselines, latest_submission, plan_start


@dataclass(frozen=True)
class PlanView:
    number: int  # the baseline it is (or becomes when its gate says go)
    hash: str
    schedule: Schedule
    figures: PlanFigures
    approved: bool
    confirmed_activities: tuple[str, ...] = ()

    @property
    def packages(self) -> list[ScheduledPackage]:
        return list(self.schedule.packages.values())

    @cached_property
    def pv_by_month(self) -> list[tuple[str, Decimal]]:
        return cumulative_pv_by_month(self.schedule)

    @cached_property
    def effort(self) -> dict[tuple[str, str], Decimal]:
        return effort_by_role_month(self.schedule)

    @property
    def roles(self) -> list[str]:
        return sorted({role for role, _ in self.effort})

    @property
    def months(self) -> list[str]:
        return sorted({month for _, month in self.effort})

    def planned_value(self, as_of: date) -> Decimal:
        return planned_value(self.schedule, as_of)


def proposed_view(
    session: Session, *, brief: ProjectBrief, stage_run_id: int | None
) -> PlanView | None:
    """The plan submitted in this stage attempt (at planning, or the latest change
    request), as its gate is shown it."""
    if stage_run_id is None:
        return None
    stage_run = session.get(StageRun, stage_run_id)
    submission = latest_submission(session, stage_run=stage_run)
    if submission is None:
        return None
    made = session.scalar(select(Baseline).where(Baseline.submission_id == submission.id))
    return _view(session, brief, submission, made)


def baseline_view(session: Session, *, brief: ProjectBrief, project_id: int) -> PlanView | None:
    """The baseline in force."""
    rows = baselines(session, project_id=project_id)
    if not rows:
        return None
    in_force = baseline_of(rows[-1])
    return PlanView(
        number=in_force.number,
        hash=in_force.hash,
        schedule=in_force.schedule,
        figures=plan_figures(in_force.plan, brief, in_force.schedule),
        approved=True,
    )


def _view(
    session: Session, brief: ProjectBrief, submission: PlanSubmission, made: Baseline | None
) -> PlanView:
    plan = parse_plan(submission.plan, "proposed plan")
    schedule = schedule_plan(plan, plan_start(plan, brief))
    number = made.number if made else len(baselines(session, project_id=submission.project_id)) + 1
    return PlanView(
        number=number,
        hash=submission.plan_hash or plan.content_hash(),
        schedule=schedule,
        figures=plan_figures(plan, brief, schedule),
        approved=made is not None,
        confirmed_activities=tuple(submission.confirmed_activities or ()),
    )
