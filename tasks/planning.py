"""Tasks of a stage that takes the plan: take it, wait for it, show it, baseline it."""

from prefect import task
from prefect.cache_policies import NO_CACHE

from pmo.brief import ProjectBrief
from pmo.control import planning
from pmo.control.planning import PlanFigures, plan_figures
from pmo.plan.model import parse_plan
from pmo.store import session_scope
from pmo.store.models import StageRun
from pmo.store.plans import (
    change_request,
    decided_change_gates,
    proposed_plan,
    undecided_changes,
)
from pmo.store.records import decided_gate
from process_library.schema import Stage


@task(cache_policy=NO_CACHE, task_run_name="take the brief's plan")
def take_brief_plan(stage: Stage, stage_run_id: int, plan: dict) -> bool:
    """Record the plan the brief carries as the stage's proposed plan; returns whether
    it was accepted."""
    with session_scope() as session:
        recorded = planning.record_plan(
            session,
            stage_run_id=stage_run_id,
            stage=stage,
            plan=plan,
            response_key=planning.BRIEF,
            channel=planning.BRIEF,
        )
        return recorded.accepted


@task(cache_policy=NO_CACHE, task_run_name="wait for the plan")
def begin_plan_wait(stage_run_id: int, stage: Stage, attempt: int) -> str | None:
    """None if a plan is on record for the stage attempt, else the pause key the run now
    waits at for the project manager's plan."""
    with session_scope() as session:
        return planning.begin_plan_wait(
            session, stage_run_id=stage_run_id, prefix=f"plan-{stage.key}-{attempt}"
        )


@task(cache_policy=NO_CACHE, task_run_name="take plan {response_key}")
def take_form_plan(
    stage: Stage, stage_run_id: int, response_key: str, plan: str, confirmed: list[str]
) -> bool:
    """Judge a plan given through the Resume form (YAML text) and record it; a refused one is kept
    with the field and the reason. Returns whether it was accepted."""
    with session_scope() as session:
        recorded = planning.record_plan(
            session,
            stage_run_id=stage_run_id,
            stage=stage,
            plan=plan,
            response_key=response_key,
            channel="prefect",
            confirmed_activities=confirmed,
        )
        return recorded.accepted


def plan_waiting_key(stage_run_id: int) -> str | None:
    """The pause key the run last waited at for the plan, if it still waits there."""
    with session_scope() as session:
        return session.get(StageRun, stage_run_id).waiting_key


def last_plan_refusal(stage_run_id: int) -> str | None:
    with session_scope() as session:
        return planning.last_refusal(session, stage_run_id=stage_run_id)


def proposed_figures(brief: ProjectBrief, stage_run_id: int) -> PlanFigures | None:
    """The figures of the plan the stage's gate is asked to baseline."""
    with session_scope() as session:
        submission = proposed_plan(session, stage_run=session.get(StageRun, stage_run_id))
        if submission is None:
            return None
        return plan_figures(parse_plan(submission.plan, "proposed plan"), brief)


@task(cache_policy=NO_CACHE, task_run_name="baseline the plan of {stage.name}")
def baseline_plan(brief: ProjectBrief, stage: Stage, attempt: int) -> int | None:
    """After the gate's go, make the plan it approved the project's next baseline (once);
    returns its number."""
    with session_scope() as session:
        gate = decided_gate(session, project_key=brief.key, stage_key=stage.key, attempt=attempt)
        if gate is None or gate.outcome != "go":
            return None
        baseline = planning.baseline_proposed(session, gate=gate)
        return baseline.number if baseline else None


def pending_change(stage_run_id: int) -> str | None:
    """The change gate key of the stage attempt's change request awaiting its decision."""
    with session_scope() as session:
        stage_run = session.get(StageRun, stage_run_id)
        waiting = undecided_changes(session, project_id=stage_run.project_id)
        mine = [row for row in waiting if row.stage_run_id == stage_run_id]
        return mine[0].gate_key if mine else None


def change_figures(brief: ProjectBrief, stage_run_id: int, gate_key: str) -> PlanFigures:
    """The figures of the changed plan its change gate is shown."""
    with session_scope() as session:
        row = change_request(session, stage_run_id=stage_run_id, gate_key=gate_key)
        return plan_figures(parse_plan(row.plan, "change request"), brief)


@task(cache_policy=NO_CACHE, task_run_name="baseline the approved changes")
def baseline_changes(stage_run_id: int) -> list[int]:
    """Make each change the stage attempt's change gates approved the next baseline, once
    each, in the order they were approved; returns the new baselines' numbers."""
    made = []
    with session_scope() as session:
        for gate in decided_change_gates(session, stage_run_id=stage_run_id):
            if (baseline := planning.baseline_change(session, gate=gate)) is not None:
                made.append(baseline.number)
    return made
