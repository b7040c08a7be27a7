"""Lifecycle runs on a Prefect server: start one, list its open gates, answer a gate.

The CLI's commands call these; they talk to `PREFECT_API_URL` when it is set and to the
server `pmo up` runs otherwise.
"""

import dataclasses
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from uuid import UUID, uuid4

import httpx
from prefect import get_client
from prefect.client.schemas.responses import SetStateStatus
from prefect.deployments import run_deployment
from prefect.exceptions import ObjectNotFound
from prefect.settings import PREFECT_API_URL, temporary_settings

from flows.deployments import LIFECYCLE_DEPLOYMENT
from pmo.brief import ProjectBrief, load_brief
from pmo.control.reporting import judge_update
from pmo.control.updates import StatusUpdate, as_run_input, work_packages
from pmo.errors import (
    BriefError,
    PmoInputError,
    ResponseRefused,
    ServiceUnavailable,
    StatusRefused,
)
from pmo.gates.answers import (
    claim_code,
    end_resume_turn,
    gate_site,
    gate_stage,
    judge_answer,
    record_answer,
    release_code,
    renew_codes,
    take_resume_turn,
    waiting_approvers,
)
from pmo.gates.events import answer_payload, emit_gate_event
from pmo.gates.links import flow_run_url
from pmo.gates.rules import Answer, Refusal
from pmo.gates.sla import gate_due
from pmo.settings import get_settings
from pmo.store import session_scope
from pmo.store.models import EvmSnapshot, Gate, GateDecision, Project, utcnow
from pmo.store.records import (
    gate_decisions,
    gate_for_run,
    get_project,
    open_gates,
    project_for_run,
)
from pmo.store.reporting import latest_stage_run, snapshot_of, update_by_submission
from process_library.loader import load_lifecycle
from process_library.schema import Lifecycle, checked_email


class ServerUnreachable(ServiceUnavailable):
    """The Prefect API did not answer."""


@contextmanager
def prefect_api() -> Iterator[str]:
    """Talk to Prefect's configured API, or to the local server `pmo up` runs."""
    url = PREFECT_API_URL.value() or get_settings().default_api_url
    with temporary_settings(updates={PREFECT_API_URL: url}):
        try:
            yield url
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise ServerUnreachable(
                f"cannot reach the Prefect API at {url} ({exc}); start it with `pmo up` "
                "or set PREFECT_API_URL"
            ) from None


@dataclass(frozen=True)
class StartedRun:
    run_id: str
    url: str


def start_lifecycle(brief_path: Path, lifecycle: str) -> StartedRun:
    """Start the `project-lifecycle` deployment for a brief, after checking the brief."""
    brief = load_brief(brief_path)
    loaded = load_lifecycle(lifecycle)
    brief.check_against(loaded.lifecycle.tailored_for(brief.tier), source=str(brief_path))
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


def _pinned_lifecycle(project: Project) -> Lifecycle:
    return Lifecycle.model_validate(project.lifecycle_definition)


def list_open_gates() -> list[OpenGate]:
    """Every gate waiting for answers, with who must still answer."""
    gates = []
    with session_scope() as session:
        for project, stage_run, gate in open_gates(session):
            brief = ProjectBrief.model_validate(project.brief)
            stage = gate_stage(_pinned_lifecycle(project), stage_run, gate)
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
    gate: str
    project: str
    recorded: bool
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


def submit_answer(run_id: str, answer: Answer, wait_seconds: float = 20) -> Submitted:
    """Check an answer against the gate the run waits at, then resume the run with it.

    A refused answer is recorded as refused (and announced as a `pmo.gate.refused` event)
    and never reaches the run.
    """
    approver = _email_of_as(answer.approver)
    answer = Answer(approver, answer.decision, answer.code, answer.comment, answer.conditions)
    submitted_at = utcnow()
    with session_scope() as session:
        project, stage_run, gate = _waiting_gate(session, run_id)
        brief = ProjectBrief.model_validate(project.brief)
        stage = gate_stage(_pinned_lifecycle(project), stage_run, gate)
        refusal = judge_answer(
            session, gate=gate, definition=stage.gate, brief=brief, answer=answer
        )
        if refusal is None and not claim_code(session, gate=gate, approver=approver):
            refusal = Refusal("code-used", "the approval code was already used")
        if refusal is not None:
            response_key = f"cli-{uuid4()}"
            row = record_answer(
                session,
                gate=gate,
                definition=stage.gate,
                brief=brief,
                round=gate.round,
                response_key=response_key,
                answer=answer,
                channel="cli",
                flow_run_id=run_id,
                refusal=refusal,
            )
            site = gate_site(project, stage_run, gate)
            payload, locked_at = answer_payload(row, gate.round), gate.locked_at
        gate_id, gate_name, round = gate.id, gate.gate_name, gate.round
    if refusal is not None:
        with prefect_api():
            emit_gate_event(
                "refused", site, once_key=f"{site.once_key}/{response_key}", payload=payload
            )
            if locked_at is not None and refusal.kind == "wrong-code":
                emit_gate_event(
                    "locked", site, once_key=f"{site.once_key}/{locked_at.isoformat()}", payload={}
                )
        raise ResponseRefused(f"gate '{gate_name}'", f"answer refused: {refusal.message}")
    try:
        _take_turn(gate_id, wait_seconds)
        try:
            with prefect_api():
                _resume_when_paused(run_id, answer.as_run_input(), wait_seconds)
            row = _wait_until_recorded(gate_id, round, approver, submitted_at, wait_seconds)
        finally:
            with session_scope() as session:
                end_resume_turn(session, gate_id=gate_id)
    except BaseException:
        # the answer never reached the run: the approver may submit the code again
        with session_scope() as session:
            release_code(session, gate=session.get(Gate, gate_id), approver=approver)
        raise
    if row is not None and not row.accepted:
        raise ResponseRefused(f"gate '{gate_name}'", f"answer refused: {row.refusal_reason}")
    return Submitted(gate_name, project.key, row is not None, flow_run_url(run_id))


def unlock_gate(run_id: str, by: str) -> str:
    """Unlock a gate locked by wrong codes; every approver still to answer gets a new code.

    Only the PMO contacts of the project's lifecycle may unlock.
    """
    by = _email_of_as(by)
    with session_scope() as session:
        project, stage_run, gate = _waiting_gate(session, run_id)
        lifecycle = _pinned_lifecycle(project)
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


def _take_turn(gate_id: int, wait_seconds: float) -> None:
    """Wait until no other `pmo approve` is resuming this gate's run."""
    deadline = time.monotonic() + wait_seconds
    while True:
        with session_scope() as session:
            if take_resume_turn(session, gate_id=gate_id, seconds=wait_seconds * 2):
                return
        if time.monotonic() > deadline:
            raise ServerUnreachable("another answer to this gate is still being recorded; retry")
        time.sleep(0.1)


def _resume_when_paused(run_id: str, run_input: dict, wait_seconds: float) -> None:
    # Another approver's answer may be being recorded right now; the run pauses again
    # within moments, so wait for that rather than refusing.
    deadline = time.monotonic() + wait_seconds
    with get_client(sync_client=True) as client:
        while True:
            run = client.read_flow_run(UUID(run_id))
            if run.state and run.state.is_paused():
                response = client.resume_flow_run(run.id, run_input=run_input)
                if response.status == SetStateStatus.ACCEPT:
                    return
            if time.monotonic() > deadline:
                raise PmoInputError(
                    "RUN_ID", f"run {run_id} is {run.state_name}, not waiting for input"
                )
            time.sleep(0.2)


def _wait_until_recorded(
    gate_id: int, round: int, approver: str, since: datetime, wait_seconds: float
) -> GateDecision | None:
    """The run's record of this approver's answer, once the resumed run has written it."""
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        with session_scope() as session:
            gate = session.get(Gate, gate_id)
            for row in gate_decisions(session, gate=gate, round=round, accepted=None):
                recorded_by_run = row.channel == "prefect"
                if recorded_by_run and row.approver_email == approver and row.received_at >= since:
                    session.expunge(row)
                    return row
        time.sleep(0.1)
    return None


@dataclass(frozen=True)
class StatusTaken:
    """A status update the run recorded, with its figures (None until it has)."""

    project: str
    stage: str
    number: int | None
    figures: EvmSnapshot | None
    complete: bool
    url: str


def _reporting_stage(session, run_id: str):
    """The project, stage run and stage definition of a run taking status updates, or a
    clear refusal naming why it is not."""
    try:
        UUID(run_id)
    except ValueError:
        raise PmoInputError("RUN_ID", f"'{run_id}' is not a run id") from None
    if (project := project_for_run(session, flow_run_id=run_id)) is None:
        raise PmoInputError("RUN_ID", f"no lifecycle run {run_id} is known to this PMO")
    stage_run = latest_stage_run(session, project=project)
    if project.status != "active" or stage_run is None or stage_run.status != "reporting":
        where = f"at {stage_run.stage_name} ({stage_run.status})" if stage_run else "starting"
        raise StatusRefused(
            "RUN_ID",
            f"{project.key} is not in a stage taking status updates: it is {project.status}, "
            f"{where}",
        )
    return project, stage_run, _pinned_lifecycle(project).stage(stage_run.stage_key)


def submit_status_update(
    run_id: str, update: StatusUpdate, wait_seconds: float = 30
) -> StatusTaken:
    """Check a status update against the stage the run reports in, then resume the run
    with it and wait until the run has recorded it. A refused update changes nothing."""
    with session_scope() as session:
        project, stage_run, stage = _reporting_stage(session, run_id)
        progress, _ = judge_update(
            session, project=project, stage_run=stage_run, stage=stage, update=update
        )
        packages = work_packages(ProjectBrief.model_validate(project.brief))
        key, stage_name = project.key, stage_run.stage_name
    submission = str(uuid4())
    run_input = as_run_input(dataclasses.replace(update, progress=progress), packages, submission)
    with prefect_api():
        _resume_when_paused(run_id, run_input, wait_seconds)
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        with session_scope() as session:
            row = update_by_submission(session, submission_id=submission)
            if row is not None:
                if not row.accepted:
                    raise StatusRefused(row.refusal_field or "update", row.refusal_reason or "")
                figures = snapshot_of(session, update=row)
                session.expunge(figures)
                return StatusTaken(
                    key, stage_name, row.number, figures, row.complete, flow_run_url(run_id)
                )
        time.sleep(0.1)
    return StatusTaken(key, stage_name, None, None, False, flow_run_url(run_id))
