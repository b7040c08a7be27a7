"""The audit checklist: its data file, and answers from evidence or left for the auditor."""

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pmo.audit import RECORD_CHECKS, Evidence, answer_checklist, answer_question
from pmo.errors import LifecycleError
from process_library.checklist import RecordCheck, load_checklist
from process_library.loader import load_lifecycle
from tests.factories import make_brief

pytestmark = pytest.mark.unit

LIFECYCLE = load_lifecycle("pmbok-waterfall").lifecycle
CHECKLIST = load_checklist("project-audit")
AREAS = [
    "Authorisation",
    "Scope",
    "Schedule",
    "Budget",
    "Governance",
    "Change control",
    "Risks and issues",
    "Reporting",
    "Quality",
    "Closeout",
]


@dataclass
class Doc:
    document_key: str
    title: str
    version: int
    sha256: str = "ab" * 32


@dataclass
class Decision:
    gate: str
    attempt: int
    approver: str
    decision: str
    comment: str = ""
    decided_at: datetime = datetime(2027, 3, 1, tzinfo=UTC)


@dataclass
class Line:
    gate: str
    attempt: int
    outcome: str | None


EMPTY = Evidence(
    brief=make_brief(),
    lifecycle=LIFECYCLE,
    documents=[],
    decisions=[],
    history=[],
    refused_answers=0,
)


def question(check: str):
    return next(q for area in CHECKLIST.areas for q in area.questions if q.check == check)


def test_the_checklist_covers_every_audit_area_and_each_record_check_has_code():
    assert [area.name for area in CHECKLIST.areas] == AREAS
    assert set(RECORD_CHECKS) == set(RecordCheck.__args__)
    assert all(q.evidence for area in CHECKLIST.areas for q in area.questions)


def test_documents_are_answered_from_the_record():
    charter = question("document:charter")
    assert answer_question(charter, EMPTY).answer == "No"
    assert answer_question(charter, EMPTY).finding == "control gap"
    on_record = replace(EMPTY, documents=[Doc("charter", "Project charter", 2)])
    answered = answer_question(charter, on_record)
    assert (answered.answer, answered.finding) == ("Yes", None)
    assert answered.comment.startswith("Project charter v2 on record (sha256 abababab")


def test_a_document_the_tailored_lifecycle_does_not_call_for_is_not_applicable():
    small = replace(EMPTY, lifecycle=LIFECYCLE.tailored_for("small"))
    assert answer_question(question("document:status-report"), small).answer == "N/A"


def test_questions_without_a_check_are_left_for_the_auditor():
    answers = [a for area in answer_checklist(CHECKLIST, EMPTY) for a in area.answers]
    left = [a for a in answers if a.answer is None]
    assert left and all(a.comment == "" or "not been decided" in a.comment for a in left)
    assert all(a.finding is None for a in left)


def test_gate_records_answer_governance_questions():
    first = LIFECYCLE.stages[0].gate.name
    decided = replace(
        EMPTY,
        decisions=[
            Decision(first, 1, "dana.reyes@example.com", "go"),
            Decision("Plan approval", 1, "sam.okafor@example.com", "recycle"),
        ],
        history=[Line(first, 1, "go"), Line("Plan approval", 1, "recycle")],
        refused_answers=2,
    )
    answers = {name: answer_question(question(f"record:{name}"), decided) for name in RECORD_CHECKS}
    assert answers["first-gate-approved"].answer == "Yes"
    assert answers["gate-decisions-recorded"].answer == "Yes"
    assert answers["decisions-segregated"].answer == "No"
    assert "Plan approval" in answers["decisions-segregated"].comment
    assert answers["refusals-recorded"].answer == "Yes"
    assert answers["setbacks-explained"].answer == "No"
    assert answers["risk-responses-planned"].answer == "No"  # one of Apollo's risks has none
    assert answers["risks-owned"].answer == "Yes"


def test_an_unknown_record_check_names_the_file_and_the_question(tmp_path: Path):
    (tmp_path / "mine.yaml").write_text(
        "name: mine\ntitle: Mine\nareas:\n  - key: scope\n    name: Scope\n    questions:\n"
        "      - {question: 'Q', evidence: E, check: 'record:vibes', finding: control gap}\n",
        encoding="utf-8",
    )
    with pytest.raises(LifecycleError) as raised:
        load_checklist("mine", tmp_path)
    assert str(raised.value).startswith(f"{tmp_path / 'mine.yaml'}: areas[scope].questions[0]")
    assert "unknown record check 'vibes'" in str(raised.value)
