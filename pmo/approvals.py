"""Answers at a gate, checked and recorded, and the codes that authenticate them.

Shared by the lifecycle flow and `pmo approve`, so both apply the same rules.
"""

from collections.abc import Callable
from email.message import EmailMessage

from sqlalchemy import select
from sqlalchemy.orm import Session

from pmo.brief import ProjectBrief
from pmo.gatekeeping import Answer, gate_approvers, hash_code, new_code, refusal_reason
from pmo.mail import Delivery, deliver
from pmo.store.models import ApprovalCode, Gate, GateDecision, Notification, utcnow
from pmo.store.records import approval_code, find_response
from process_library.schema import Gate as GateDefinition


def judge_answer(
    session: Session, *, gate: Gate, definition: GateDefinition, brief: ProjectBrief, answer: Answer
) -> str | None:
    """Why the answer would be refused at the gate's current round, or None if it counts."""
    if gate.status == "decided":
        return f"gate '{gate.gate_key}' is already decided ({gate.outcome})"
    code = approval_code(session, gate=gate, round=gate.round, approver=answer.approver.lower())
    return refusal_reason(
        gate=definition,
        brief=brief,
        answer=answer,
        gate_id=gate.id,
        round=gate.round,
        stored_code_hash=code.code_hash if code else None,
        code_used=bool(code and code.used_at),
    )


def record_answer(
    session: Session,
    *,
    gate: Gate,
    definition: GateDefinition,
    brief: ProjectBrief,
    round: int,
    response_key: str,
    answer: Answer,
    channel: str,
    flow_run_id: str | None,
) -> GateDecision:
    """Check and record one answer, once per `response_key`; a valid one uses up its code."""
    existing = find_response(session, gate=gate, response_key=response_key)
    if existing is not None:
        return existing
    approver = answer.approver.lower()
    reason = judge_answer(session, gate=gate, definition=definition, brief=brief, answer=answer)
    if reason is None:
        approval_code(session, gate=gate, round=round, approver=approver).used_at = utcnow()
    row = GateDecision(
        gate_id=gate.id,
        round=round,
        response_key=response_key,
        approver_email=approver,
        roles=", ".join(gate_approvers(definition, brief).get(approver, [])),
        decision=answer.decision,
        comment=answer.comment,
        conditions=answer.conditions,
        accepted=reason is None,
        refusal_reason=reason,
        channel=channel,
        flow_run_id=flow_run_id,
    )
    session.add(row)
    session.flush()
    return row


def send_approval_request(
    session: Session,
    *,
    gate: Gate,
    round: int,
    approver: str,
    compose: Callable[[str], EmailMessage],
) -> Delivery | None:
    """Issue `approver` a fresh code for this gate round and mail it, once.

    Only the code's hash is stored, so the code is minted in the same transaction that
    sends it: a failed delivery rolls the code back, and a resend after a crash mints a
    new code that replaces the one that may never have arrived.
    """
    key = f"gate-request:{gate.id}:{round}:{approver}"
    note = session.scalar(select(Notification).where(Notification.idempotency_key == key))
    if note is not None and note.status == "sent":
        return None
    code = new_code()
    code_hash = hash_code(gate_id=gate.id, round=round, approver=approver, code=code)
    stored = approval_code(session, gate=gate, round=round, approver=approver)
    if stored is None:
        session.add(
            ApprovalCode(gate_id=gate.id, round=round, approver_email=approver, code_hash=code_hash)
        )
    else:
        stored.code_hash, stored.issued_at = code_hash, utcnow()
    message = compose(code)
    if note is None:
        note = Notification(
            idempotency_key=key,
            project_id=gate.project_id,
            recipient=approver,
            subject=str(message["Subject"]),
        )
        session.add(note)
    delivery = deliver(message)
    note.status, note.transport, note.location, note.sent_at = (
        "sent",
        delivery.transport,
        delivery.location,
        utcnow(),
    )
    session.flush()
    return delivery
