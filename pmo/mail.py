"""The one way to compose and send a message: SMTP when configured, an outbox folder
otherwise; `send_once` keys a message in the store so that a replayed flow never sends it twice."""

import email.policy
import hashlib
import mimetypes
import re
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from email.header import Header
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from typing import Literal

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pmo.errors import PmoInputError
from pmo.files import write_atomically
from pmo.settings import get_settings
from pmo.store import session_scope
from pmo.store.models import Notification, utcnow

SMTP_TIMEOUT_SECONDS = 30
# The platform's mime.types may lack these, and a guessed octet-stream makes mail clients balk.
KNOWN_TYPES = {
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".md": "text/markdown",
}


class _MailPolicy(email.policy.EmailPolicy):
    """`email.policy.default`, except that a non-ASCII Subject is folded by `email.header`."""

    # Python 3.11 loses the space at a fold between two encoded words (CPython gh-144156);
    # email.header splits inside the text, so every space stays inside an encoded word.
    def fold(self, name: str, value: str) -> str:
        if name.lower() != "subject" or str(value).isascii():
            return super().fold(name, value)
        encoded = Header(str(value), "utf-8", header_name=name).encode(linesep=self.linesep)
        return f"{name}: {encoded}{self.linesep}"

    def fold_binary(self, name: str, value: str) -> bytes:
        if name.lower() != "subject" or str(value).isascii():
            return super().fold_binary(name, value)
        return self.fold(name, value).encode("ascii")


MAIL_POLICY = _MailPolicy()


class MailDeliveryError(Exception):
    """The SMTP server could not be reached or did not take the message for every recipient.

    `transient`: the server was down or said "try later" (4xx); the message can wait and go
    when it is back. Otherwise it refused a recipient for good, which a person must fix.
    """

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


@dataclass(frozen=True)
class Delivery:
    """Where a message went: an SMTP server or a file in the outbox."""

    transport: Literal["smtp", "outbox", "queued"]
    location: str


def compose_message(
    *,
    to: list[str],
    subject: str,
    body: str,
    message_id_key: str,
    attachments: list[Path] | None = None,
    calendar: tuple[str, str] | None = None,
) -> EmailMessage:
    """Build a plain-text message whose Message-ID is the same every time for the same key;
    `calendar` (iCalendar text, its METHOD) attaches a meeting invitation or cancellation."""
    if not to:
        raise PmoInputError("email", "a message needs at least one recipient")
    message = EmailMessage(policy=MAIL_POLICY)
    message["From"] = get_settings().mail_from
    message["To"] = ", ".join(_valid_address(address) for address in to)
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = (
        f"<{hashlib.sha256(message_id_key.encode()).hexdigest()[:32]}@pmo-flows>"
    )
    # Tells out-of-office responders not to answer a robot (RFC 3834).
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(body)
    for path in attachments or []:
        mime_type = KNOWN_TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0]
        maintype, subtype = (mime_type or "application/octet-stream").split("/", 1)
        params = {"charset": "utf-8"} if maintype == "text" else None
        message.add_attachment(
            path.read_bytes(), maintype, subtype, filename=path.name, params=params
        )
    if calendar is not None:
        text, method = calendar
        message.add_attachment(
            text, subtype="calendar", filename="invite.ics", params={"method": method}
        )
    return message


def deliver(message: EmailMessage) -> Delivery:
    """Send the message through SMTP if a host is configured, else write it to the outbox."""
    settings = get_settings()
    if not settings.smtp_host:
        return Delivery("outbox", str(_write_outbox(message, settings.outbox_dir)))
    host, port = settings.smtp_host, settings.smtp_port
    smtp_class = smtplib.SMTP_SSL if settings.smtp_ssl else smtplib.SMTP
    try:
        with smtp_class(host, port, timeout=SMTP_TIMEOUT_SECONDS) as smtp:
            if settings.smtp_starttls and not settings.smtp_ssl:
                smtp.starttls(context=ssl.create_default_context())
            if settings.smtp_username:
                password = settings.smtp_password
                smtp.login(settings.smtp_username, password.get_secret_value() if password else "")
            refused = smtp.send_message(message)
    except smtplib.SMTPRecipientsRefused as error:
        raise MailDeliveryError(
            f"SMTP {host}:{port} refused {', '.join(sorted(error.recipients))} for "
            f"{message['Message-ID']}",
            transient=all(400 <= code < 500 for code, _ in error.recipients.values()),
        ) from error
    except OSError as error:  # smtplib.SMTPException is an OSError too
        permanent = isinstance(error, smtplib.SMTPResponseException) and error.smtp_code >= 500
        raise MailDeliveryError(
            f"could not send {message['Message-ID']} through SMTP {host}:{port}: {error}",
            transient=not permanent,
        ) from error
    if refused:
        # The others got it, but a notification must never vanish for anyone without a trace.
        raise MailDeliveryError(
            f"SMTP {host}:{port} refused {', '.join(sorted(refused))} for {message['Message-ID']}",
            transient=False,
        )
    return Delivery("smtp", f"smtp://{host}:{port}")


def send_once(
    session: Session,
    *,
    key: str,
    project_id: int | None,
    message: Callable[[], EmailMessage],
    before_delivery: Callable[[], None] | None = None,
) -> Delivery | None:
    """Deliver a message once per `key`; a message that failed to go out goes next time.

    While the SMTP server is down the message waits in the mail queue (`queued`), counts as
    sent for this key, and goes when `send_queued_mail` finds the server back.
    """
    note = session.scalar(select(Notification).where(Notification.idempotency_key == key))
    if note is not None and note.status in ("sent", "queued"):
        return None
    if before_delivery is not None:
        before_delivery()
    composed = message()
    if note is None:
        note = Notification(
            idempotency_key=key,
            project_id=project_id,
            recipient=", ".join(composed.get_all("To", [])),
            subject=str(composed["Subject"]),
        )
        session.add(note)
    try:
        delivery = deliver(composed)
        note.status, note.sent_at = "sent", utcnow()
    except MailDeliveryError as error:
        if not error.transient:
            raise
        queued = _write_outbox(composed, get_settings().mail_queue_dir)
        delivery = Delivery("queued", str(queued))
        note.status = "queued"
    note.transport, note.location = delivery.transport, delivery.location
    session.flush()
    return delivery


def queued_count() -> int:
    """How many messages wait for the SMTP server."""
    with session_scope() as session:
        return session.scalar(
            select(func.count(Notification.id)).where(Notification.status == "queued")
        )


def send_queued_mail() -> list[str]:
    """Send the messages that waited for the SMTP server, oldest first, each marked sent
    in the store as soon as the server took it; stop at the first the server still cannot
    take. Returns the keys of the messages sent."""
    with session_scope() as session:
        queued = session.execute(
            select(Notification.id, Notification.location)
            .where(Notification.status == "queued")
            .order_by(Notification.created_at, Notification.id)
        ).all()
    sent = []
    for note_id, location in queued:
        path = Path(location)
        message = email.message_from_bytes(path.read_bytes(), policy=MAIL_POLICY)
        try:
            delivery = deliver(message)
        except MailDeliveryError as error:
            if error.transient:
                break
            raise
        with session_scope() as session:
            note = session.get(Notification, note_id)
            note.status, note.transport, note.location = (
                "sent",
                delivery.transport,
                delivery.location,
            )
            note.sent_at = utcnow()
            sent.append(note.idempotency_key)
        path.unlink(missing_ok=True)
    return sent


def read_outbox(folder: Path | None = None) -> list[EmailMessage]:
    """Every message in the outbox folder, oldest first."""
    folder = folder or get_settings().outbox_dir
    paths = sorted(folder.glob("*.eml"), key=lambda path: (path.stat().st_mtime, path.name))
    return [
        email.message_from_bytes(path.read_bytes(), policy=email.policy.default) for path in paths
    ]


def _valid_address(address: str) -> str:
    try:
        return validate_email(address, check_deliverability=False).normalized
    except EmailNotValidError as error:
        raise PmoInputError("email", f"{address!r} is not a valid email address: {error}") from None


def _write_outbox(message: EmailMessage, folder: Path) -> Path:
    message_id = message["Message-ID"]
    if not message_id:
        raise ValueError("compose the message with compose_message(): it has no Message-ID")
    key = re.sub(r"[^\w.]", "", str(message_id).strip("<>").split("@")[0])
    slug = re.sub(r"[^\w]+", "-", str(message["Subject"] or "").lower()).strip("-_")[:60]
    path = folder / f"{key}-{slug}.eml" if slug else folder / f"{key}.eml"
    # A message may carry an approval code: for its addressee, not for the machine's users.
    write_atomically(path, message.as_bytes(), private=True)
    # One key is one message: a resend under a reworded subject replaces the older file.
    for stale in [folder / f"{key}.eml", *folder.glob(f"{key}-*.eml")]:
        if stale != path:
            stale.unlink(missing_ok=True)
    return path
