"""What a person waits for at the command line: an answer to a gate and a status update,
judged and recorded by the store in one transaction, then the run's pause woken.

`pmo approve` and `pmo status` import this module and not Prefect: the store records, and
the events and the wake go to Prefect's REST API as plain requests (`pmo.runtime.rest`),
so the command returns within a second with what was recorded, or the refusal. Nothing
here waits for the run to move on.
"""

import dataclasses
from dataclasses import dataclass
from functools import partial
from uuid import UUID, uuid4

from flows.waking import wake_pause
from pmo.brief import ProjectBrief
from pmo.control.reporting import record_update
from pmo.control.updates import StatusUpdate
from pmo.errors import PmoInputError, ResponseRefused, StatusRefused
from pmo.gates.answers import CLI, gate_site, gate_stage, record_answer, waiting_approvers
from pmo.gates.events import answer_events, answer_payload
from pmo.gates.links import flow_run_url
from pmo.gates.rules import Answer, scoring_problem
from pmo.runtime.connection import AccessRefused, ServerUnreachable, rest_api
from pmo.runtime.rest import RestRuns, post_events
from pmo.store import session_scope
from pmo.store.lifecycles import lifecycle_for
from pmo.store.models import EvmSnapshot, GateDecision, StatusUpdateRecord
from pmo.store.records import gate_for_run, gate_waits_at, project_for_run, stage_waits_at
from pmo.store.reporting import latest_stage_run, snapshot_of
from process_library.schema import Lifecycle, checked_email


def pinned_lifecycle(session, stage_run) -> Lifecycle:
    """The lifecycle version the stage attempt runs under (a gate keeps its rules)."""
    return lifecycle_for(session, stage_run=stage_run)


@dataclass(frozen=True)
class Submitted:
    """An answer `pmo approve` had recorded: the gate, the round's outcome if this answer
    decided it (the run was woken to act on it), and who must still answer otherwise."""

    gate: str
    project: str
    outcome: str | None
    waiting_for: list[str]
    woken: bool
    url: str
    # Why Prefect's API could not be told (the answer stands; gate-sla wakes the run).
    unreachable: str | None = None


def waiting_gate(session, run_id: str):
    """The project, stage run and gate that run `run_id` waits at, or a clear refusal."""
    try:
        UUID(run_id)
    except ValueError:
        raise PmoInputError("RUN_ID", f"'{run_id}' is not a run id") from None
    found = gate_for_run(session, flow_run_id=run_id)
    if found is not None:
        return found
    if (project := project_for_run(session, flow_run_id=run_id)) is None:
        raise PmoInputError("RUN_ID", f"no lifecycle run {run_id} is known to this PMO")
    raise PmoInputError(
        "RUN_ID",
        f"run {run_id} ({project.key}) is not waiting at a gate: the project is {project.status}"
        + (f", at {project.current_stage}" if project.current_stage else ""),
    )


def submit_answer(run_id: str, answer: Answer) -> Submitted:
    """Have the store judge and record an answer to the gate the run waits at; when it
    decides the round, wake the run to act on it. Returns at once with what was recorded.

    A refused answer is recorded as refused (and announced as a `pmo.gate.refused` event)
    and raises ResponseRefused; it never reaches the run.
    """
    approver = email_of_as(answer.approver)
    answer = dataclasses.replace(answer, approver=approver)
    response_key = f"{CLI}-{uuid4()}"
    with session_scope() as session:
        project, stage_run, gate = waiting_gate(session, run_id)
        brief = ProjectBrief.model_validate(project.brief)
        definition = gate_stage(pinned_lifecycle(session, stage_run), stage_run, gate).gate
        if problem := scoring_problem(definition, answer.scores, answer.checks):
            kind, message = problem
            raise ResponseRefused(f"--{kind}", message)  # nothing recorded: a typing slip
        recorded = record_answer(
            session,
            gate_id=gate.id,
            definition=definition,
            brief=brief,
            response_key=response_key,
            answer=answer,
            channel=CLI,
            flow_run_id=run_id,
        )
        site = gate_site(project, stage_run, gate)
        row = session.get(GateDecision, recorded.decision_id)
        payload, locked_at = answer_payload(row, row.round), gate.locked_at
        waiting = waiting_approvers(session, gate=gate, definition=definition, brief=brief)
        gate_id, gate_name = gate.id, gate.gate_name
    events = answer_events(
        site, recorded, payload=payload, locked_at=locked_at, once_key=response_key
    )
    woken, unreachable = False, None
    try:
        with rest_api() as api:
            post_events(api, events)
            if recorded.refusal is None and recorded.outcome and recorded.waiting_key:
                woken = wake_pause(
                    RestRuns(api), run_id, recorded.waiting_key, lambda: gate_waits_at(gate_id)
                )
    except (ServerUnreachable, AccessRefused) as away:
        # Recorded all the same: the gate-sla sweep wakes a run whose gate is decided
        # but that still waits at it, once Prefect answers again.
        unreachable = str(away)
    if recorded.refusal is not None:
        raise ResponseRefused(f"gate '{gate_name}'", f"answer refused: {recorded.refusal.message}")
    return Submitted(
        gate_name,
        project.key,
        recorded.outcome,
        waiting,
        woken,
        flow_run_url(run_id),
        unreachable,
    )


def email_of_as(value: str) -> str:
    """The address given with `--as`, checked like every address we accept."""
    try:
        return checked_email(value)
    except ValueError as exc:
        raise PmoInputError("--as", str(exc)) from None


@dataclass(frozen=True)
class StatusTaken:
    """A status update the store recorded, with the figures computed at recording."""

    project: str
    stage: str
    number: int
    figures: EvmSnapshot
    complete: bool
    url: str
    unreachable: str | None = None  # why the run could not be woken (the update stands)


def _reporting_stage(session, run_id: str):
    """The project, stage run and stage definition of a run taking status updates, or a
    clear refusal naming why it is not."""
    project = project_of_run(session, run_id)
    stage_run = latest_stage_run(session, project=project)
    if project.status != "active" or stage_run is None or stage_run.status != "reporting":
        where = f"at {stage_run.stage_name} ({stage_run.status})" if stage_run else "starting"
        raise StatusRefused(
            "RUN_ID",
            f"{project.key} is not in a stage taking status updates: it is {project.status}, "
            f"{where}",
        )
    return project, stage_run, pinned_lifecycle(session, stage_run).stage(stage_run.stage_key)


def submit_status_update(run_id: str, update: StatusUpdate) -> StatusTaken:
    """Have the store judge and record a status update for the stage the run reports in,
    with its earned value, then wake the run to report on it. Returns at once with the
    figures; a refused update raises StatusRefused and records nothing."""
    with session_scope() as session:
        project, stage_run, stage = _reporting_stage(session, run_id)
        recorded = record_update(
            session,
            stage_run_id=stage_run.id,
            stage=stage,
            update=update,
            response_key=f"{CLI}-{uuid4()}",
            channel=CLI,
        )
        row = session.get(StatusUpdateRecord, recorded.update_id)
        figures = snapshot_of(session, update=row)
        session.expunge(figures)
        key, stage_name, stage_run_id = project.key, stage_run.stage_name, stage_run.id
        complete = row.complete
    wake = wake_stage(run_id, recorded.waiting_key, stage_run_id)
    return StatusTaken(
        key, stage_name, recorded.number, figures, complete, flow_run_url(run_id), wake.unreachable
    )


@dataclass(frozen=True)
class Wake:
    """What waking a run came to: woken or not, or why Prefect could not be asked (what
    was recorded stands, and the gate-sla sweep wakes the run once Prefect answers)."""

    woken: bool
    unreachable: str | None = None


def wake_stage(run_id: str, waiting_key: str | None, stage_run_id: int) -> Wake:
    """Wake the pause the stage waits at, if it waits: what a channel does after the store
    recorded a plan, a change request or a status update."""
    if waiting_key is None:
        return Wake(False)
    waiting_at = partial(stage_waits_at, stage_run_id)
    try:
        with rest_api() as api:
            return Wake(wake_pause(RestRuns(api), run_id, waiting_key, waiting_at))
    except (ServerUnreachable, AccessRefused) as away:
        return Wake(False, str(away))


def project_of_run(session, run_id: str):
    """The project whose lifecycle run is `run_id`, or a clear refusal naming RUN_ID."""
    try:
        UUID(run_id)
    except ValueError:
        raise PmoInputError("RUN_ID", f"'{run_id}' is not a run id") from None
    if (project := project_for_run(session, flow_run_id=run_id)) is None:
        raise PmoInputError("RUN_ID", f"no lifecycle run {run_id} is known to this PMO")
    return project
