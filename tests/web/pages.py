"""A gate waiting for answers, its request mailed to the outbox as the flow mails it, and
the approvers' pages served by a real uvicorn server: for the web tests and the bench."""

import re
import socket
import uuid
from dataclasses import dataclass
from email.message import EmailMessage

from pmo.brief import ProjectBrief
from pmo.documents.versions import write_document_version
from pmo.gates.answers import gate_site, send_approval_request
from pmo.gates.criteria import scorecard
from pmo.gates.messages import request_composer
from pmo.gates.rules import gate_approvers
from pmo.mail import read_outbox
from pmo.store import session_scope
from process_library.loader import LoadedLifecycle, load_lifecycle
from tests.project_record import at_gate, write

WATERFALL = load_lifecycle("pmbok-waterfall")
REVIEW_LINE = re.compile(r"^Review and decide: (\S+)\s*$", re.M)
INBOX_LINE = re.compile(r"^Your inbox, every gate waiting on you: (\S+)\s*$", re.M)
CODE_LINE = re.compile(r"^Approval code: (\S+)\s*$", re.M)


@dataclass(frozen=True)
class MailedGate:
    run_id: str
    gate_id: int
    brief: ProjectBrief
    review: dict[str, str]  # approver -> the review URL mailed to them
    inbox: dict[str, str]
    codes: dict[str, str]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def body_of(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content()


def mailed_gate(
    brief: ProjectBrief,
    stage_index: int = 0,
    round: int = 1,
    lifecycle: LoadedLifecycle = WATERFALL,
) -> MailedGate:
    """The brief's project at the gate of a stage, with its documents and gate pack written
    and every approver's request mailed to the outbox, read back from the outbox."""
    stage = lifecycle.lifecycle.stages[stage_index]
    run_id = str(uuid.uuid4())
    with session_scope() as session:
        at_gate(session, brief, stage, run_id=run_id, lifecycle=lifecycle)
    documents = [write(brief, stage, 1, key.key, lifecycle) for key in stage.documents[:1]]
    card = scorecard(stage.gate, brief, {d.document_key for d in documents})
    approvers = gate_approvers(stage.gate, brief)
    with session_scope() as session:
        project, stage_run, gate = at_gate(
            session, brief, stage, run_id=run_id, lifecycle=lifecycle
        )
        pack, _ = write_document_version(
            session,
            brief=brief,
            lifecycle=lifecycle,
            stage=stage,
            attempt=1,
            document_key=f"gate-review-{stage.gate.key}",
            template="gate-review",
            title=f"Gate review: {stage.gate.name}",
            idempotency_key=f"{brief.key}/{stage.key}/1/gate-review",
            extra={
                "gate": stage.gate,
                "scorecard": card,
                "stage_documents": documents,
                "approvers": approvers,
            },
        )
        site = gate_site(project, stage_run, gate)
        for approver, roles in approvers.items():
            compose = request_composer(
                site,
                brief,
                stage,
                round,
                approver,
                roles,
                run_id,
                documents=documents,
                pack=pack,
                must_meet=card["must_meet"],
            )
            send_approval_request(
                session, gate=gate, round=round, approver=approver, compose=compose
            )
        gate_id = gate.id
    review, inbox, codes = {}, {}, {}
    for message in read_outbox():
        if message["X-PMO-Run"] != run_id:
            continue
        approver, text = str(message["To"]).lower(), body_of(message)
        review[approver] = REVIEW_LINE.search(text).group(1)
        inbox[approver] = INBOX_LINE.search(text).group(1)
        codes[approver] = CODE_LINE.search(text).group(1)
    return MailedGate(run_id, gate_id, brief, review, inbox, codes)
