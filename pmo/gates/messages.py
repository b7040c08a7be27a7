"""The messages a gate sends its approvers: the request with the gate pack, and the
renewal (a reminder, or new codes after an unlock) that replaces an earlier code."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Literal, Protocol

from pmo.brief import ProjectBrief
from pmo.gates.links import flow_run_url
from pmo.gates.rules import GateSite
from pmo.mail import compose_message
from pmo.templating import render_text
from process_library.schema import Stage


@dataclass(frozen=True)
class MailedLinks:
    """An approver's personal links in a gate message: this round's review page (where
    they decide without the code) and their inbox; and, when the approver delegates, the
    delegate the message goes to instead, and until when."""

    review: str
    inbox: str
    delegate: str | None = None
    delegated_until: datetime | None = None


class Composer(Protocol):
    """Builds an approver's message around the credentials minted for it."""

    def __call__(self, code: str, *, links: MailedLinks | None = None) -> EmailMessage: ...


def _gate_message(
    site: GateSite,
    approver: str,
    round: int,
    run_id: str,
    *,
    subject: str,
    template: str,
    context: dict[str, Any],
    attachments: Sequence[Path] = (),
    kind: str,
) -> Composer:
    def compose(code: str, *, links: MailedLinks | None = None) -> EmailMessage:
        body = render_text(
            template,
            {
                **context,
                "site": site,
                "round": round,
                "approver": approver,
                "code": code,
                "links": links,
                "run_id": run_id,
                "run_url": flow_run_url(run_id),
            },
        )
        message = compose_message(
            to=[links.delegate if links and links.delegate else approver],
            subject=f"[{site.project_key}] {site.gate_name}: {subject}",
            body=body,
            message_id_key=f"{site.once_key}/{round}/{approver}/{kind}",
            attachments=list(attachments),
        )
        # Machine-readable pointers for mail rules and scripts answering on a person's behalf.
        message["X-PMO-Gate"] = f"{site.once_key}/{round}"
        message["X-PMO-Run"] = str(run_id)
        return message

    return compose


def request_composer(
    site: GateSite,
    brief: ProjectBrief,
    stage: Stage,
    round: int,
    approver: str,
    roles: list[str],
    run_id: str,
    *,
    documents: Sequence[Any],
    pack: Any,
    must_meet: Sequence[Any],
) -> Composer:
    """The first message of a gate round: what to review, where to answer, the code."""
    return _gate_message(
        site,
        approver,
        round,
        run_id,
        subject="your decision is needed",
        template="email/gate-request.txt.j2",
        context={
            "brief": brief,
            "stage": stage,
            "gate": stage.gate,
            "roles": roles,
            "documents": documents,
            "pack": pack,
            "must_meet": must_meet,
        },
        attachments=[Path(pack.docx_path)],
        kind="request",
    )


def renewal_composer(
    site: GateSite,
    stage: Stage,
    round: int,
    approver: str,
    run_id: str,
    *,
    why: Literal["reminder", "unlocked"],
    waiting_since: datetime,
    due: datetime | None,
    documents: Sequence[Any],
) -> Composer:
    """A later message with a new code that replaces the earlier one."""
    subject = "reminder, your decision is still needed" if why == "reminder" else "new code"
    return _gate_message(
        site,
        approver,
        round,
        run_id,
        subject=subject,
        template="email/gate-renewal.txt.j2",
        context={
            "stage": stage,
            "gate": stage.gate,
            "why": why,
            "waiting_since": waiting_since,
            "due": due,
            "documents": documents,
        },
        kind=why,
    )
