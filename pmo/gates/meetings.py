"""Gate meetings: a gate whose lifecycle asks for one (`meeting: {minutes: 60}`) is
reviewed in a meeting the PMO schedules (`pmo meeting RUN_ID --at ...`). Each approver
(or their delegate) gets a calendar invitation (.ics, written with `icalendar`) with
their review link; a new time sends an update (same UID, SEQUENCE + 1); the round's
decision sends a cancellation (METHOD:CANCEL). Every message is sent once per key.
"""

from datetime import datetime, timedelta

import icalendar
from sqlalchemy import select
from sqlalchemy.orm import Session

from pmo.brief import ProjectBrief
from pmo.errors import PmoInputError
from pmo.gates.delegation import active_delegation
from pmo.gates.links import review_url
from pmo.gates.rules import gate_approvers, hash_token, new_link_token
from pmo.mail import compose_message, send_once
from pmo.settings import get_settings
from pmo.store.models import Gate, GateMeeting, Project, ReviewLink, utcnow
from pmo.templating import render_text
from process_library.schema import Lifecycle, Stage


def gate_meeting(session: Session, *, gate: Gate, round: int) -> GateMeeting | None:
    return session.scalar(
        select(GateMeeting).where(GateMeeting.gate_id == gate.id, GateMeeting.round == round)
    )


def schedule_meeting(
    session: Session,
    *,
    project: Project,
    gate: Gate,
    stage: Stage,
    lifecycle: Lifecycle,
    at: datetime,
    by: str,
) -> tuple[GateMeeting, list[str]]:
    """Set (or move) the meeting of the gate's current round to `at` and invite every
    approver; returns the meeting and who was sent an invitation now. Only a PMO contact
    of the lifecycle may, only for a gate whose lifecycle asks for a meeting, only in
    the future; the same time again sends nothing."""
    if by not in lifecycle.pmo_contacts:
        raise PmoInputError("--as", f"{by} is not a PMO contact of lifecycle '{lifecycle.name}'")
    if stage.gate.meeting is None:
        raise PmoInputError(
            "RUN_ID", f"gate '{gate.gate_name}' holds no meeting in lifecycle '{lifecycle.name}'"
        )
    if at <= utcnow():
        raise PmoInputError("--at", f"{at:%Y-%m-%d %H:%M} UTC is in the past")
    meeting = gate_meeting(session, gate=gate, round=gate.round)
    if meeting is None:
        meeting = GateMeeting(
            gate_id=gate.id,
            round=gate.round,
            starts_at=at,
            minutes=stage.gate.meeting.minutes,
            sequence=0,
            set_by=by,
        )
        session.add(meeting)
    elif meeting.starts_at == at:
        return meeting, []
    else:
        meeting.starts_at, meeting.sequence, meeting.set_by = at, meeting.sequence + 1, by
        meeting.updated_at = utcnow()
    session.flush()
    brief = ProjectBrief.model_validate(project.brief)
    sent = [
        approver
        for approver in gate_approvers(stage.gate, brief)
        if _send(session, project=project, gate=gate, meeting=meeting, approver=approver)
    ]
    return meeting, sent


def cancel_meeting(
    session: Session, *, project: Project, gate: Gate, stage: Stage, round: int, outcome: str
) -> list[str]:
    """The round is decided: cancel its meeting, if one was set, with every approver
    invited; returns who was sent a cancellation now (none on a replay)."""
    meeting = gate_meeting(session, gate=gate, round=round)
    if meeting is None:
        return []
    if meeting.status != "cancelled":
        meeting.status, meeting.sequence = "cancelled", meeting.sequence + 1
        meeting.updated_at = utcnow()
        session.flush()
    brief = ProjectBrief.model_validate(project.brief)
    return [
        approver
        for approver in gate_approvers(stage.gate, brief)
        if _send(
            session,
            project=project,
            gate=gate,
            meeting=meeting,
            approver=approver,
            outcome=outcome,
        )
    ]


def _send(
    session: Session,
    *,
    project: Project,
    gate: Gate,
    meeting: GateMeeting,
    approver: str,
    outcome: str | None = None,
) -> bool:
    cancelled = meeting.status == "cancelled"
    away = active_delegation(session, approver=approver)
    recipient = away.to_email if away else approver
    token = new_link_token()
    kind = "cancel" if cancelled else f"invite-{meeting.sequence}"

    def add_link() -> None:
        if not cancelled:
            session.add(
                ReviewLink(
                    gate_id=gate.id,
                    round=meeting.round,
                    approver_email=approver,
                    delegate_email=away.to_email if away else None,
                    token_hash=hash_token(token),
                )
            )

    def compose():
        context = {
            "project": project,
            "gate": gate,
            "meeting": meeting,
            "approver": approver,
            "recipient": recipient,
            "outcome": outcome,
            "review_url": None if cancelled else review_url(token),
            "updated": meeting.sequence > 0,
        }
        body = render_text("email/gate-meeting.txt.j2", context)
        subject = (
            f"[{project.key}] {gate.gate_name}: meeting cancelled"
            if cancelled
            else f"[{project.key}] {gate.gate_name}: review meeting "
            f"{meeting.starts_at:%Y-%m-%d %H:%M} UTC"
            + (" (new time)" if context["updated"] else "")
        )
        method = "CANCEL" if cancelled else "REQUEST"
        return compose_message(
            to=[recipient],
            subject=subject,
            body=body,
            message_id_key=f"gate-meeting/{gate.id}/{meeting.round}/{approver}/{kind}",
            calendar=(_calendar(project, gate, meeting, recipient, method, body), method),
        )

    delivered = send_once(
        session,
        key=f"gate-meeting-{kind}:{gate.id}:{meeting.round}:{approver}",
        project_id=project.id,
        message=compose,
        before_delivery=add_link,
    )
    return delivered is not None


def _calendar(
    project: Project, gate: Gate, meeting: GateMeeting, attendee: str, method: str, body: str
) -> str:
    """The .ics of the meeting: one event whose UID stays the same for its updates and
    its cancellation, told apart by SEQUENCE."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//pmo-flows//gate meetings//EN")
    calendar.add("version", "2.0")
    calendar.add("method", method)
    event = icalendar.Event()
    event.add("uid", f"gate-{gate.id}-round-{meeting.round}@pmo-flows")
    event.add("sequence", meeting.sequence)
    event.add("dtstamp", utcnow())
    event.add("dtstart", meeting.starts_at)
    event.add("dtend", meeting.starts_at + timedelta(minutes=meeting.minutes))
    event.add("summary", f"{project.key}: {gate.gate_name} (gate review)")
    event.add("description", body)
    event.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    organizer = get_settings().mail_from
    address = organizer.rsplit("<", 1)[-1].rstrip(">").strip()
    event.add("organizer", f"mailto:{address}")
    event.add("attendee", f"mailto:{attendee}", parameters={"ROLE": "REQ-PARTICIPANT"})
    calendar.add_component(event)
    return calendar.to_ical().decode()
