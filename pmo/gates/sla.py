"""Gates that wait too long: remind the approvers who have not answered, escalate past
the SLA, and apply the gate's timeout policy; wake a run whose gate its answers decided
while Prefect could not be reached; status updates that are overdue: remind the
project manager. The gate-sla flow runs this on a schedule.

Each step is keyed by gate and round (reminders and escalations are sent once a round,
the policy decides a round once), so running it every few minutes repeats nothing.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from pmo.brief import ProjectBrief
from pmo.gates.answers import (
    gate_site,
    gate_stage,
    lock_gate,
    record_policy_decision,
    renew_codes,
    round_outcome,
    tell_contacts,
    waiting_approvers,
)
from pmo.gates.links import flow_run_url
from pmo.gates.rules import GateSite
from pmo.store import session_scope
from pmo.store.lifecycles import lifecycle_for
from pmo.store.models import Gate, Project, StageRun
from pmo.store.records import open_gate, open_gate_ids
from pmo.store.reporting import reporting_stage_run_ids, reporting_stage_runs, status_updates
from process_library.schema import Gate as GateDefinition
from process_library.schema import Stage


@dataclass(frozen=True)
class SlaAction:
    """One thing the SLA check did at a gate."""

    site: GateSite
    run_id: str
    round: int
    kind: str  # reminded | escalated | decided-by-policy | woken
    detail: str
    waiting_key: str | None = None  # the pause a decision wakes


def gate_due(gate: Gate, definition: GateDefinition) -> datetime | None:
    """When the gate's current round passes its SLA; None when it has none or is on hold."""
    hours = definition.timing.sla_hours
    if hours is None or gate.status != "open":
        return None
    return (gate.round_opened_at or gate.opened_at) + timedelta(hours=hours)


def reminder_due(gate: Gate, definition: GateDefinition) -> datetime | None:
    """When the approvers yet to answer the gate's current round are reminded; None when
    the gate has no reminder time."""
    hours = definition.timing.remind_after_hours
    if not hours:
        return None
    return (gate.round_opened_at or gate.opened_at) + timedelta(hours=hours)


def check_gate_slas(*, now: datetime) -> list[SlaAction]:
    """Remind, escalate and apply timeout policies at every open gate that is due."""
    with session_scope() as session:
        gate_ids = open_gate_ids(session)
    actions: list[SlaAction] = []
    for gate_id in gate_ids:
        # A transaction per gate: a gate checked stays locked only while it is checked, not
        # until the sweep ends (at a thousand gates that kept every answer waiting for it),
        # and what was mailed for one gate is on record even if a later one fails.
        with session_scope() as session:
            actions += _check_gate(session, gate_id, now)
    return actions


def _check_gate(session: Session, gate_id: int, now: datetime) -> list[SlaAction]:
    found = open_gate(session, gate_id)
    if found is None or found[2].status != "open":
        return []  # decided since the sweep began, or on hold: it waits at no cost
    project, stage_run, gate = found
    lifecycle = lifecycle_for(session, stage_run=stage_run)
    stage = gate_stage(lifecycle, stage_run, gate)
    brief = ProjectBrief.model_validate(project.brief)
    if not _may_act(session, gate, stage, brief, now):
        return []
    # Under the gate's lock: an answer recorded meanwhile is seen here (its approver is not
    # reminded, its code not replaced) or sees what this check recorded.
    gate = lock_gate(session, gate.id)
    if outcome := round_outcome(
        session, gate=gate, definition=stage.gate, brief=brief, round=gate.round
    ):
        if gate.waiting_key is None or not gate.flow_run_id:
            return []  # decided by its answers; the run acts on it
        # Decided, yet the run still waits: the answering channel could not reach Prefect.
        site = gate_site(project, stage_run, gate)
        detail = f"decided '{outcome}' by its answers; the run was not woken then"
        return [SlaAction(site, gate.flow_run_id, gate.round, "woken", detail, gate.waiting_key)]
    timing = stage.gate.timing
    since = gate.round_opened_at or gate.opened_at
    due = gate_due(gate, stage.gate)
    waiting = waiting_approvers(session, gate=gate, definition=stage.gate, brief=brief)
    site = gate_site(project, stage_run, gate)
    run_id = gate.flow_run_id or ""
    actions = []

    remind = reminder_due(gate, stage.gate)
    if remind is not None and now >= remind and gate.locked_at is None:
        reminded = renew_codes(
            session,
            project=project,
            stage_run=stage_run,
            gate=gate,
            definition=stage,
            why="reminder",
            purpose="reminder",
            due=due,
        )
        if reminded:
            actions.append(SlaAction(site, run_id, gate.round, "reminded", ", ".join(reminded)))

    if due is not None and now >= due:
        policy = timing.on_timeout
        tell_contacts(
            session,
            project=project,
            contacts=lifecycle.escalation_addresses,
            occasion=f"gate-escalation:{gate.id}:{gate.round}",
            subject=f"{gate.gate_name}: past its SLA",
            template="email/gate-escalation.txt.j2",
            context={
                "gate": gate,
                "stage": stage,
                "waiting_since": since,
                "due": due,
                "waiting_for": waiting,
                "policy": policy,
                "pmo_contacts": lifecycle.pmo_contacts,
                "run_url": flow_run_url(run_id),
            },
        )
        if gate.escalated_at is None or gate.escalated_at < since:
            gate.escalated_at = now
            actions.append(
                SlaAction(site, run_id, gate.round, "escalated", ", ".join(waiting) or "locked")
            )
        if policy is not None:
            hours = f"{timing.sla_hours:g}"
            if record_policy_decision(
                session,
                gate=gate,
                definition=stage.gate,
                brief=brief,
                decision=policy,
                reason=f"No decision within the {hours} h SLA; the gate's timeout policy "
                f"decides '{policy}'.",
            ):
                actions.append(
                    SlaAction(
                        site, run_id, gate.round, "decided-by-policy", policy, gate.waiting_key
                    )
                )
    session.flush()
    return actions


def _may_act(
    session: Session, gate: Gate, stage: Stage, brief: ProjectBrief, now: datetime
) -> bool:
    """Whether the gate is past its reminder time or SLA, or decided by its answers, as read
    without its lock: most gates are none of these, and locking each of them costs every
    sweep a write per open gate. The check under the lock decides."""
    remind, due = reminder_due(gate, stage.gate), gate_due(gate, stage.gate)
    return bool(
        (remind is not None and now >= remind)
        or (due is not None and now >= due)
        or round_outcome(session, gate=gate, definition=stage.gate, brief=brief, round=gate.round)
    )


@dataclass(frozen=True)
class StatusReminder:
    """A project manager reminded of an overdue status update."""

    project_key: str
    stage: str
    due: datetime


def status_due(stage_run: StageRun, last_update_at: datetime | None, every_days: int) -> datetime:
    """When the next status update of a reporting stage attempt is due."""
    return (last_update_at or stage_run.started_at) + timedelta(days=every_days)


def check_status_updates(*, now: datetime) -> list[StatusReminder]:
    """Remind the project manager of every reporting stage whose update is overdue past
    its grace, once per due date (a new update moves the due date on); returns the
    reminders sent now."""
    with session_scope() as session:
        stage_run_ids = reporting_stage_run_ids(session)
    reminders = []
    for stage_run_id in stage_run_ids:
        # A transaction per stage, as per gate: a reminder mailed is on record even if a
        # later stage's check fails, so the next sweep does not mail it again.
        with session_scope() as session:
            for project, stage_run in reporting_stage_runs(session, stage_run_id=stage_run_id):
                if reminder := _remind_if_overdue(session, project, stage_run, now):
                    reminders.append(reminder)
    return reminders


def _remind_if_overdue(
    session: Session, project: Project, stage_run: StageRun, now: datetime
) -> StatusReminder | None:
    lifecycle = lifecycle_for(session, stage_run=stage_run)
    reporting = lifecycle.stage(stage_run.stage_key).reporting
    if reporting is None:
        return None
    taken = status_updates(session, stage_run=stage_run, accepted=True)
    due = status_due(stage_run, taken[-1].received_at if taken else None, reporting.every_days)
    if now < due + timedelta(days=reporting.remind_after_days):
        return None
    reminded = tell_contacts(
        session,
        project=project,
        contacts=[project.project_manager_email],
        occasion=f"status-overdue:{stage_run.id}:{due.isoformat()}",
        subject=f"{stage_run.stage_name}: status update overdue since {due:%Y-%m-%d}",
        template="email/status-overdue.txt.j2",
        context={
            "stage": stage_run,
            "due": due,
            "every_days": reporting.every_days,
            "run_id": project.flow_run_id,
            "run_url": flow_run_url(project.flow_run_id or ""),
        },
    )
    session.flush()
    return StatusReminder(project.key, stage_run.stage_name, due) if reminded else None
