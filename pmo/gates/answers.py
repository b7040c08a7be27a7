"""Answers at a gate, checked and recorded, and the codes and personal links that
authenticate them.

Shared by the lifecycle flow, `pmo approve`, the review page and the gate-sla flow, so all
apply the same rules.
"""

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import update
from sqlalchemy.orm import Session

from pmo.brief import ProjectBrief
from pmo.gates.delegation import active_delegation, delegated_seat
from pmo.gates.links import inbox_url, review_url
from pmo.gates.messages import Composer, MailedLinks, renewal_composer
from pmo.gates.rules import (
    WRONG_CODES_BEFORE_LOCK,
    Answer,
    GateSite,
    Refusal,
    gate_approvers,
    gate_outcome,
    hash_code,
    hash_token,
    new_code,
    new_link_token,
    refusal_reason,
)
from pmo.gates.scoring import funding_shortfall
from pmo.mail import Delivery, compose_message, send_once
from pmo.store.models import (
    ApprovalCode,
    Gate,
    GateDecision,
    InboxLink,
    Project,
    ReviewLink,
    StageRun,
    utcnow,
)
from pmo.store.records import (
    answered_approvers,
    approval_code,
    find_response,
    gate_decisions,
    record_scores,
    stage_documents,
)
from pmo.templating import render_text
from process_library.schema import Decision, Lifecycle, Stage
from process_library.schema import Gate as GateDefinition

POLICY = "policy"  # who a timeout decision is recorded as: never a person
# The channels an answer comes by: the Resume form (taken by the run after it resumes) or
# `pmo approve` (recorded first; it wakes the run only when the answer decides the round).
FORM = "prefect"
CLI = "cli"
# The review page: recorded first, like `pmo approve`; the approver's personal link
# authenticates the answer instead of the code.
WEB = "web"


def gate_site(project: Project, stage_run: StageRun, gate: Gate) -> GateSite:
    """The site of a gate as the store has it."""
    return GateSite(
        gate_id=gate.id,
        project_key=project.key,
        project_name=project.name,
        stage_key=stage_run.stage_key,
        attempt=stage_run.attempt,
        gate_key=gate.gate_key,
        gate_name=gate.gate_name,
    )


def gate_stage(lifecycle: Lifecycle, stage_run: StageRun, gate: Gate) -> Stage:
    """The stage as this gate row holds it: an exception gate stands in for the stage's
    own gate, so the gate rules, mails and reminders read it the same way."""
    stage = lifecycle.stage(stage_run.stage_key)
    if gate.kind == "exception" and stage.exception_gate is not None:
        return stage.model_copy(update={"gate": stage.exception_gate})
    if gate.kind == "change" and stage.change_gate is not None:
        return stage.model_copy(update={"gate": stage.change_gate})
    return stage


def waiting_approvers(
    session: Session, *, gate: Gate, definition: GateDefinition, brief: ProjectBrief
) -> list[str]:
    """The approvers of the gate who have not given an accepted answer in this round."""
    answered = answered_approvers(session, gate=gate)
    return [a for a in gate_approvers(definition, brief) if a not in answered]


@dataclass(frozen=True)
class Recorded:
    """An answer as the store judged and recorded it, and where its round stands now.

    `waiting_key` is the pause the gate's run waits at (or is about to): a channel whose
    answer decided the round wakes that pause; the run reads the decision from the store.
    """

    decision_id: int
    accepted: bool
    refusal: Refusal | None
    outcome: Decision | None
    waiting_key: str | None


@dataclass(frozen=True)
class Wait:
    """What the run found when it came to wait: the round's outcome, or the pause key it
    now waits at, and why the last answer given through the Resume form was refused."""

    outcome: Decision | None
    key: str | None
    last_refusal: str


def lock_gate(session: Session, gate_id: int) -> Gate:
    """Hold the gate's row until the transaction ends and read it as committed.

    Every answer, policy decision and wait of a gate takes this lock first, so they are
    judged one after another against what the others recorded: two answers can never
    both use one code, and an answer recorded while the run is about to suspend either
    is seen by the run or sees the run's pause key (and wakes it).
    """
    # An UPDATE locks the row on PostgreSQL and takes SQLite's write lock; a SELECT ...
    # FOR UPDATE would do nothing on SQLite. The row is read afresh below, so the session
    # need not match the UPDATE against every gate it holds (the gate-sla sweep holds all
    # the open ones: that matching made its cost grow with their number squared).
    session.execute(
        update(Gate)
        .where(Gate.id == gate_id)
        .values(waits=Gate.waits)
        .execution_options(synchronize_session=False)
    )
    return session.get(Gate, gate_id, populate_existing=True)


def round_outcome(
    session: Session, *, gate: Gate, definition: GateDefinition, brief: ProjectBrief, round: int
) -> Decision | None:
    """The round's decision from the accepted answers on record (a timeout policy's
    decision first), or None while it must wait; whichever channel recorded them."""
    rows = gate_decisions(session, gate=gate, round=round)
    if policy := [r.decision for r in rows if r.channel == POLICY]:
        return policy[0]  # type: ignore[return-value]
    approvers = len(gate_approvers(definition, brief))
    outcome = gate_outcome(definition, approvers, [r.decision for r in rows])
    if outcome == "go" and funding_shortfall(
        session, gate=gate, definition=definition, round=round
    ):
        return "hold"
    return outcome


def answering_seat(
    session: Session,
    *,
    definition: GateDefinition,
    brief: ProjectBrief,
    person: str,
    link: ReviewLink | None = None,
) -> str:
    """The approver whose seat on the gate an answer from `person` fills: their own, or,
    for a delegate, the approver whose request was mailed to them (the link's) or who
    delegates to them now."""
    if link is not None:
        return link.approver_email
    approvers = gate_approvers(definition, brief)
    if person in approvers:
        return person
    return delegated_seat(session, person=person, seats=approvers) or person


def judge_answer(
    session: Session,
    *,
    gate: Gate,
    definition: GateDefinition,
    brief: ProjectBrief,
    answer: Answer,
    link: ReviewLink | None = None,
) -> Refusal | None:
    """Why the answer would be refused at the gate's current round, or None if it counts.

    With `link` (the review page) the approver's personal link authenticates the answer
    in place of the code: it must be this gate's, for its current round, and its approver's.
    A delegate answers for the approver's seat, by the approver's rules and code, and
    may not be the project manager either.
    """
    decided = gate.outcome if gate.status == "decided" else None
    decided = decided or round_outcome(
        session, gate=gate, definition=definition, brief=brief, round=gate.round
    )
    if decided is not None:
        return Refusal("gate-decided", f"gate '{gate.gate_key}' is already decided ({decided})")
    if gate.locked_at is not None:
        return Refusal(
            "gate-locked",
            f"gate '{gate.gate_key}' is locked after {WRONG_CODES_BEFORE_LOCK} wrong codes; "
            "the PMO must unlock it",
        )
    person = answer.approver.lower()
    seat = answering_seat(session, definition=definition, brief=brief, person=person, link=link)
    if link is not None:
        if link.gate_id != gate.id or (link.delegate_email or link.approver_email) != person:
            return Refusal("wrong-link", "this link is not for this approver and gate")
        if link.revoked_at is not None:
            return Refusal("link-revoked", "this link was revoked; the PMO can tell you why")
        if link.round != gate.round:
            return Refusal(
                "link-expired",
                f"this link was for round {link.round} of gate '{gate.gate_key}', which has "
                "ended; the latest message has the link for the current round",
            )
    manager = person == brief.project_manager.email and not definition.allow_project_manager
    if seat != person and manager:
        return Refusal(
            "project-manager",
            f"{person} is the project manager and cannot approve their own gate, "
            f"not even for {seat}",
        )
    code = approval_code(session, gate=gate, round=gate.round, approver=seat)
    return refusal_reason(
        gate=definition,
        brief=brief,
        answer=dataclasses.replace(answer, approver=seat),
        gate_id=gate.id,
        round=gate.round,
        stored_code_hash=code.code_hash if code else None,
        code_used=bool(code and code.used_at),
        by_link=link is not None,
    )


def record_answer(
    session: Session,
    *,
    gate_id: int,
    definition: GateDefinition,
    brief: ProjectBrief,
    response_key: str,
    answer: Answer,
    channel: str,
    flow_run_id: str | None,
    link: ReviewLink | None = None,
) -> Recorded:
    """Judge one answer and record it, accepted or refused, once per `response_key`: the
    one place an answer is judged, whichever way it came (`pmo approve`, the Resume form,
    the review page, whose personal `link` stands in for the code).

    An accepted answer uses up its code. Wrong codes are counted; the one that reaches
    the limit locks the gate and alerts the PMO contacts of the project's lifecycle.
    """
    gate = lock_gate(session, gate_id)
    row = find_response(session, gate=gate, response_key=response_key)
    refusal = None
    if row is None:
        approver = answer.approver.lower()
        seat = answering_seat(
            session, definition=definition, brief=brief, person=approver, link=link
        )
        refusal = judge_answer(
            session, gate=gate, definition=definition, brief=brief, answer=answer, link=link
        )
        if refusal is None:
            approval_code(session, gate=gate, round=gate.round, approver=seat).used_at = utcnow()
        elif refusal.kind == "wrong-code":
            gate.wrong_codes += 1
            if gate.wrong_codes >= WRONG_CODES_BEFORE_LOCK:
                gate.locked_at = utcnow()
                _alert_pmo_of_lock(session, gate=gate)
        row = GateDecision(
            gate_id=gate.id,
            round=gate.round,
            response_key=response_key,
            approver_email=approver,
            roles=", ".join(gate_approvers(definition, brief).get(seat, [])),
            decision=answer.decision,
            comment=answer.comment,
            conditions=answer.conditions,
            accepted=refusal is None,
            refusal_reason=refusal.message if refusal else None,
            refusal_kind=refusal.kind if refusal else None,
            channel=channel,
            flow_run_id=flow_run_id,
            on_behalf_of=seat if seat != approver else None,
        )
        session.add(row)
        session.flush()
        if row.accepted:
            record_scores(session, decision=row, scores=answer.scores, checks=answer.checks)
    elif not row.accepted:
        refusal = Refusal(row.refusal_kind or "refused", row.refusal_reason or "")
    outcome = round_outcome(session, gate=gate, definition=definition, brief=brief, round=row.round)
    return Recorded(row.id, row.accepted, refusal, outcome, gate.waiting_key)


def begin_wait(
    session: Session,
    *,
    gate_id: int,
    definition: GateDefinition,
    brief: ProjectBrief,
    round: int,
    prefix: str,
) -> Wait:
    """The run comes to wait for answers: the round's outcome if it is decided, else a
    new pause key (`<prefix>-<round>-<n>`), recorded as where the run now waits."""
    gate = lock_gate(session, gate_id)
    outcome = round_outcome(session, gate=gate, definition=definition, brief=brief, round=round)
    if outcome is None:
        gate.waits += 1
        gate.waiting_key = f"{prefix}-{round}-{gate.waits}"
    else:
        gate.waiting_key = None
    taken = [
        r
        for r in gate_decisions(session, gate=gate, round=round, accepted=None)
        if r.channel == FORM
    ]
    last_refusal = taken[-1].refusal_reason if taken and not taken[-1].accepted else ""
    return Wait(outcome, gate.waiting_key, last_refusal or "")


def record_policy_decision(
    session: Session,
    *,
    gate: Gate,
    definition: GateDefinition,
    brief: ProjectBrief,
    decision: str,
    reason: str,
) -> GateDecision | None:
    """Record the gate's timeout policy deciding this round; None if the round is decided
    already (by the policy before, or by its approvers' answers)."""
    gate = lock_gate(session, gate.id)
    key = f"policy-timeout-{gate.round}"
    if find_response(session, gate=gate, response_key=key) is not None:
        return None
    if round_outcome(session, gate=gate, definition=definition, brief=brief, round=gate.round):
        return None
    row = GateDecision(
        gate_id=gate.id,
        round=gate.round,
        response_key=key,
        approver_email=POLICY,
        roles="timeout policy",
        decision=decision,
        comment=reason,
        accepted=True,
        channel=POLICY,
        flow_run_id=gate.flow_run_id,
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
    compose: Composer,
    purpose: str = "request",
) -> Delivery | None:
    """Issue `approver` a fresh code for this gate round and mail it, once per purpose,
    with their personal links: the round's review page and their inbox.

    Only the hashes of the code and links are stored, so they are minted in the same
    transaction that sends them: a failed delivery rolls them back, and a resend after a
    crash mints new ones. A reminder or a reissue after an unlock (other purposes)
    replaces the code the same way; the links of a round all work until it ends.
    While the approver delegates (`pmo delegate`), the message goes to their delegate.
    """
    key = f"gate-{purpose}:{gate.id}:{round}:{approver}"
    code = new_code()
    code_hash = hash_code(gate_id=gate.id, round=round, approver=approver, code=code)
    review_token, inbox_token = new_link_token(), new_link_token()
    # An approver away: the request goes to their delegate, who answers for them.
    away = active_delegation(session, approver=approver)
    delegate = away.to_email if away else None
    links = MailedLinks(
        review=review_url(review_token),
        inbox=inbox_url(inbox_token),
        delegate=delegate,
        delegated_until=away.until if away else None,
    )

    def replace_code() -> None:
        stored = approval_code(session, gate=gate, round=round, approver=approver)
        if stored is None:
            session.add(
                ApprovalCode(
                    gate_id=gate.id, round=round, approver_email=approver, code_hash=code_hash
                )
            )
        else:
            stored.code_hash, stored.issued_at = code_hash, utcnow()
            stored.used_at = None
        session.add(
            ReviewLink(
                gate_id=gate.id,
                round=round,
                approver_email=approver,
                delegate_email=delegate,
                token_hash=hash_token(review_token),
            )
        )
        session.add(
            InboxLink(approver_email=delegate or approver, token_hash=hash_token(inbox_token))
        )

    return send_once(
        session,
        key=key,
        project_id=gate.project_id,
        message=lambda: compose(code, links=links),
        before_delivery=replace_code,
    )


def renew_codes(
    session: Session,
    *,
    project: Project,
    stage_run: StageRun,
    gate: Gate,
    definition: Stage,
    why: Literal["reminder", "unlocked"],
    purpose: str,
    due: datetime | None = None,
) -> list[str]:
    """Mail every approver still to answer a new code that replaces their old one, once per
    `purpose`; returns who got one. Under the gate's lock, so that no code is replaced
    while its approver's answer is being judged."""
    gate = lock_gate(session, gate.id)
    brief = ProjectBrief.model_validate(project.brief)
    site = gate_site(project, stage_run, gate)
    documents = stage_documents(session, stage_run=stage_run)
    renewed = []
    for approver in waiting_approvers(session, gate=gate, definition=definition.gate, brief=brief):
        compose = renewal_composer(
            site,
            definition,
            gate.round,
            approver,
            gate.flow_run_id or "",
            why=why,
            waiting_since=gate.round_opened_at or gate.opened_at,
            due=due,
            documents=documents,
        )
        if send_approval_request(
            session,
            gate=gate,
            round=gate.round,
            approver=approver,
            compose=compose,
            purpose=purpose,
        ):
            renewed.append(approver)
    return renewed


def tell_contacts(
    session: Session,
    *,
    project: Project,
    contacts: Sequence[str],
    occasion: str,
    subject: str,
    template: str,
    context: dict[str, Any],
) -> list[str]:
    """Mail each contact a notice about `occasion` (e.g. `gate-locked:7:<when>`), once;
    returns the contacts mailed now."""
    mailed = []
    for contact in contacts:
        delivery = send_once(
            session,
            key=f"{occasion}:{contact}",
            project_id=project.id,
            message=lambda contact=contact: compose_message(
                to=[contact],
                subject=f"[{project.key}] {subject}",
                body=render_text(template, {**context, "project": project, "contact": contact}),
                message_id_key=f"{occasion}/{contact}",
            ),
        )
        if delivery is not None:
            mailed.append(contact)
    return mailed


def _alert_pmo_of_lock(session: Session, *, gate: Gate) -> None:
    project = session.get(Project, gate.project_id)
    tell_contacts(
        session,
        project=project,
        contacts=Lifecycle.model_validate(project.lifecycle_definition).pmo_contacts,
        occasion=f"gate-locked:{gate.id}:{gate.locked_at.isoformat()}",
        subject=f"{gate.gate_name}: locked after wrong approval codes",
        template="email/gate-locked.txt.j2",
        context={"gate": gate, "limit": WRONG_CODES_BEFORE_LOCK},
    )
