"""A reporting stage: the run waits for the project manager's status updates as a gate
waits for answers (suspended, no process held), records each with its earned value and
RAG, writes and mails a status report, and takes a forecast beyond tolerance to the
stage's exception gate. The stage ends when the project manager reports it complete.

Pause keys are `status-<stage>-<attempt>-<n>`, handed out by the store; every update is
judged and recorded by the store (`pmo status` records first, then wakes the run), so a run
that resumes from the top finds the updates on record and waits only for the next one.
"""

from datetime import date
from typing import Literal

from prefect.input import RunInput
from pydantic import BaseModel, Field, create_model

from flows.gate import hold_change_gate, hold_exception_gate
from flows.waiting import forget_input, input_left_at, wait_for_input
from pmo.brief import ProjectBrief
from pmo.control.reporting import past_the_limits
from pmo.control.updates import from_run_input, package_field
from pmo.limits import LIST_ITEMS, OptionalLine, OptionalText
from process_library.loader import LoadedLifecycle
from process_library.schema import Stage
from tasks.documents import render_document
from tasks.gates import Verdict, recall_gate_verdict
from tasks.planning import baseline_changes, change_figures, pending_change
from tasks.status import (
    TakenUpdate,
    baseline_packages,
    begin_reporting,
    begin_status_wait,
    current_progress,
    last_status_pause_key,
    recall_update,
    send_status_report,
    take_status_update,
)


class NewRisk(BaseModel):
    """A risk that has come up since the last update."""

    description: OptionalLine = Field(description="What might happen.")
    probability: Literal["low", "medium", "high"] = Field(default="medium")
    impact: Literal["low", "medium", "high"] = Field(default="medium")


def update_form(
    brief: ProjectBrief,
    stage: Stage,
    packages: dict[str, str],
    progress: dict[str, float],
    description: str,
) -> type[RunInput]:
    """The Resume form of a status update: a percent field per work package of the
    baseline (its last percent by default), then cost, forecast, commentary, new risks
    and issues, the stage's activities done, and whether the stage is complete."""
    fields = {
        package_field(number): (
            float,
            Field(
                default=progress.get(key, 0.0),
                ge=0,
                le=100,
                title=f"{key} {name}",
                description="Percent complete of this work package.",
            ),
        )
        for number, (key, name) in enumerate(packages.items(), start=1)
    }
    activities = tuple(a.key for a in stage.activities)
    form = create_model(
        "StatusUpdateForm",
        __base__=RunInput,
        as_of=(date, Field(description="The date the figures are as of.")),
        **fields,
        actual_cost=(float, Field(ge=0, description=f"Actual cost to date ({brief.currency}).")),
        forecast_finish=(date, Field(description="When you now forecast the project to finish.")),
        forecast_cost=(
            float,
            Field(ge=0, description=f"What you now forecast it to cost in all ({brief.currency})."),
        ),
        scope_change_percent=(
            float,
            Field(default=0.0, ge=0, le=100, description="Forecast change to the baselined scope."),
        ),
        quality_shortfall_percent=(
            float,
            Field(
                default=0.0,
                ge=0,
                le=100,
                description="Forecast share of acceptance criteria that will not be met.",
            ),
        ),
        benefits_shortfall_percent=(
            float,
            Field(
                default=0.0,
                ge=0,
                le=100,
                description="Forecast shortfall of the benefits in the business case.",
            ),
        ),
        commentary=(
            OptionalText,
            Field(default="", description="RAG commentary: what, why, what next."),
        ),
        note=(
            OptionalText,
            Field(default="", description="Why a percent complete went back, if one did."),
        ),
        new_risks=(list[NewRisk], Field(default_factory=list, max_length=LIST_ITEMS)),
        new_issues=(
            list[OptionalLine],
            Field(
                default_factory=list,
                max_length=LIST_ITEMS,
                description="Issues raised since the last update.",
            ),
        ),
        confirmed_activities=(
            list[Literal[activities]] if activities else list[str],  # type: ignore[valid-type]
            Field(
                default_factory=list,
                max_length=LIST_ITEMS,
                description="The stage's activities you have done.",
            ),
        ),
        stage_complete=(
            bool,
            Field(default=False, description="The stage's work is done: go on to its gate."),
        ),
    )
    return form.with_initial_data(description=description)


def follow_status(
    brief: ProjectBrief,
    lifecycle: LoadedLifecycle,
    stage: Stage,
    attempt: int,
    stage_run_id: int,
) -> Verdict | None:
    """Take status updates until the stage is complete (None), or until its exception gate
    stops it: a recycle (re-plan) or a kill, returned as the verdict."""
    begin_reporting(stage_run_id, stage)
    baseline_changes(stage_run_id)
    baseline, names = baseline_packages(stage_run_id)
    packages = list(names)
    take_form_update(stage, stage_run_id, packages, last_status_pause_key(stage_run_id))
    number = 1
    while True:
        if (change := pending_change(stage_run_id)) is not None:
            verdict = _change(brief, lifecycle, stage, attempt, stage_run_id, change)
            if verdict.outcome == "kill":
                return Verdict("kill", verdict.reason, gate_name=stage.change_gate.name)
            baseline_changes(stage_run_id)
            baseline, names = baseline_packages(stage_run_id)
            packages = list(names)
            continue
        taken = recall_update(stage_run_id, stage, number)
        if taken is not None and recall_update(stage_run_id, stage, number + 1) is not None:
            number += 1  # the run moved past this update before it was resumed
            continue
        if taken is None:
            key = begin_status_wait(stage_run_id, stage, attempt, number)
            if key is not None:
                previous = recall_update(stage_run_id, stage, number - 1) if number > 1 else None
                description = _form_description(brief, stage, previous, baseline, names)
                progress = current_progress(stage_run_id, stage)
                form = update_form(brief, stage, names, progress, description)
                response = wait_for_input(form, key)
                if response is not None:
                    take_form_update(stage, stage_run_id, packages, key, response.model_dump())
            continue
        if taken.accepted:
            occasion = f"update-{number}"
            report = render_document(
                brief, lifecycle, stage, attempt, "status-report", occasion=occasion
            )
            send_status_report(stage_run_id, number, report)
            if taken.breached and not taken.complete:
                verdict = _exception(brief, lifecycle, stage, attempt, stage_run_id, taken)
                gate = stage.exception_gate
                if verdict.outcome == "kill":
                    return Verdict("kill", verdict.reason, gate_name=gate.name)
                if verdict.outcome == "recycle":
                    return Verdict("recycle", verdict.reason, gate.replan_stage, gate.name)
            if taken.complete:
                return None
        number += 1


def take_form_update(
    stage: Stage,
    stage_run_id: int,
    packages: list[str],
    key: str | None,
    given: dict | None = None,
) -> None:
    """Hand the update the project manager gave through the Resume form at pause `key` to
    the store's judge (once: the pause key is the update's key), then forget it in Prefect."""
    if key is None or (given := given or input_left_at(key)) is None:
        return
    take_status_update(stage, stage_run_id, key, from_run_input(given, packages))
    forget_input(key)


def _exception(
    brief: ProjectBrief,
    lifecycle: LoadedLifecycle,
    stage: Stage,
    attempt: int,
    stage_run_id: int,
    taken: TakenUpdate,
) -> Verdict:
    gate_key = f"{stage.exception_gate.key}-{taken.number}"
    if (verdict := recall_gate_verdict(stage_run_id, gate_key)) is not None:
        return verdict
    report = render_document(
        brief,
        lifecycle,
        stage,
        attempt,
        "exception-report",
        occasion=f"update-{taken.number}",
        extra={
            "tolerances": taken.tolerances,
            "proposed": taken.proposed,
            "past_limits": past_the_limits(taken.proposed),
        },
    )
    return hold_exception_gate(brief, lifecycle, stage, attempt, stage_run_id, taken.number, report)


def _change(
    brief: ProjectBrief,
    lifecycle: LoadedLifecycle,
    stage: Stage,
    attempt: int,
    stage_run_id: int,
    gate_key: str,
) -> Verdict:
    """Hold the change gate of a change request: its pack is the changed plan, as the
    baseline it would become."""
    if (verdict := recall_gate_verdict(stage_run_id, gate_key)) is not None:
        return verdict
    pack = render_document(brief, lifecycle, stage, attempt, "plan-baseline", occasion=gate_key)
    figures = change_figures(brief, stage_run_id, gate_key)
    return hold_change_gate(brief, lifecycle, stage, attempt, stage_run_id, gate_key, pack, figures)


def _form_description(
    brief: ProjectBrief,
    stage: Stage,
    last: TakenUpdate | None,
    baseline: int,
    packages: dict[str, str],
) -> str:
    """The Markdown above the form: what to report, the tolerances, the last refusal."""
    lines = [
        f"## Status update: {brief.name} ({brief.key}), {stage.name}",
        "",
        f"Report percent complete per work package of baseline {baseline} (a field each), "
        "cost to date and your forecast. A forecast beyond a tolerance goes to the sponsor "
        "as an exception.",
        "",
    ]
    if last is not None and not last.accepted:
        lines += [f"> **The last update was refused:** {last.refusal}", ""]
    tolerances = last.tolerances if last else stage.tolerances.model_dump()
    lines += ["| Tolerance | Limit |", "| --- | --- |"]
    lines += [f"| {name} | {value:g} |" for name, value in tolerances.items()]
    lines += ["", f"Work packages of baseline {baseline}:", ""]
    lines += [f"- {key} {name}" for key, name in packages.items()]
    return "\n".join(lines)
