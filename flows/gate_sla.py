"""`gate-sla`: on a schedule, remind, escalate and apply timeout policies at due gates."""

from datetime import datetime
from functools import partial

from prefect import flow, get_run_logger

from flows.waiting import paused_at_since, wake
from pmo.gates.events import emit_gate_event
from pmo.gates.sla import SlaAction, check_gate_slas, check_status_updates
from pmo.mail import send_queued_mail
from pmo.store import session_scope
from pmo.store.models import utcnow
from pmo.store.records import gate_waits_at, stage_waits_at, stage_waits_with_input


@flow(name="gate-sla", log_prints=True)
def gate_sla(as_of: datetime | None = None) -> list[str]:
    """Send the mail that waited for the SMTP server; remind approvers of gates past their
    reminder time, escalate gates past their SLA to the lifecycle's escalation contacts,
    and apply a gate's timeout policy; wake a run whose gate was decided, or whose plan or
    status update was recorded, while Prefect was unreachable; remind project managers
    whose status update is overdue.

    `as_of` checks the gates as if at that time: a PMO's drill of its escalation path."""
    if sent := send_queued_mail():
        get_run_logger().info("%d queued message(s) sent now that SMTP is back", len(sent))
    actions = check_gate_slas(now=as_of or utcnow())
    reminders = check_status_updates(now=as_of or utcnow())
    for action in actions:
        announce(action)
        if action.kind in ("decided-by-policy", "woken") and action.waiting_key is not None:
            gate_id = action.site.gate_id
            wake(action.run_id, action.waiting_key, lambda gate_id=gate_id: gate_waits_at(gate_id))
    woken = wake_stages_not_woken()
    for reminder in reminders:
        get_run_logger().info(
            "status update of %s (%s) overdue since %s: project manager reminded",
            reminder.project_key,
            reminder.stage,
            reminder.due,
        )
    return (
        [f"{a.site.project_key} {a.site.gate_name}: {a.kind} ({a.detail})" for a in actions]
        + [f"{r.project_key} {r.stage}: status-reminded (due {r.due:%Y-%m-%d})" for r in reminders]
        + woken
    )


def wake_stages_not_woken() -> list[str]:
    """Wake each run that waits for a plan or status update recorded after it paused:
    the channel that recorded it could not reach Prefect to wake it then."""
    with session_scope() as session:
        waits = stage_waits_with_input(session)
    woken = []
    for wait in waits:
        if not wait.run_id or not paused_at_since(wait.run_id, wait.key, wait.latest_input):
            continue  # the run has moved since
        wake(wait.run_id, wait.key, partial(stage_waits_at, wait.stage_run_id))
        get_run_logger().info(
            "woken at %s (%s): what it waits for was recorded at %s",
            wait.stage_name,
            wait.project_key,
            wait.latest_input,
        )
        woken.append(f"{wait.project_key} {wait.stage_name}: woken (recorded {wait.latest_input})")
    return woken


def announce(action: SlaAction) -> None:
    """Escalations and policy decisions become events; a reminder is only a log line."""
    logger = get_run_logger()
    logger.info(
        "%s at %s (%s): %s",
        action.kind,
        action.site.gate_name,
        action.site.project_key,
        action.detail,
    )
    if action.kind == "escalated":
        emit_gate_event(
            "escalated",
            action.site,
            once_key=f"{action.site.once_key}/{action.round}",
            payload={"round": action.round, "waiting_for": action.detail},
        )
