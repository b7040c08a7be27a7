"""pmo.mail through a real SMTP server on loopback."""

from pathlib import Path

import docx
import pytest

from pmo.mail import Delivery, MailDeliveryError, compose_message, deliver
from pmo.settings import get_settings
from tests.smtp_server import free_port, running_smtp_server

pytestmark = pytest.mark.integration

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


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
