"""Gate meetings: `pmo meeting` sends each approver an .ics invitation with their review
link, a new time an update (same UID, SEQUENCE + 1), the gate's decision a cancellation;
once each, on a replay too. Refusals in one line. On SQLite and PostgreSQL."""

from datetime import UTC, datetime, timedelta

import icalendar
import pytest
import yaml
from typer.testing import CliRunner

from pmo.cli import app
from pmo.gates.answers import gate_site
from pmo.gates.rules import hash_token
from pmo.mail import read_outbox
from pmo.store import session_scope
from pmo.store.models import Gate, Project, ReviewLink, StageRun
from process_library.loader import parse_lifecycle
from tasks.gates import decide_gate
from tests.factories import lifecycle_data, make_brief
from tests.web.pages import body_of, mailed_gate

pytestmark = pytest.mark.integration

SPONSOR, PMO, PMO_CONTACT = "dana.reyes@example.com", "pmo@example.com", "pmo-office@example.com"


def with_meeting():
    """The default lifecycle, its charter approval held in a one-hour meeting."""
    data = lifecycle_data()
    data["stages"][0]["gate"]["meeting"] = {"minutes": 60}
    return parse_lifecycle(yaml.safe_dump(data).encode(), "meeting.yaml")


def invitations() -> list[tuple[str, icalendar.Event, str, str]]:
    """(to, event, METHOD, body) of every calendar message in the outbox, oldest first."""
    found = []
    for message in read_outbox():
        for part in message.iter_attachments():
            if part.get_content_type() == "text/calendar":
                calendar = icalendar.Calendar.from_ical(part.get_content())
                [event] = calendar.walk("VEVENT")
                to = str(message["To"]).lower()
                found.append((to, event, str(calendar["METHOD"]), body_of(message)))
    return found


def meet(run_id: str, at: datetime, by: str = PMO_CONTACT):
    return CliRunner().invoke(app, ["meeting", run_id, "--at", at.isoformat(), "--as", by])


def refused(result, *words: str) -> None:
    assert result.exit_code == 2, result.output
    assert result.output.count("\n") == 1, result.output
    for word in words:
        assert word in result.output, result.output


def test_invitation_update_and_cancellation(store_url, prefect_api):
    gate = mailed_gate(make_brief(key="MEET"), lifecycle=with_meeting())
    at = (datetime.now(UTC) + timedelta(days=3)).replace(second=0, microsecond=0)
    result = meet(gate.run_id, at)
    assert result.exit_code == 0, result.output
    assert "review meeting set for" in result.output and "(60 min)" in result.output
    sent = invitations()
    assert sorted(to for to, *_ in sent) == [SPONSOR, PMO]
    to, event, method, body = sent[0]
    uid = str(event["UID"])
    assert method == "REQUEST" and int(event["SEQUENCE"]) == 0
    assert event.decoded("DTSTART") == at and event.decoded("DTEND") == at + timedelta(hours=1)
    # the review link in the invitation is the approver's own, for this round
    link = next(line for line in body.splitlines() if line.startswith("Review and decide: "))
    token = link.rsplit("/", 1)[1]
    assert token in str(event["DESCRIPTION"]).replace("\n ", "")
    with session_scope() as session:
        row = session.query(ReviewLink).filter_by(token_hash=hash_token(token)).one()
        assert (row.approver_email, row.round) == (to, 1)

    # the same time again sends nothing; a new time sends an update under the same UID
    again = meet(gate.run_id, at)
    assert again.exit_code == 0 and "nothing sent" in again.output and len(invitations()) == 2
    later = at + timedelta(hours=2)
    moved = meet(gate.run_id, later)
    assert moved.exit_code == 0 and "moved to" in moved.output
    updates = invitations()[2:]
    assert len(updates) == 2
    assert {(str(e["UID"]), int(e["SEQUENCE"]), m) for _, e, m, _ in updates} == {
        (uid, 1, "REQUEST")
    }
    assert all(e.decoded("DTSTART") == later for _, e, _, _ in updates)

    # the round is decided: a cancellation, once, even when the decision is replayed
    with session_scope() as session:
        row = session.get(Gate, gate.gate_id)
        site = gate_site(
            session.get(Project, row.project_id), session.get(StageRun, row.stage_run_id), row
        )
    decide_gate.fn(site, 1, "go", with_meeting().lifecycle.stages[0].gate)
    decide_gate.fn(site, 1, "go", with_meeting().lifecycle.stages[0].gate)
    cancels = invitations()[4:]
    assert len(cancels) == 2
    assert {(str(e["UID"]), int(e["SEQUENCE"]), m, str(e["STATUS"])) for _, e, m, _ in cancels} == {
        (uid, 2, "CANCEL", "CANCELLED")
    }
    assert all("is cancelled: the gate's round is decided (go)" in b for *_, b in cancels)


def test_meetings_refused(store_url):
    plain = mailed_gate(make_brief(key="MEETNO"))
    meeting = mailed_gate(make_brief(key="MEETYES"), lifecycle=with_meeting())
    soon = datetime.now(UTC) + timedelta(days=1)
    refused(meet(plain.run_id, soon), "RUN_ID", "holds no meeting")
    refused(meet(meeting.run_id, datetime.now(UTC) - timedelta(hours=1)), "--at", "in the past")
    refused(meet(meeting.run_id, soon, by=SPONSOR), "--as", "not a PMO contact")
    bad = CliRunner().invoke(app, ["meeting", meeting.run_id, "--at", "tomorrow", "--as", PMO])
    refused(bad, "--at")
    assert invitations() == []
