"""Answer an audit checklist from evidence: the store's record and the brief, nothing else.

A question the record cannot answer is left for the auditor (answer None), never guessed.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from pmo.brief import ProjectBrief
from pmo.store.models import DocumentRecord
from process_library.checklist import Area, Checklist, FindingType, Question
from process_library.schema import DOCUMENT_TITLES, Lifecycle

Answer = Literal["Yes", "No", "N/A"]


@dataclass(frozen=True)
class Evidence:
    """What an audit may look at: the brief, the lifecycle and the project's record."""

    brief: ProjectBrief
    lifecycle: Lifecycle
    documents: Sequence[DocumentRecord]  # oldest first
    # The dossier's DecisionLine and StageLine (typed loosely: the dossier imports this module)
    decisions: Sequence  # oldest first
    history: Sequence  # in the order the stages ran
    refused_answers: int


@dataclass(frozen=True)
class AuditAnswer:
    question: Question
    answer: Answer | None  # None: for the auditor to answer
    comment: str

    @property
    def finding(self) -> FindingType | None:
        return self.question.finding if self.answer == "No" else None


@dataclass(frozen=True)
class AuditArea:
    area: Area
    answers: list[AuditAnswer]


Result = tuple[Answer | None, str]


def answer_checklist(checklist: Checklist, evidence: Evidence) -> list[AuditArea]:
    return [
        AuditArea(area, [answer_question(q, evidence) for q in area.questions])
        for area in checklist.areas
    ]


def answer_question(question: Question, evidence: Evidence) -> AuditAnswer:
    if question.check is None:
        return AuditAnswer(question, None, "")
    kind, _, name = question.check.partition(":")
    if kind == "document":
        answer, comment = _document_on_record(name, evidence)
    elif kind == "brief":
        answer, comment = _brief_field(name, evidence)
    else:
        answer, comment = RECORD_CHECKS[name](evidence)
    return AuditAnswer(question, answer, comment)


def _document_on_record(key: str, evidence: Evidence) -> Result:
    title = DOCUMENT_TITLES.get(key, key)
    versions = [d for d in evidence.documents if d.document_key == key]
    if versions:
        latest = versions[-1]
        return "Yes", f"{latest.title} v{latest.version} on record (sha256 {latest.sha256[:12]}…)"
    called_for = any(d.key == key for s in evidence.lifecycle.stages for d in s.documents)
    if not called_for:
        return "N/A", f"The lifecycle does not call for a {title.lower()} at this tier"
    return "No", f"No {title.lower()} is on record"


def _brief_field(name: str, evidence: Evidence) -> Result:
    value = getattr(evidence.brief, name, None)
    if value is None or value == [] or value == "":
        return "No", f"The brief does not give {name.replace('_', ' ')}"
    count = f" ({len(value)} given)" if isinstance(value, list) else ""
    return "Yes", f"Given in the brief{count}"


def _first_gate_approved(evidence: Evidence) -> Result:
    first = evidence.lifecycle.stages[0].gate.name
    goes = [d for d in evidence.decisions if d.gate == first and d.decision == "go"]
    if goes:
        return "Yes", "; ".join(f"go by {d.approver} on {d.decided_at:%Y-%m-%d}" for d in goes)
    decided = [h for h in evidence.history if h.gate == first and h.outcome]
    if not decided:
        return None, f"{first} has not been decided yet"
    return "No", f"{first} decided {', '.join(h.outcome for h in decided)}, never go"


def _gate_decisions_recorded(evidence: Evidence) -> Result:
    decided = [h for h in evidence.history if h.outcome]
    if not decided:
        return "N/A", "No gate has been decided yet"
    missing = [
        f"{h.gate} (attempt {h.attempt})"
        for h in decided
        if not any(d.gate == h.gate and d.attempt == h.attempt for d in evidence.decisions)
    ]
    if missing:
        return "No", f"No decision on record for {', '.join(missing)}"
    return "Yes", f"{len(evidence.decisions)} decision(s) at {len(decided)} gate round(s)"


def _decisions_segregated(evidence: Evidence) -> Result:
    if not evidence.decisions:
        return "N/A", "No gate decision has been recorded yet"
    manager = evidence.brief.project_manager.email
    own = [d for d in evidence.decisions if d.approver == manager]
    if own:
        return "No", f"The project manager decided {', '.join(d.gate for d in own)}"
    return "Yes", "No decision was taken by the project manager"


def _refusals_recorded(evidence: Evidence) -> Result:
    if not evidence.refused_answers:
        return "N/A", "No answer at a gate was refused"
    return "Yes", f"{evidence.refused_answers} refused answer(s) on record with their reason"


def _setbacks_explained(evidence: Evidence) -> Result:
    setbacks = [d for d in evidence.decisions if d.decision != "go"]
    if not setbacks:
        return "N/A", "No gate recycled, held or killed the project"
    silent = [f"{d.decision} at {d.gate} by {d.approver}" for d in setbacks if not d.comment]
    if silent:
        return "No", f"Without a comment: {'; '.join(silent)}"
    return "Yes", f"{len(setbacks)} recycle/hold/kill decision(s), each with a comment"


def _risks_owned(evidence: Evidence) -> Result:
    risks = evidence.brief.risks
    if not risks:
        return "N/A", "The brief lists no risks"
    return "Yes", f"All {len(risks)} risk(s) name an owner"


def _risk_responses_planned(evidence: Evidence) -> Result:
    risks = evidence.brief.risks
    if not risks:
        return "N/A", "The brief lists no risks"
    open_risks = [r.description for r in risks if not r.response.strip()]
    if open_risks:
        return "No", f"No response planned for: {'; '.join(open_risks)}"
    return "Yes", f"All {len(risks)} risk(s) have a planned response"


RECORD_CHECKS: dict[str, Callable[[Evidence], Result]] = {
    "first-gate-approved": _first_gate_approved,
    "gate-decisions-recorded": _gate_decisions_recorded,
    "decisions-segregated": _decisions_segregated,
    "refusals-recorded": _refusals_recorded,
    "setbacks-explained": _setbacks_explained,
    "risks-owned": _risks_owned,
    "risk-responses-planned": _risk_responses_planned,
}
