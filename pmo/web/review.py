"""What a review page shows, read from the store: the project, the gate, its pack as
HTML, the documents, the scorecard, the decisions it allows, and what was recorded.

Reading only: opening a link (mail scanners fetch links) never changes anything.
"""

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from markdown_it import MarkdownIt
from markupsafe import Markup
from sqlalchemy.orm import Session

from flows.gate import DECISION_HELP, EXCEPTION_HELP
from pmo.brief import ProjectBrief
from pmo.gates.answers import gate_stage, round_outcome, waiting_approvers
from pmo.gates.criteria import CriterionResult, scorecard
from pmo.gates.rules import gate_approvers
from pmo.gates.sla import gate_due
from pmo.store.lifecycles import lifecycle_for
from pmo.store.models import DocumentRecord, Gate, GateDecision, Project, ReviewLink, StageRun
from pmo.store.records import approval_code, gate_decisions, stage_documents

# No raw HTML: a document's Markdown escapes what people typed, and anything else that
# looks like HTML in it is shown as text; markdown-it also refuses javascript: links.
_PARSER = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])


@dataclass(frozen=True)
class Choice:
    decision: str
    meaning: str


@dataclass(frozen=True)
class RecordedAnswer:
    approver: str
    on_behalf_of: str | None
    decision: str
    comment: str
    conditions: str
    round: int
    at: datetime
    channel: str


@dataclass(frozen=True)
class ReviewPage:
    """Everything a review page shows; `can_decide` says whether it shows the buttons."""

    approver: str  # who the link was mailed to
    for_approver: str | None  # the approver they answer for, as a delegate
    roles: list[str]
    project_key: str
    project_name: str
    stage_name: str
    attempt: int
    gate_name: str
    exception: bool
    link_round: int
    round: int
    status: str
    outcome: str | None
    decided_at: datetime | None
    opened_at: datetime
    due: datetime | None
    quorum: str
    choices: list[Choice]
    conditions_help: str
    must_meet: list[CriterionResult]
    should_meet: list[CriterionResult]
    pack_title: str
    pack_html: Markup
    documents: list[DocumentRecord]
    answers: list[RecordedAnswer]
    waiting_for: list[str]
    answered: bool
    can_decide: bool
    why_not: str


def review_page(session: Session, *, link_id: int) -> ReviewPage:
    """The page a review link opens, as the store has the gate now."""
    link = session.get(ReviewLink, link_id)
    gate = session.get(Gate, link.gate_id)
    stage_run = session.get(StageRun, gate.stage_run_id)
    project = session.get(Project, gate.project_id)
    brief = ProjectBrief.model_validate(project.brief)
    stage = gate_stage(lifecycle_for(session, stage_run=stage_run), stage_run, gate)
    definition = stage.gate
    documents = stage_documents(session, stage_run=stage_run)
    pack = _pack(documents, gate)
    card = scorecard(definition, brief, {d.document_key for d in documents})
    exception = gate.kind == "exception"
    meanings = EXCEPTION_HELP if exception else DECISION_HELP
    outcome = gate.outcome if gate.status == "decided" else None
    outcome = outcome or round_outcome(
        session, gate=gate, definition=definition, brief=brief, round=gate.round
    )
    code = approval_code(session, gate=gate, round=link.round, approver=link.approver_email)
    answered = bool(code and code.used_at)
    why_not = _why_not(gate, link, outcome, answered)
    return ReviewPage(
        approver=link.delegate_email or link.approver_email,
        for_approver=link.approver_email if link.delegate_email else None,
        roles=gate_approvers(definition, brief).get(link.approver_email, []),
        project_key=project.key,
        project_name=project.name,
        stage_name=stage_run.stage_name,
        attempt=stage_run.attempt,
        gate_name=gate.gate_name,
        exception=exception,
        link_round=link.round,
        round=gate.round,
        status=gate.status,
        outcome=outcome,
        decided_at=gate.decided_at,
        opened_at=gate.round_opened_at or gate.opened_at,
        due=gate_due(gate, definition),
        quorum=str(definition.quorum),
        choices=[Choice(d, meanings[d]) for d in definition.decisions],
        conditions_help=(
            "New tolerances with a go, e.g. 'cost_percent: 25, time_percent: 15'."
            if exception
            else "Conditions attached to a go, for the next stage."
        ),
        must_meet=card["must_meet"],
        should_meet=card["should_meet"],
        pack_title=pack.title if pack else gate.gate_name,
        pack_html=_as_html(pack),
        documents=documents,
        answers=[_recorded(row) for row in gate_decisions(session, gate=gate)],
        waiting_for=[]
        if outcome
        else waiting_approvers(session, gate=gate, definition=definition, brief=brief),
        answered=answered,
        can_decide=not why_not,
        why_not=why_not,
    )


def _why_not(gate: Gate, link: ReviewLink, outcome: str | None, answered: bool) -> str:
    if link.revoked_at is not None:
        return "This link was revoked."
    if link.round != gate.round:
        return (
            f"Round {link.round} of this gate has ended (it was put on hold); the gate is now "
            f"in round {gate.round}, and the latest message has its link."
        )
    if outcome is not None:
        return f"This gate is decided: {outcome}."
    if answered:
        return "You have answered this round; your answer is recorded below."
    if gate.locked_at is not None:
        return "This gate is locked after too many wrong approval codes; the PMO must unlock it."
    return ""


def _pack(documents: list[DocumentRecord], gate: Gate) -> DocumentRecord | None:
    """The gate pack: the stage's gate review, or an exception gate's exception report."""
    wanted = f"gate-review-{gate.gate_key}"
    packs = [d for d in documents if d.document_key == wanted]
    if not packs and gate.kind == "exception":
        packs = [d for d in documents if d.document_key.startswith("exception-report")]
    return packs[-1] if packs else None


def _as_html(pack: DocumentRecord | None) -> Markup:
    if pack is None:
        return Markup("")
    path = Path(pack.markdown_path)
    if not path.is_file():
        return Markup("<p>The gate pack's file is not on this machine.</p>")
    return Markup(_PARSER.render(path.read_text(encoding="utf-8")))


def _recorded(row: GateDecision) -> RecordedAnswer:
    return RecordedAnswer(
        approver=row.approver_email,
        on_behalf_of=row.on_behalf_of,
        decision=row.decision,
        comment=row.comment,
        conditions=row.conditions,
        round=row.round,
        at=row.received_at,
        channel=row.channel,
    )
