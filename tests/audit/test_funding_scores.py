"""The audit reads the scores given with each answer from the store: a go at the funding
gate without them is a control gap (SQLite and PostgreSQL)."""

import pytest

from pmo.audit.checklist import Evidence, answer_question
from pmo.audit.records import load_records
from pmo.store import session_scope
from process_library.checklist import load_checklist
from tests.factories import make_brief
from tests.project_record import LIFECYCLE, at_gate, decide, register

pytestmark = pytest.mark.integration

INITIATION = LIFECYCLE.lifecycle.stages[0]  # its gate, Charter approval, commits the money
CHECK = next(
    q
    for area in load_checklist("project-audit").areas
    for q in area.questions
    if q.check == "record:funding-gate-scored"
)


def answers() -> dict[str, tuple[str | None, str]]:
    with session_scope() as session:
        records = load_records(session)
    found = {}
    for record in records:
        evidence = Evidence(
            brief=make_brief(key=record.key),
            lifecycle=record.lifecycle,
            documents=record.documents,
            decisions=record.decision_lines(),
            history=record.stage_lines(),
            refused_answers=record.refused_answers,
            versions=record.versions,
        )
        answer = answer_question(CHECK, evidence)
        found[record.key] = (answer.answer, answer.comment)
    return found


def test_a_go_at_the_funding_gate_is_checked_for_the_scores_given_with_it(store_url):
    scored, unscored, waiting = (make_brief(key=k) for k in ("SCORED", "UNSCORED", "WAITING"))
    for brief in (scored, unscored, waiting):
        register(brief)
    with session_scope() as session:
        at_gate(session, waiting, INITIATION)
    decide(scored, INITIATION, 1, "go", {"strategic-fit": 8, "risk-exposure": 6})
    decide(unscored, INITIATION, 1, "go")
    found = answers()
    assert found["SCORED"] == ("Yes", "1 go answer(s) at the funding gate, each with its scores")
    assert found["UNSCORED"] == (
        "No",
        "Without the gatekeeper's scores: go at Charter approval (attempt 1) by "
        "dana.reyes@example.com",
    )
    assert found["WAITING"] == ("N/A", "Not due yet: Charter approval has not passed with a go")
