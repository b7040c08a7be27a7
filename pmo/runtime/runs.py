"""Lifecycle runs on a Prefect server: start one, list its open gates, unlock a gate,
take a plan or a change request, set a gate's meeting.

The CLI's commands call these; they talk to Prefect through `pmo.runtime.connection`.
Answers and status updates, which a person waits for, are `pmo.runtime.answering`.
"""

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from uuid import uuid4

from prefect.deployments import run_deployment
from prefect.exceptions import ObjectNotFound

from flows.deployments import LIFECYCLE_DEPLOYMENT
from pmo.brief import ProjectBrief
from pmo.control.planning import PlanFigures, PlanRefused, plan_figures, record_change, record_plan
from pmo.errors import BriefError, PmoInputError
from pmo.gates.answers import CLI, gate_site, gate_stage, renew_codes, waiting_approvers
from pmo.gates.events import emit_gate_event
from pmo.gates.links import flow_run_url
from pmo.gates.meetings import schedule_meeting
from pmo.gates.sla import gate_due
from pmo.methodology.project import load_brief_for
from pmo.plan.model import Plan
from pmo.runtime.answering import (
    email_of_as,
    pinned_lifecycle,
    project_of_run,
    waiting_gate,
    wake_stage,
)
from pmo.runtime.connection import ServerUnreachable, prefect_api
from pmo.store import session_scope
from pmo.store.models import PlanSubmission
from pmo.store.records import get_project, open_gates
from pmo.store.reporting import latest_stage_run


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


def list_open_gates() -> list[OpenGate]:
    """Every gate waiting for answers, with who must still answer."""
    gates = []
    with session_scope() as session:
        for project, stage_run, gate in open_gates(session):
            brief = ProjectBrief.model_validate(project.brief)
            stage = gate_stage(pinned_lifecycle(session, stage_run), stage_run, gate)
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


def unlock_gate(run_id: str, by: str) -> str:
    """Unlock a gate locked by wrong codes; every approver still to answer gets a new code.

    Only the PMO contacts of the project's lifecycle may unlock.
    """
    by = email_of_as(by)
    with session_scope() as session:
        project, stage_run, gate = waiting_gate(session, run_id)
        lifecycle = pinned_lifecycle(session, stage_run)
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
    unreachable: str | None = None  # why the run could not be woken (the plan stands)


def submit_plan(
    run_id: str, plan: Plan, *, by: str | None = None, confirmed: list[str] | None = None
) -> PlanTaken:
    """Have the store judge and record the project manager's plan for the stage that waits
    for it, then wake the run. A refused plan raises and records nothing."""
    submitted_by = email_of_as(by) if by is not None else None
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
        where = (project.key, stage_run.stage_name, stage_run.id)
    return _woken(run_id, where, figures, plan, recorded.waiting_key)


def _woken(
    run_id: str,
    where: tuple[str, str, int],
    figures: PlanFigures,
    plan: Plan,
    waiting_key: str | None,
    gate_key: str | None = None,
) -> PlanTaken:
    """Wake the run to take the plan just recorded for its stage attempt (`where`: the
    project's key, the stage's name and the attempt's id), and say what was taken."""
    key, stage_name, stage_run_id = where
    wake = wake_stage(run_id, waiting_key, stage_run_id)
    return PlanTaken(
        key,
        stage_name,
        figures,
        plan.content_hash(),
        wake.woken,
        flow_run_url(run_id),
        gate_key,
        wake.unreachable,
    )


def _run_stage(session, run_id: str):
    """The project, latest stage run and its stage definition of run `run_id`."""
    project = project_of_run(session, run_id)
    stage_run = latest_stage_run(session, project=project)
    if project.status != "active" or stage_run is None:
        raise PlanRefused("RUN_ID", f"{project.key} is {project.status}: it takes no plan")
    return project, stage_run, pinned_lifecycle(session, stage_run).stage(stage_run.stage_key)


def submit_change(run_id: str, plan: Plan, *, reason: str, by: str | None = None) -> PlanTaken:
    """Have the store judge and record a change request for the stage the run reports in,
    then wake the run to put it to the stage's change gate. A refused request raises and
    records nothing."""
    submitted_by = email_of_as(by) if by is not None else None
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
        where = (project.key, stage_run.stage_name, stage_run.id)
    return _woken(run_id, where, figures, plan, recorded.waiting_key, gate_key)


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
    by = email_of_as(by)
    with session_scope() as session:
        project, stage_run, gate = waiting_gate(session, run_id)
        lifecycle = pinned_lifecycle(session, stage_run)
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
