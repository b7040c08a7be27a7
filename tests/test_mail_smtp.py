"""pmo.mail through a real SMTP server on loopback."""

from pathlib import Path

import docx
import pytest
from sqlalchemy import select

from pmo.gates.answers import send_approval_request
from pmo.mail import Delivery, MailDeliveryError, compose_message, deliver, send_queued_mail
from pmo.settings import get_settings
from pmo.store import session_scope
from pmo.store.models import Notification
from tests.factories import make_brief
from tests.project_record import LIFECYCLE, at_gate
from tests.smtp_server import free_port, running_smtp_server

pytestmark = pytest.mark.integration

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
CHARTER = LIFECYCLE.lifecycle.stages[0]
SPONSOR = "dana.reyes@example.com"


@pytest.fixture
def smtp_at(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Point the settings at an SMTP host and port; the outbox lives in tmp_path."""

    def point(host: str, port: int) -> None:
        monkeypatch.setenv("PMO_HOME", str(tmp_path))
        monkeypatch.setenv("PMO_SMTP_HOST", host)
        monkeypatch.setenv("PMO_SMTP_PORT", str(port))
        get_settings.cache_clear()

    yield point
    get_settings.cache_clear()


def test_non_latin_text_and_a_docx_arrive_intact(smtp_at, tmp_path: Path):
    pack = tmp_path / "ORION-G2 пакет.docx"
    document = docx.Document()
    document.add_paragraph("Критерии ворот G2 — 審査")
    document.save(pack)
    subject = "Ворота G2 ждут решения · 審査待ち 🚦"
    body = "Здравствуйте, Дана.\n\nПакет ворот приложен. 请审阅。\n"

    with running_smtp_server() as server:
        smtp_at(server.host, server.port)
        message = compose_message(
            to=["dana.reyes@example.com", "pmo@example.com"],
            subject=subject,
            body=body,
            message_id_key="ORION/G2/1",
            attachments=[pack],
        )
        delivery = deliver(message)

    assert delivery == Delivery("smtp", f"smtp://{server.host}:{server.port}")
    [received] = server.messages
    assert server.recipients == [["dana.reyes@example.com", "pmo@example.com"]]
    assert received["Subject"] == subject
    assert received["Message-ID"] == message["Message-ID"]
    assert received["From"] == get_settings().mail_from
    # SMTP carries lines ending in CRLF; the text itself must be unchanged.
    assert received.get_body(("plain",)).get_content().splitlines() == body.splitlines()
    [attachment] = received.iter_attachments()
    assert attachment.get_content_type() == DOCX_TYPE
    assert attachment.get_filename() == pack.name
    assert attachment.get_content() == pack.read_bytes()
    assert not (tmp_path / "outbox").exists()


def test_smtp_down_is_a_clear_error_naming_host_and_port(smtp_at):
    port = free_port()
    smtp_at("127.0.0.1", port)
    message = compose_message(
        to=["dana.reyes@example.com"], subject="s", body="b", message_id_key="ORION/G2/1"
    )

    with pytest.raises(MailDeliveryError, match=f"SMTP 127.0.0.1:{port}"):
        deliver(message)


def test_a_refused_recipient_is_an_error_not_a_silent_drop(smtp_at):
    with running_smtp_server(refuse=["gone@example.com"]) as server:
        smtp_at(server.host, server.port)
        message = compose_message(
            to=["dana.reyes@example.com", "gone@example.com"],
            subject="s",
            body="b",
            message_id_key="ORION/G2/1",
        )
        with pytest.raises(MailDeliveryError, match="refused gone@example.com"):
            deliver(message)

    assert server.recipients == [["dana.reyes@example.com"]]


def test_smtp_with_a_login_sends_the_password_to_the_server_and_nowhere_else(smtp_at, monkeypatch):
    message = compose_message(
        to=["dana.reyes@example.com"], subject="s", body="b", message_id_key="ORION/G2/1"
    )
    with running_smtp_server(login=("pmo-mailer", "Smtp-Secret-42")) as server:
        smtp_at(server.host, server.port)
        monkeypatch.setenv("PMO_SMTP_USERNAME", "pmo-mailer")
        monkeypatch.setenv("PMO_SMTP_PASSWORD", "Wrong-Secret-13")
        get_settings.cache_clear()
        with pytest.raises(MailDeliveryError) as refused:
            deliver(message)
        assert "Wrong-Secret-13" not in str(refused.value) and "535" in str(refused.value)

        monkeypatch.setenv("PMO_SMTP_PASSWORD", "Smtp-Secret-42")
        get_settings.cache_clear()
        deliver(message)
    # smtplib tries each mechanism the server offers before it gives up
    assert set(server.passwords) == {"Wrong-Secret-13", "Smtp-Secret-42"}
    assert len(server.messages) == 1


def test_while_smtp_is_down_a_message_waits_and_goes_once_when_it_is_back(smtp_at, store_url):
    port = free_port()
    smtp_at("127.0.0.1", port)
    codes: list[str] = []
    brief = make_brief()
    with session_scope() as session:
        _, _, gate = at_gate(session, brief, CHARTER, run_id="run-down")

        def compose(code: str, links=None):
            codes.append(code)
            return compose_message(
                to=[SPONSOR], subject="Decide", body=f"Approval code: {code}", message_id_key="d/1"
            )

        first = send_approval_request(
            session, gate=gate, round=1, approver=SPONSOR, compose=compose
        )
        # a replay (the run resumed from the top) sends nothing more and mints no new code
        again = send_approval_request(
            session, gate=gate, round=1, approver=SPONSOR, compose=compose
        )
    assert first.transport == "queued" and again is None and len(codes) == 1
    assert send_queued_mail() == []  # still down: it keeps waiting
    [queued] = get_settings().mail_queue_dir.glob("*.eml")

    with running_smtp_server(port=port) as server:
        sent = send_queued_mail()
        assert send_queued_mail() == []  # sent once, never twice
    assert len(sent) == 1 and len(server.messages) == 1
    assert f"Approval code: {codes[0]}" in server.messages[0].get_body(("plain",)).get_content()
    assert not queued.exists()
    with session_scope() as session:
        note = session.scalar(select(Notification))
        assert (note.status, note.location) == ("sent", f"smtp://127.0.0.1:{port}")
