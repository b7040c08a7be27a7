"""A real SMTP server on loopback that keeps every message it receives, for tests."""

import email.policy
import socket
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.parser import BytesParser

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session


@dataclass
class ReceivedMail:
    """The running server's address and what it has received so far, in order of arrival."""

    host: str
    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    recipients: list[list[str]] = field(default_factory=list)  # envelope RCPT TO, per message
    passwords: list[str] = field(default_factory=list)  # every password a client logged in with


class _CollectingHandler:
    def __init__(self, received: ReceivedMail, refuse: Collection[str]) -> None:
        self.received = received
        self.refuse = {address.lower() for address in refuse}

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address.lower() in self.refuse:
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or envelope.content or b""
        raw = content if isinstance(content, bytes) else content.encode()
        message = BytesParser(policy=email.policy.default).parsebytes(raw)
        self.received.messages.append(message)
        self.received.recipients.append(list(envelope.rcpt_tos))
        return "250 Message accepted for delivery"


class _Login:
    """Takes one user and password (AUTH PLAIN or LOGIN) and notes every password it is given."""

    def __init__(self, received: ReceivedMail, user: str, password: str) -> None:
        self.received, self.user, self.password = received, user, password

    def __call__(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: object
    ) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        password = auth_data.password.decode()
        self.received.passwords.append(password)
        ok = auth_data.login.decode() == self.user and password == self.password
        return AuthResult(success=ok, handled=False)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now (also handy as a closed port)."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


@contextmanager
def running_smtp_server(
    host: str = "127.0.0.1",
    refuse: Collection[str] = (),
    login: tuple[str, str] | None = None,
    port: int | None = None,
) -> Iterator[ReceivedMail]:
    """Run an aiosmtpd server on loopback (a free port unless `port` is given) that refuses
    the `refuse` addresses; with `login` (user, password) it takes mail only after that
    login (AUTH, no TLS)."""
    received = ReceivedMail(host=host, port=port or free_port(host))
    auth = (
        {
            "authenticator": _Login(received, *login),
            "auth_required": True,
            "auth_require_tls": False,
        }
        if login
        else {}
    )
    controller = Controller(
        _CollectingHandler(received, refuse), hostname=host, port=received.port, **auth
    )
    controller.start()
    try:
        yield received
    finally:
        controller.stop()
