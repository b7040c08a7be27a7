"""Lifecycle runs on a Prefect server: start one, list its open gates, answer a gate.

The CLI's commands call these; they talk to Prefect through `pmo.runtime.connection`.
"""

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from uuid import UUID, uuid4

from prefect.deployments import run_deployment
from prefect.exceptions import ObjectNotFound

from flows.deployments import LIFECYCLE_DEPLOYMENT
from flows.waiting import wake
from pmo.brief import ProjectBrief
from pmo.control.planning import (
    PlanFigures,
    PlanRefused,
    plan_figures,
    record_change,
    record_plan,
)
from pmo.control.reporting import record_update
from pmo.control.updates import StatusUpdate
from pmo.errors import (
    BriefError,
    PmoInputError,
    ResponseRefused,
    StatusRefused,
)
from pmo.gates.answers import (
    CLI,
    gate_site,
    gate_stage,
    record_answer,
    renew_codes,
    waiting_approvers,
)
from pmo.gates.events import announce_answer, answer_payload, emit_gate_event
from pmo.gates.links import flow_run_url
from pmo.gates.meetings import schedule_meeting
from pmo.gates.rules import Answer, scoring_problem
from pmo.gates.sla import gate_due
from pmo.methodology.project import load_brief_for
from pmo.plan.model import Plan
from pmo.runtime.connection import ServerUnreachable, prefect_api
from pmo.store import session_scope
from pmo.store.lifecycles import lifecycle_for
from pmo.store.models import (
    EvmSnapshot,
    Gate,
    GateDecision,
    PlanSubmission,
    StageRun,
    StatusUpdateRecord,
)
from pmo.store.records import (
    gate_for_run,
    get_project,
    open_gates,
    project_for_run,
)
from pmo.store.reporting import latest_stage_run, snapshot_of
from process_library.schema import Lifecycle, checked_email


@dataclass(frozen=True)
class StartedRun:
    run_id: str
    url: str


def start_lifecycle(brief_path: Path, lifecycle: str) -> StartedRun:
    """Start the `project-lifecycle` deployment for a brief, after checking the brief."""
    brief = load_brief_for(brief_path, lifecycle)
    with session_scope() as session:
        if (existing := get_project(session, key=brief.key)) is not None:
            raise BriefError(
                f"{brief_path}: key",
                f"project '{brief.key}' already exists (run {existing.flow_run_id})",
            )
    with prefect_api() as url:
        try:
            run = run_deployment(
                LIFECYCLE_DEPLOYMENT,
                parameters={"brief": brief.model_dump(mode="json"), "lifecycle": lifecycle},
                timeout=0,
            )
        except ObjectNotFound:
            raise ServerUnreachable(
                f"the server at {url} has no '{LIFECYCLE_DEPLOYMENT}' deployment; "
                "is `pmo up` running?"
            ) from None
        return StartedRun(str(run.id), flow_run_url(run.id))


@dataclass(frozen=True)
class OpenGate:
    run_id: str
    project: str
    stage: str
    attempt: int
    gate: str
    status: str
    round: int
    waiting_for: list[str]
    since: datetime
    due: datetime | None


def _pinned_lifecycle(session, stage_run) -> Lifecycle:
    """The lifecycle version the stage attempt runs under (a gate keeps its rules)."""
    return lifecycle_for(session, stage_run=stage_run)


def list_open_gates() -> list[OpenGate]:
    """Every gate waiting for answers, with who must still answer."""
    gates = []
    with session_scope() as session:
        for project, stage_run, gate in open_gates(session):
            brief = ProjectBrief.model_validate(project.brief)
            stage = gate_stage(_pinned_lifecycle(session, stage_run), stage_run, gate)
            gates.append(
                OpenGate(
                    run_id=gate.flow_run_id or "",
                    project=project.key,
                    stage=stage_run.stage_name,
                    attempt=stage_run.attempt,
                    gate=gate.gate_name,
                    status="locked" if gate.locked_at else gate.status,
                    round=gate.round,
                    waiting_for=waiting_approvers(
                        session, gate=gate, definition=stage.gate, brief=brief
                    ),
                    since=gate.opened_at,
                    due=gate_due(gate, stage.gate),
                )
            )
    return gates


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


def _waiting_gate(session, run_id: str):
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
    approver = _email_of_as(answer.approver)
    answer = dataclasses.replace(answer, approver=approver)
    response_key = f"{CLI}-{uuid4()}"
    with session_scope() as session:
        project, stage_run, gate = _waiting_gate(session, run_id)
        brief = ProjectBrief.model_validate(project.brief)
        definition = gate_stage(_pinned_lifecycle(session, stage_run), stage_run, gate).gate
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
    with prefect_api():
        announce_answer(site, recorded, payload=payload, locked_at=locked_at, once_key=response_key)
        if recorded.refusal is not None:
            raise ResponseRefused(
                f"gate '{gate_name}'", f"answer refused: {recorded.refusal.message}"
            )
        woken = False
        if recorded.outcome is not None and recorded.waiting_key is not None:
            woken = wake(run_id, recorded.waiting_key, lambda: _gate_waits_at(gate_id))
    return Submitted(gate_name, project.key, recorded.outcome, waiting, woken, flow_run_url(run_id))


def _gate_waits_at(gate_id: int) -> str | None:
    with session_scope() as session:
        return session.get(Gate, gate_id).waiting_key


def unlock_gate(run_id: str, by: str) -> str:
    """Unlock a gate locked by wrong codes; every approver still to answer gets a new code.

    Only the PMO contacts of the project's lifecycle may unlock.
    """
    by = _email_of_as(by)
    with session_scope() as session:
        project, stage_run, gate = _waiting_gate(session, run_id)
        lifecycle = _pinned_lifecycle(session, stage_run)
        if by not in lifecycle.pmo_contacts:
            raise PmoInputError(
                "--as", f"{by} is not a PMO contact of lifecycle '{lifecycle.name}'"
            )
        if gate.locked_at is None:
            raise PmoInputError("RUN_ID", f"gate '{gate.gate_name}' of {project.key} is not locked")
        stage = gate_stage(lifecycle, stage_run, gate)
        reissue = f"reissue-{gate.locked_at.strftime('%Y%m%dT%H%M%S%f')}"
        gate.locked_at, gate.wrong_codes = None, 0
        renew_codes(
            session,
            project=project,
            stage_run=stage_run,
            gate=gate,
            definition=stage,
            why="unlocked",
            purpose=reissue,
        )
        site = gate_site(project, stage_run, gate)
        gate_name = gate.gate_name
    with prefect_api():
        emit_gate_event("unlocked", site, once_key=f"{site.once_key}/{reissue}", payload={"by": by})
    return gate_name


def _email_of_as(value: str) -> str:
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


def _reporting_stage(session, run_id: str):
    """The project, stage run and stage definition of a run taking status updates, or a
    clear refusal naming why it is not."""
    project = _project_of_run(session, run_id)
    stage_run = latest_stage_run(session, project=project)
    if project.status != "active" or stage_run is None or stage_run.status != "reporting":
        where = f"at {stage_run.stage_name} ({stage_run.status})" if stage_run else "starting"
        raise StatusRefused(
            "RUN_ID",
            f"{project.key} is not in a stage taking status updates: it is {project.status}, "
            f"{where}",
        )
    return project, stage_run, _pinned_lifecycle(session, stage_run).stage(stage_run.stage_key)


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
    _wake_stage(run_id, recorded.waiting_key, stage_run_id)
    return StatusTaken(key, stage_name, recorded.number, figures, complete, flow_run_url(run_id))


def _stage_waits_at(stage_run_id: int) -> str | None:
    with session_scope() as session:
        return session.get(StageRun, stage_run_id).waiting_key


def _wake_stage(run_id: str, waiting_key: str | None, stage_run_id: int) -> bool:
    """Wake the pause the stage waits at, if it waits: what a channel does after the store
    recorded a plan, a change request or a status update. Whether the run was woken."""
    if waiting_key is None:
        return False
    with prefect_api():
        return wake(run_id, waiting_key, lambda: _stage_waits_at(stage_run_id))


def _project_of_run(session, run_id: str):
    """The project whose lifecycle run is `run_id`, or a clear refusal naming RUN_ID."""
    try:
        UUID(run_id)
    except ValueError:
        raise PmoInputError("RUN_ID", f"'{run_id}' is not a run id") from None
    if (project := project_for_run(session, flow_run_id=run_id)) is None:
        raise PmoInputError("RUN_ID", f"no lifecycle run {run_id} is known to this PMO")
    return project


@dataclass(frozen=True)
class PlanTaken:
    """A plan the store recorded for the stage that waits for it, with its figures."""

    project: str
    stage: str
    figures: PlanFigures
    plan_hash: str
    woken: bool
    url: str
    gate_key: str | None = None  # the change gate a change request opened


def submit_plan(
    run_id: str, plan: Plan, *, by: str | None = None, confirmed: list[str] | None = None
) -> PlanTaken:
    """Have the store judge and record the project manager's plan for the stage that waits
    for it, then wake the run. A refused plan raises and records nothing."""
    submitted_by = _email_of_as(by) if by is not None else None
    with session_scope() as session:
        project, stage_run, stage = _run_stage(session, run_id)
        recorded = record_plan(
            session,
            stage_run_id=stage_run.id,
            stage=stage,
            plan=plan,
            response_key=f"{CLI}-{uuid4()}",
            channel=CLI,
            confirmed_activities=confirmed or [],
            submitted_by=submitted_by or project.project_manager_email,
        )
        brief = ProjectBrief.model_validate(project.brief)
        figures = plan_figures(plan, brief)
        key, stage_name, stage_run_id = project.key, stage_run.stage_name, stage_run.id
    woken = _wake_stage(run_id, recorded.waiting_key, stage_run_id)
    return PlanTaken(key, stage_name, figures, plan.content_hash(), woken, flow_run_url(run_id))


def _run_stage(session, run_id: str):
    """The project, latest stage run and its stage definition of run `run_id`."""
    project = _project_of_run(session, run_id)
    stage_run = latest_stage_run(session, project=project)
    if project.status != "active" or stage_run is None:
        raise PlanRefused("RUN_ID", f"{project.key} is {project.status}: it takes no plan")
    return project, stage_run, _pinned_lifecycle(session, stage_run).stage(stage_run.stage_key)


def submit_change(run_id: str, plan: Plan, *, reason: str, by: str | None = None) -> PlanTaken:
    """Have the store judge and record a change request for the stage the run reports in,
    then wake the run to put it to the stage's change gate. A refused request raises and
    records nothing."""
    submitted_by = _email_of_as(by) if by is not None else None
    with session_scope() as session:
        project, stage_run, stage = _run_stage(session, run_id)
        recorded = record_change(
            session,
            stage_run_id=stage_run.id,
            stage=stage,
            plan=plan,
            reason=reason,
            response_key=f"{CLI}-{uuid4()}",
            channel=CLI,
            submitted_by=submitted_by or project.project_manager_email,
        )
        gate_key = session.get(PlanSubmission, recorded.submission_id).gate_key
        figures = plan_figures(plan, ProjectBrief.model_validate(project.brief))
        key, stage_name, stage_run_id = project.key, stage_run.stage_name, stage_run.id
    woken = _wake_stage(run_id, recorded.waiting_key, stage_run_id)
    return PlanTaken(
        key, stage_name, figures, plan.content_hash(), woken, flow_run_url(run_id), gate_key
    )


@dataclass(frozen=True)
class Scheduled:
    """A gate meeting set or moved: the gate, when, and who got an invitation now."""

    gate: str
    project: str
    starts_at: datetime
    minutes: int
    sequence: int
    invited: list[str]


def schedule_gate_meeting(run_id: str, at: datetime, by: str) -> Scheduled:
    """Set the review meeting of the gate the run waits at (a gate whose lifecycle asks
    for one) and send the invitations, or an update when the time moves. PMO contacts only."""
    by = _email_of_as(by)
    with session_scope() as session:
        project, stage_run, gate = _waiting_gate(session, run_id)
        lifecycle = _pinned_lifecycle(session, stage_run)
        meeting, invited = schedule_meeting(
            session,
            project=project,
            gate=gate,
            stage=gate_stage(lifecycle, stage_run, gate),
            lifecycle=lifecycle,
            at=at,
            by=by,
        )
        return Scheduled(
            gate.gate_name,
            project.key,
            meeting.starts_at,
            meeting.minutes,
            meeting.sequence,
            invited,
        )
