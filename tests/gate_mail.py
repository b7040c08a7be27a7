"""Reading approval codes out of the mail a real SMTP server received, for tests."""

from dataclasses import dataclass
from email.message import EmailMessage

from pmo.runtime.approver_bot import CODE_LINE


@dataclass(frozen=True)
class CodeMail:
    gate: str  # X-PMO-Gate: KEY/stage/attempt/gate/round
    run_id: str
    approver: str
    code: str


def code_mails(messages: list[EmailMessage]) -> list[CodeMail]:
    """Every approval request among `messages`, in order of arrival."""
    found = []
    for message in messages:
        if message["X-PMO-Gate"] is None:
            continue
        body = message.get_body(("plain",)).get_content()
        if match := CODE_LINE.search(body):
            found.append(
                CodeMail(
                    gate=str(message["X-PMO-Gate"]),
                    run_id=str(message["X-PMO-Run"]),
                    approver=str(message["To"]).lower(),
                    code=match.group(1),
                )
            )
    return found


def latest_code(messages: list[EmailMessage], gate: str, approver: str) -> str:
    codes = [m.code for m in code_mails(messages) if m.gate == gate and m.approver == approver]
    assert codes, f"no approval code mailed to {approver} for {gate}"
    return codes[-1]
