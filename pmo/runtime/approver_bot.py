"""An approver who answers gates through the Prefect API, exactly as the Resume form does
(and, given a reporter, a project manager who submits status updates the same way).

`pmo demo` uses it to play every approver of the example project; tests use it to drive
lifecycles. It reads each approver's code from the email they were sent (the outbox, or
another mailbox it is given), never from the store, which keeps only hashes.
"""

import contextvars
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from uuid import UUID

from prefect import get_client
from prefect.exceptions import ObjectNotFound

from pmo.brief import ProjectBrief
from pmo.control.planning import WAITING
from pmo.control.reporting import measured_against
from pmo.control.updates import StatusUpdate, as_run_input
from pmo.gates.answers import gate_stage, waiting_approvers
from pmo.gates.rules import Answer
from pmo.mail import read_outbox
from pmo.plan.model import Plan
from pmo.store import session_scope
from pmo.store.lifecycles import lifecycle_for
from pmo.store.models import StageRun
from pmo.store.records import gate_for_run, project_for_run
from pmo.store.reporting import latest_stage_run, status_updates

CODE_LINE = re.compile(r"^Approval code: (\S+)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class GateTurn:
    """The gate a run waits at and the approver whose turn it is."""

    run_id: str
    project_key: str
    stage_key: str
    gate_key: str
    attempt: int
    round: int
    approver: str
    code: str
    kind: str = "stage"  # or "exception": a gate a tolerance breach opened


# Chooses (decision, comment, conditions) for an approver at a gate.
Decider = Callable[[GateTurn], tuple[str, str, str]]
# Gives an approver's (scores, yes/no) at a gate, by criterion key: see Gate.scored/judged.
Scorer = Callable[[GateTurn], tuple[dict[str, int], dict[str, bool]]]


@dataclass(frozen=True)
class StatusTurn:
    """A run waiting for the project manager's status update number `number`."""

    run_id: str
    project_key: str
    stage_key: str
    attempt: int
    number: int
    packages: list[str]


# Gives the project manager's update for a turn (progress keyed by package name), or None
# while they are not ready to report.
Reporter = Callable[[StatusTurn], StatusUpdate | None]
# The mail the approvers have received so far, oldest first.
Mailbox = Callable[[], list[EmailMessage]]


def next_status_turn(run_id: str) -> StatusTurn | None:
    """The status update the run waits for, if it is in a reporting stage."""
    with session_scope() as session:
        project = project_for_run(session, flow_run_id=run_id)
        stage_run = latest_stage_run(session, project=project) if project else None
        if stage_run is None or stage_run.status != "reporting":
            return None
        taken = len(status_updates(session, stage_run=stage_run))
        baseline = measured_against(session, project=project)
        return StatusTurn(
            run_id,
            project.key,
            stage_run.stage_key,
            stage_run.attempt,
            taken + 1,
            list(baseline.schedule.packages),
        )


def approve_everything(turn: GateTurn) -> tuple[str, str, str]:
    return "go", f"Reviewed the gate pack for {turn.gate_key}; criteria met.", ""


def code_from_outbox(gate_ref: str, approver: str, mailbox: Mailbox = read_outbox) -> str | None:
    """The newest approval code mailed to `approver` for `gate_ref` (`KEY/stage/n/gate/round`)."""
    code = None
    for message in mailbox():
        if message["X-PMO-Gate"] != gate_ref or approver not in str(message["To"]).lower():
            continue
        if found := CODE_LINE.search(message.get_body(("plain",)).get_content()):
            code = found.group(1)
    return code


def next_turn(run_id: str, mailbox: Mailbox = read_outbox) -> GateTurn | None:
    """Who should answer next at the gate this run waits at, with their mailed code; the
    gate's rules are those of the lifecycle version its stage runs under."""
    with session_scope() as session:
        found = gate_for_run(session, flow_run_id=run_id)
        if found is None:
            return None
        project, stage_run, gate = found
        brief = ProjectBrief.model_validate(project.brief)
        stage = gate_stage(lifecycle_for(session, stage_run=stage_run), stage_run, gate)
        waiting = waiting_approvers(session, gate=gate, definition=stage.gate, brief=brief)
        attempt = session.get(StageRun, gate.stage_run_id).attempt
    for approver in waiting:
        gate_ref = f"{project.key}/{stage.key}/{attempt}/{gate.gate_key}/{gate.round}"
        code = code_from_outbox(gate_ref, approver, mailbox)
        if code:
            return GateTurn(
                run_id,
                project.key,
                stage.key,
                gate.gate_key,
                attempt,
                gate.round,
                approver,
                code,
                gate.kind,
            )
    return None


@dataclass(frozen=True)
class PlanTurn:
    """The plan a run waits for at a stage that takes one (its `waits`-th wait there)."""

    run_id: str
    project_key: str
    stage_key: str
    attempt: int
    wait: int


# Gives the project manager's plan for a turn, and the activities they confirm done.
Planner = Callable[[PlanTurn], tuple[Plan, list[str]]]
# Gives a change request (the changed plan and why) to make before a status turn, if any.
ChangeRequester = Callable[[StatusTurn], tuple[Plan, str] | None]


def next_plan_turn(run_id: str) -> PlanTurn | None:
    """The plan the run waits for, if it waits for one."""
    with session_scope() as session:
        project = project_for_run(session, flow_run_id=run_id)
        stage_run = latest_stage_run(session, project=project) if project else None
        if stage_run is None or stage_run.status != WAITING or stage_run.waiting_key is None:
            return None
        return PlanTurn(
            run_id, project.key, stage_run.stage_key, stage_run.attempt, stage_run.waits
        )


@dataclass
class ApproverBot:
    """Answers the gates of one run in a background thread until stopped."""

    run_id: Callable[[], str | None]
    decide: Decider = approve_everything
    report: Reporter | None = None
    plan: Planner | None = None
    change: ChangeRequester | None = None
    score: Scorer | None = None
    mailbox: Mailbox = read_outbox
    poll_seconds: float = 0.2
    answered: list[GateTurn] = field(default_factory=list)
    reported: list[StatusTurn] = field(default_factory=list)
    planned: list[PlanTurn] = field(default_factory=list)
    changed: list[StatusTurn] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        # Prefect's settings (the API URL) live in context variables, which a new thread
        # does not inherit: run the loop in a copy of the creator's context.
        context = contextvars.copy_context()
        self._thread = threading.Thread(
            target=context.run, args=(self._loop,), name="approver-bot", daemon=True
        )

    def start(self) -> "ApproverBot":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _loop(self) -> None:
        with get_client(sync_client=True) as client:
            while not self._stop.wait(self.poll_seconds):
                run_id = self.run_id()
                if run_id is None:
                    continue
                try:
                    run = client.read_flow_run(UUID(run_id))
                except ObjectNotFound:
                    continue
                if not (run.state and run.state.is_paused()):
                    continue
                turn = next_turn(run_id, self.mailbox)
                if turn is None:
                    self._report(client, run_id)
                    self._submit_plan(client, run_id)
                    continue
                decision, comment, conditions = self.decide(turn)
                scores, checks = self.score(turn) if self.score else ({}, {})
                answer = Answer(
                    turn.approver, decision, turn.code, comment, conditions, scores, checks
                )
                client.resume_flow_run(run.id, run_input=answer.as_run_input())
                self.answered.append(turn)

    def _report(self, client, run_id: str) -> None:
        """Submit the project manager's next update, as `pmo status` and the form do."""
        status = next_status_turn(run_id) if self.report else None
        if status is None or any(t == status for t in self.reported):
            return
        if self.change and status not in self.changed and (asked := self.change(status)):
            # As `pmo change` does: recorded by the store's judge, then the run is woken
            # to put it to the change gate; the update waits for the next turn.
            from pmo.runtime.runs import submit_change

            plan, reason = asked
            submit_change(run_id, plan, reason=reason)
            self.changed.append(status)
            return
        update = self.report(status)
        if update is None:  # the project manager is not ready to report yet
            return
        run_input = as_run_input(update, status.packages)
        client.resume_flow_run(UUID(run_id), run_input=run_input)
        self.reported.append(status)

    def _submit_plan(self, client, run_id: str) -> None:
        """Submit the project manager's plan through the Resume form, as the UI does."""
        turn = next_plan_turn(run_id) if self.plan else None
        if turn is None or turn in self.planned:
            return
        plan, confirmed = self.plan(turn)
        run_input = {"plan_yaml": plan.to_yaml(), "confirmed_activities": confirmed}
        client.resume_flow_run(UUID(run_id), run_input=run_input)
        self.planned.append(turn)
