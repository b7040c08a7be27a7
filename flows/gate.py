"""Holding a stage gate: pack, notify, wait for typed answers, decide.

Runs inside the lifecycle flow (a subflow cannot be suspended). Every wait has a pause key
of its own (`<stage>-<attempt>-<round>-<n>`, handed out by the store), and every answer
is judged and recorded by the store, keyed, so a suspended run that starts again from the
top finds where its gate stands and records nothing twice.
"""

from pathlib import Path
from typing import Literal

from prefect.input import RunInput
from pydantic import Field, create_model

from flows.waiting import forget_input, input_left_at, wait_for_input
from pmo.brief import ProjectBrief
from pmo.control.planning import PlanFigures
from pmo.documents.versions import GATE_DECISION_TEMPLATE
from pmo.gates.criteria import scorecard
from pmo.gates.events import emit_gate_event
from pmo.gates.rules import Answer, GateSite, form_field, gate_approvers
from pmo.limits import NAME_CHARS, OptionalText
from pmo.portfolio.report import funding_standing
from process_library.loader import LoadedLifecycle
from process_library.schema import ExceptionGate, Gate, Stage
from tasks.documents import DocumentRef, render_document
from tasks.gates import (
    Verdict,
    begin_wait,
    decide_gate,
    gate_record,
    last_pause_key,
    open_gate,
    record_gate_answer,
)
from tasks.notify import notify_approvers

DECISION_HELP = {
    "go": "go: the stage is complete; move on",
    "recycle": "recycle: redo this stage",
    "hold": "hold: stop here until a new decision",
    "kill": "kill: cancel the project",
}
EXCEPTION_HELP = {
    "go": "go: continue the stage with the tolerances given under conditions",
    "recycle": "recycle: go back and re-plan",
    "hold": "hold: stop here until a new decision",
    "kill": "kill: cancel the project",
}


def answer_form(gate: Gate, approvers: list[str], description: str) -> type[RunInput]:
    """The Resume form of this gate: its approvers and decisions as dropdowns."""
    exception = isinstance(gate, ExceptionGate)
    help = EXCEPTION_HELP if exception else DECISION_HELP
    conditions = (
        "New tolerances with a go, e.g. 'cost_percent: 25, time_percent: 15' "
        "(those not named stay as they are)."
        if exception
        else "Conditions attached to a go, for the next stage."
    )
    form = create_model(
        "GateAnswer",
        __base__=RunInput,
        approver=(
            Literal[tuple(approvers)],
            Field(description="You: the approver answering this gate."),
        ),
        decision=(
            Literal[tuple(gate.decisions)],
            Field(description="; ".join(help[d] for d in gate.decisions)),
        ),
        code=(
            str,
            Field(max_length=NAME_CHARS, description="The one-time approval code from your email."),
        ),
        comment=(
            OptionalText,
            Field(default="", description="Why you decided so; goes on the record."),
        ),
        conditions=(OptionalText, Field(default="", description=conditions)),
        **score_fields(gate),
    )
    return form.with_initial_data(description=description)


def score_fields(gate: Gate) -> dict:
    """A 0-to-10 field per should-meet criterion and a yes/no per must-meet criterion no
    evidence settles; each optional, so an approver who only decides still can."""
    fields: dict = {}
    for c in gate.scored:
        fields[form_field("score", c.key)] = (
            int | None,
            Field(
                default=None,
                ge=0,
                le=10,
                description=f"Score 0 to 10 (weight {c.weight}): {c.text}",
            ),
        )
    for c in gate.judged:
        fields[form_field("meets", c.key)] = (
            Literal["yes", "no"] | None,
            Field(default=None, description=f"Must meet: {c.text}"),
        )
    return fields


def scores_given(gate: Gate, given: dict) -> tuple[dict[str, int], dict[str, bool]]:
    """The scores and yes/no an approver filled in on the form, by criterion key."""
    scores = {
        c.key: given[field]
        for c in gate.scored
        if given.get(field := form_field("score", c.key)) is not None
    }
    checks = {
        c.key: given[field] == "yes"
        for c in gate.judged
        if given.get(field := form_field("meets", c.key)) is not None
    }
    return scores, checks


def hold_gate(
    brief: ProjectBrief,
    lifecycle: LoadedLifecycle,
    stage: Stage,
    attempt: int,
    stage_run_id: int,
    documents: list[DocumentRef],
    plan: PlanFigures | None = None,
) -> Verdict:
    """Hold the stage's gate until its approvers decide; returns their verdict. At a stage
    that takes the plan, the scorecard shows the proposed plan's figures."""
    gate = stage.gate
    site = open_gate(brief, stage_run_id, gate.key, gate.name)
    produced = {d.key for d in documents}
    card = scorecard(gate, brief, produced, plan)
    approvers = gate_approvers(gate, brief)
    pack = render_document(
        brief,
        lifecycle,
        stage,
        attempt,
        f"gate-review-{gate.key}",
        template="gate-review",
        title=f"Gate review: {gate.name}",
        extra={
            "gate": gate,
            "scorecard": card,
            "stage_documents": documents,
            "approvers": approvers,
            "portfolio": funding_standing(brief.key) if gate.funds_project else None,
        },
    )
    verdict = await_decision(site, brief, stage, f"{stage.key}-{attempt}", pack, documents, card)
    record_decision(brief, lifecycle, stage, attempt, site, verdict)
    return verdict


def hold_exception_gate(
    brief: ProjectBrief,
    lifecycle: LoadedLifecycle,
    stage: Stage,
    attempt: int,
    stage_run_id: int,
    number: int,
    report: DocumentRef,
) -> Verdict:
    """Put the exception report of update `number` to the stage's exception gate and hold
    it until its approvers decide, by the same rules as any gate."""
    gate = stage.exception_gate
    assert gate is not None, f"stage {stage.key} has no exception gate"
    key = f"{gate.key}-{number}"
    site = open_gate(brief, stage_run_id, key, gate.name, kind="exception")
    as_held = stage.model_copy(update={"gate": gate})
    card = scorecard(gate, brief, {report.key})
    verdict = await_decision(site, brief, as_held, f"{key}-{attempt}", report, [report], card)
    record_decision(brief, lifecycle, as_held, attempt, site, verdict, f"update-{number}")
    return verdict


def hold_change_gate(
    brief: ProjectBrief,
    lifecycle: LoadedLifecycle,
    stage: Stage,
    attempt: int,
    stage_run_id: int,
    gate_key: str,
    pack: DocumentRef,
    plan: PlanFigures,
) -> Verdict:
    """Put a change request (its plan as the next baseline) to the stage's change gate and
    hold it until its approvers decide, by the same rules as any gate."""
    gate = stage.change_gate
    assert gate is not None, f"stage {stage.key} has no change gate"
    site = open_gate(brief, stage_run_id, gate_key, gate.name, kind="change")
    as_held = stage.model_copy(update={"gate": gate})
    card = scorecard(gate, brief, {pack.key}, plan)
    verdict = await_decision(site, brief, as_held, f"{gate_key}-{attempt}", pack, [pack], card)
    record_decision(brief, lifecycle, as_held, attempt, site, verdict, gate_key)
    return verdict


def record_decision(
    brief: ProjectBrief,
    lifecycle: LoadedLifecycle,
    held: Stage,
    attempt: int,
    site: GateSite,
    verdict: Verdict,
    occasion: str = "",
) -> DocumentRef:
    """Write the decision record of the gate `held` holds (a stage's own gate, or its
    exception or change gate on `occasion`): every round, every answer, the scorecard."""
    gate = held.gate
    return render_document(
        brief,
        lifecycle,
        held,
        attempt,
        f"gate-decision-{gate.key}",
        template=GATE_DECISION_TEMPLATE,
        title=f"Gate decision: {gate.name}",
        extra={"gate": gate, "rounds": gate_record(site, gate), "verdict": verdict},
        occasion=occasion,
    )


def await_decision(
    site: GateSite,
    brief: ProjectBrief,
    stage: Stage,
    prompt_prefix: str,
    pack: DocumentRef,
    documents: list[DocumentRef],
    card: dict,
) -> Verdict:
    """Notify the approvers, wait for their answers round by round, record the decision."""
    gate = stage.gate
    approvers = gate_approvers(gate, brief)
    pack_markdown = Path(pack.markdown_path).read_text(encoding="utf-8")
    round = 1
    while True:
        notify_approvers(site, brief, stage, round, pack, documents, card["must_meet"])
        emit_gate_event(
            "opened",
            site,
            once_key=f"{site.once_key}/{round}",
            payload={"round": round, "approvers": sorted(approvers)},
        )
        # The store, not this function's memory, says where the gate stands: answers
        # `pmo approve` recorded, a policy the gate-sla flow applied, and what this run
        # took through the Resume form before it was suspended.
        take_form_answer(site, brief, gate, last_pause_key(site))
        while (wait := begin_wait(site, gate, brief, round, prompt_prefix)).outcome is None:
            notice = (
                f"> **The last answer was refused:** {wait.last_refusal}\n\n"
                if wait.last_refusal
                else ""
            )
            form = answer_form(gate, sorted(approvers), notice + pack_markdown)
            response = wait_for_input(form, wait.key)
            if response is not None:
                take_form_answer(site, brief, gate, wait.key, response.model_dump())
        verdict = decide_gate(site, round, wait.outcome, gate)
        if verdict.outcome != "hold":
            return verdict
        round += 1


def take_form_answer(
    site: GateSite,
    brief: ProjectBrief,
    gate: Gate,
    key: str | None,
    given: dict | None = None,
) -> None:
    """Hand what an approver gave through the Resume form at pause `key` to the store's
    judge (once: the pause key is the answer's key), then forget it in Prefect."""
    if key is None or (given := given or input_left_at(key)) is None:
        return
    scores, checks = scores_given(gate, given)
    answer = Answer(
        approver=str(given.get("approver", "")),
        decision=str(given.get("decision", "")),
        code=str(given.get("code", "")),
        comment=str(given.get("comment", "")),
        conditions=str(given.get("conditions", "")),
        scores=scores,
        checks=checks,
    )
    record_gate_answer(site, brief, gate, key, answer)
    forget_input(key)
