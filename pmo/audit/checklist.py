"""Answer an audit checklist from evidence: the store's record and the brief, nothing else.

A question the record cannot answer is left for the auditor (answer None), never guessed.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from pmo.brief import ProjectBrief
from process_library.checklist import Area, Checklist, FindingType, Question
from process_library.schema import DOCUMENT_TITLES, Lifecycle, Stage

Answer = Literal["Yes", "No", "N/A"]


@dataclass(frozen=True)
class Evidence:
    """What an audit may look at: the brief, the lifecycle and the project's record."""

    brief: ProjectBrief
    lifecycle: Lifecycle  # the version pinned last
    documents: Sequence  # rows of the documents table (DocumentRecord columns), oldest first
    # pmo.audit.records' DecisionLine and StageLine (typed loosely: that module imports this one)
    decisions: Sequence  # oldest first
    history: Sequence  # in the order the stages ran
    refused_answers: int
    # Evidence only the PMO's audit gathers (`pmo audit`); None leaves its question to a person.
    authorities: Sequence | None = None  # pmo.project_records.Authority per accepted answer
    bypasses: Sequence | None = None  # pmo.bypass.Bypass of the project's lifecycle run
    gate_rounds: Sequence | None = None  # pmo.kpis.GateRound per gate
    document_problems: Sequence[str] | None = None  # a missing or altered document file each
    # Every version the project ran under, by version (None: rows older than versions); a
    # stage that ran is judged by its own, a stage still ahead by the latest.
    versions: Mapping[str | None, Lifecycle] = field(default_factory=dict)

    def ran_under(self, line) -> Stage | None:
        """The definition a stage attempt (a StageLine) ran under, if it is known."""
        lifecycle = self.versions.get(line.lifecycle_version, self.lifecycle)
        return next((s for s in lifecycle.stages if s.key == line.stage_key), None)


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
    lifecycle = evidence.lifecycle
    stages = [s for s in lifecycle.stages if any(d.key == key for d in s.documents)]
    ran = [evidence.ran_under(line) for line in evidence.history]
    due = [s for s in ran if s is not None and any(d.key == key for d in s.documents)]
    if not stages and not due and key not in lifecycle.cancellation_documents:
        return "N/A", f"The lifecycle does not call for a {title.lower()} at this tier"
    reached = {line.stage for line in evidence.history}
    killed = any(line.status == "killed" for line in evidence.history)
    if (
        not due
        and not any(s.name in reached for s in stages)
        and not (killed and key in lifecycle.cancellation_documents)
    ):
        stage = stages[0].name if stages else "closure"
        return "N/A", f"Not due yet: the {title.lower()} belongs to {stage}, not reached"
    return "No", f"No {title.lower()} is on record"


def _brief_field(name: str, evidence: Evidence) -> Result:
    value = getattr(evidence.brief, name, None)
    if value is None or value == [] or value == "":
        return "No", f"The brief does not give {name.replace('_', ' ')}"
    count = f" ({len(value)} given)" if isinstance(value, list) else ""
    return "Yes", f"Given in the brief{count}"


def _first_gate_approved(evidence: Evidence) -> Result:
    # the first stage as it ran (a project moved onto another version later keeps it)
    opening = evidence.ran_under(evidence.history[0]) if evidence.history else None
    opening = opening or evidence.lifecycle.stages[0]
    first = opening.gate.name
    goes = [d for d in evidence.decisions if d.gate == first and d.decision == "go"]
    later = [h for h in evidence.history if h.stage != opening.name]
    if goes:
        approved = max(d.decided_at for d in goes)
        early = [h for h in later if h.started_at < approved]
        if early:
            return "No", (
                f"{early[0].stage} started {early[0].started_at:%Y-%m-%d %H:%M} UTC, "
                f"before {first} was approved ({approved:%Y-%m-%d %H:%M} UTC)"
            )
        return "Yes", "; ".join(f"go by {d.approver} on {d.decided_at:%Y-%m-%d}" for d in goes)
    if later:
        return "No", f"{later[0].stage} started without a go at {first}"
    decided = [h for h in evidence.history if h.gate == first and h.outcome]
    if not decided:
        return None, f"{first} has not been decided yet"
    # Not authorised, and nothing went ahead: the gate did its job.
    return "N/A", f"{first} decided {', '.join(h.outcome for h in decided)}; no later stage began"


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


def _funding_gate_scored(evidence: Evidence) -> Result:
    """A go at the gate that commits the money, given without the gatekeepers' scores,
    funds a project the portfolio could not rank: a control gap."""
    funding = [
        (line, stage.gate)
        for line in evidence.history
        if (stage := evidence.ran_under(line)) is not None and stage.gate.funds_project
    ]
    gate = next((s.gate for s in evidence.lifecycle.stages if s.gate.funds_project), None)
    if gate is None and not funding:
        return "N/A", "The lifecycle has no gate that commits the project's money"
    goes = [(line, definition) for line, definition in funding if line.outcome == "go"]
    passed = [line for line, definition in goes if definition.scored]
    if not passed:
        unscorable = goes[-1][1] if goes else gate
        if unscorable is not None and not unscorable.scored:
            return "N/A", f"{unscorable.name} has no should-meet criterion to score"
        name = funding[-1][1].name if funding else gate.name
        return "N/A", f"Not due yet: {name} has not passed with a go"
    unscored, scored = [], 0
    for line in passed:
        answers = [
            d
            for d in evidence.decisions
            if d.gate == line.gate
            and d.attempt == line.attempt
            and d.round == line.rounds
            and d.decision == "go"
        ]
        unscored += [
            f"go at {line.gate} (attempt {line.attempt}) by {d.approver}"
            for d in answers
            if not d.scores
        ]
        scored += sum(1 for d in answers if d.scores)
        if not answers:
            unscored.append(f"{line.gate} (attempt {line.attempt}) passed with no go on record")
    if unscored:
        return "No", f"Without the gatekeeper's scores: {'; '.join(unscored)}"
    return "Yes", f"{scored} go answer(s) at the funding gate, each with its scores"


NEEDS_PMO_AUDIT = "checked by the PMO's audit (`pmo audit`) against the run history"


def _decided_by_gate_approvers(evidence: Evidence) -> Result:
    if evidence.authorities is None:
        return None, NEEDS_PMO_AUDIT
    if not evidence.authorities:
        return "N/A", "No gate decision has been recorded yet"
    wrong = [
        f"{a.decision} at {a.gate} by {a.approver}"
        + (" (not named on the gate)" if not a.entitled else " (without a used code)")
        for a in evidence.authorities
        if not (a.entitled and a.code_used)
    ]
    if wrong:
        return "No", "; ".join(wrong)
    policy = sum(a.channel == "policy" for a in evidence.authorities)
    by_rule = f", {policy} by the gate's timeout policy" if policy else ""
    delegated = [
        f"{a.decision} at {a.gate} by {a.approver}" for a in evidence.authorities if a.delegated
    ]
    by_delegates = f"; delegated: {'; '.join(delegated)}" if delegated else ""
    return "Yes", (
        f"{len(evidence.authorities)} answer(s) by named approvers with codes{by_rule}"
        f"{by_delegates}"
    )


def _bypasses_of(kind: str, evidence: Evidence) -> Result:
    if evidence.bypasses is None:
        return None, NEEDS_PMO_AUDIT
    found = [b for b in evidence.bypasses if b.finding == kind]
    if found:
        return "No", "; ".join(f"run {b.run_id}: {b.what}" for b in found)
    return "Yes", "Every resume of the lifecycle run matches an answer recorded at its gate"


def _run_moved_by_gates(evidence: Evidence) -> Result:
    return _bypasses_of("control gap", evidence)


def _run_alive(evidence: Evidence) -> Result:
    if evidence.bypasses is None:
        return None, NEEDS_PMO_AUDIT
    answer, comment = _bypasses_of("delivery risk", evidence)
    return (answer, comment) if answer == "No" else ("Yes", "The lifecycle run has not failed")


def _gates_within_sla(evidence: Evidence) -> Result:
    if evidence.gate_rounds is None:
        return None, NEEDS_PMO_AUDIT
    timed = [g for g in evidence.gate_rounds if g.sla_hours is not None and g.decided_at]
    if not timed:
        return "N/A", "No gate with an SLA has been decided yet"
    late = [
        f"{g.gate_name} took {g.round_hours:.0f} h (SLA {g.sla_hours:g} h)"
        for g in timed
        if g.round_hours > g.sla_hours
    ]
    if late:
        return "No", "; ".join(late)
    return "Yes", f"{len(timed)} gate round(s) decided within their SLA"


def _documents_intact(evidence: Evidence) -> Result:
    if evidence.document_problems is None:
        return None, NEEDS_PMO_AUDIT
    if not evidence.documents:
        return "N/A", "No document is on record yet"
    if evidence.document_problems:
        return "No", "; ".join(evidence.document_problems)
    return "Yes", "Every document's files match the sha256 the store recorded"


RECORD_CHECKS: dict[str, Callable[[Evidence], Result]] = {
    "first-gate-approved": _first_gate_approved,
    "gate-decisions-recorded": _gate_decisions_recorded,
    "decisions-segregated": _decisions_segregated,
    "refusals-recorded": _refusals_recorded,
    "setbacks-explained": _setbacks_explained,
    "risks-owned": _risks_owned,
    "risk-responses-planned": _risk_responses_planned,
    "decided-by-gate-approvers": _decided_by_gate_approvers,
    "run-moved-by-gates": _run_moved_by_gates,
    "run-alive": _run_alive,
    "gates-within-sla": _gates_within_sla,
    "documents-intact": _documents_intact,
    "funding-gate-scored": _funding_gate_scored,
}
