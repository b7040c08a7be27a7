"""A stage that takes the plan: the brief's `plan:` on the stage's first attempt, else the
run waits for the project manager's plan as a gate waits for answers (suspended, no
process held): through the Resume form (the plan as YAML text) or `pmo plan RUN_ID PLAN`,
which records first and then wakes the run. The store judges every plan; the gate that
closes the stage is shown it with its figures, and its go makes it the baseline.
"""

from typing import Literal

from prefect.input import RunInput
from pydantic import Field, create_model

from flows.waiting import forget_input, input_left_at, wait_for_input
from pmo.brief import ProjectBrief
from pmo.limits import LIST_ITEMS
from process_library.schema import Stage
from tasks.planning import (
    begin_plan_wait,
    last_plan_refusal,
    plan_waiting_key,
    take_brief_plan,
    take_form_plan,
)

PLAN_TEXT_CHARS = 2_000_000  # a plan of some thousands of work packages, as YAML


def plan_form(stage: Stage, description: str) -> type[RunInput]:
    """The Resume form of the plan: the plan as YAML text, and the stage's activities the
    project manager confirms are done."""
    activities = tuple(a.key for a in stage.activities)
    confirmed: tuple = (
        list[Literal[activities]] if activities else list[str],  # type: ignore[valid-type]
        Field(
            default_factory=list,
            max_length=LIST_ITEMS,
            description="The stage's activities you have done (" + ", ".join(activities) + ").",
        ),
    )
    form = create_model(
        "PlanSubmission",
        __base__=RunInput,
        plan_yaml=(
            str,
            Field(
                max_length=PLAN_TEXT_CHARS,
                description="The plan in YAML: start, calendar, work_packages, milestones.",
            ),
        ),
        confirmed_activities=confirmed,
    )
    return form.with_initial_data(description=description)


def take_plan(brief: ProjectBrief, stage: Stage, attempt: int, stage_run_id: int) -> None:
    """Have a plan on record for the stage attempt: the brief's, or the project manager's."""
    if attempt == 1 and brief.plan is not None:
        take_brief_plan(stage, stage_run_id, brief.plan.data())
    take_given_plan(stage, stage_run_id, plan_waiting_key(stage_run_id))
    while (key := begin_plan_wait(stage_run_id, stage, attempt)) is not None:
        response = wait_for_input(plan_form(stage, _description(brief, stage, stage_run_id)), key)
        if response is not None:
            take_given_plan(stage, stage_run_id, key, response.model_dump())


def take_given_plan(
    stage: Stage, stage_run_id: int, key: str | None, given: dict | None = None
) -> None:
    """Hand the plan given through the Resume form at pause `key` to the store's judge
    (once: the pause key is the submission's key), then forget it in Prefect."""
    if key is None or (given := given or input_left_at(key)) is None:
        return
    confirmed = [str(key) for key in given.get("confirmed_activities") or []]
    take_form_plan(stage, stage_run_id, key, str(given.get("plan_yaml", "")), confirmed)
    forget_input(key)


def _description(brief: ProjectBrief, stage: Stage, stage_run_id: int) -> str:
    lines = [
        f"## Plan: {brief.name} ({brief.key}), {stage.name}",
        "",
        "Paste the plan in YAML (work packages with key, name, owner, duration_days, "
        "depends_on, budget, effort; milestones), or submit a YAML, CSV or Microsoft "
        "Project XML file with `pmo plan RUN_ID PLAN`. The gate is shown its finish "
        f"against the target end date {brief.target_end_date} and its cost against the "
        f"budget {brief.currency} {brief.budget:,.2f}.",
        "",
    ]
    if refusal := last_plan_refusal(stage_run_id):
        lines = [f"> **The last plan was refused:** {refusal}", "", *lines]
    return "\n".join(lines)
