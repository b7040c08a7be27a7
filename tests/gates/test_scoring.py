"""Gatekeepers score a gate: scores on the record with the answer, the consolidated
scorecard (weighted score, each gatekeeper's scores, the spread), the funding score at the
gate that commits the money, and every bad score refused in one line. SQLite and
PostgreSQL; figures worked out by hand in the comments."""

import pytest
from typer.testing import CliRunner

from pmo.cli import app
from pmo.gates.answers import record_answer
from pmo.gates.rules import Answer
from pmo.gates.scoring import funding_shortfall, round_scorecard
from pmo.store import session_scope
from pmo.store.models import Gate, GateDecision, GateScore
from tests.gates.test_gate_rules import PMO, SPONSOR, error_line, open_gate

pytestmark = pytest.mark.integration


def answer(gate_id, stage, brief, run_id, answer_given, key):
    with session_scope() as session:
        return record_answer(
            session,
            gate_id=gate_id,
            definition=stage.gate,
            brief=brief,
            response_key=key,
            answer=answer_given,
            channel="cli",
            flow_run_id=run_id,
        )


def test_scores_make_the_weighted_score_and_pass_the_funding_gate(store_url):
    run_id, gate_id, stage, brief, codes = open_gate()
    assert stage.gate.funds_project  # pmbok-waterfall's charter approval commits the money
    sponsor = Answer(
        SPONSOR,
        "go",
        codes[SPONSOR],
        "Fits the strategy",
        scores={"strategic-fit": 8, "risk-exposure": 6},
        checks={"objectives-measurable": True},
    )
    pmo = Answer(
        PMO,
        "go",
        codes[PMO],
        "Agreed",
        scores={"strategic-fit": 6, "risk-exposure": 4},
        checks={"objectives-measurable": True},
    )
    assert answer(gate_id, stage, brief, run_id, sponsor, "a").outcome is None
    assert answer(gate_id, stage, brief, run_id, pmo, "b").outcome == "go"
    with session_scope() as session:
        gate = session.get(Gate, gate_id)
        card = round_scorecard(session, gate=gate, definition=stage.gate, round=1)
        # strategic-fit: mean (8 + 6) / 2 = 7, weight 3; risk-exposure: (6 + 4) / 2 = 5,
        # weight 2; weighted (3 x 7 + 2 x 5) / 5 = 6.2, over the funding score 6.
        assert str(card.weighted) == "6.20"
        assert card.spread == 2
        fit = card.scored[0]
        assert (fit.criterion.key, fit.by_gatekeeper, str(fit.mean)) == (
            "strategic-fit",
            {SPONSOR: 8, PMO: 6},
            "7.00",
        )
        assert card.unmet == []
        assert funding_shortfall(session, gate=gate, definition=stage.gate, round=1) is None
        # on the record, a row per criterion per answer
        assert session.query(GateScore).count() == 6


def test_a_go_below_the_funding_score_holds_the_project(store_url):
    run_id, gate_id, stage, brief, codes = open_gate()
    low = {"strategic-fit": 4, "risk-exposure": 4}
    answer(gate_id, stage, brief, run_id, Answer(SPONSOR, "go", codes[SPONSOR], scores=low), "a")
    lower = {"strategic-fit": 5, "risk-exposure": 3}
    recorded = answer(
        gate_id, stage, brief, run_id, Answer(PMO, "go", codes[PMO], scores=lower), "b"
    )
    # means 4.5 and 3.5: (3 x 4.5 + 2 x 3.5) / 5 = 4.1, below 6: the go holds.
    assert recorded.outcome == "hold"
    with session_scope() as session:
        gate = session.get(Gate, gate_id)
        reason = funding_shortfall(session, gate=gate, definition=stage.gate, round=1)
        assert reason.startswith(
            "the gatekeepers' weighted score 4.10 is below the funding score 6"
        )


def test_a_go_past_a_must_meet_no_needs_a_comment(store_url):
    run_id, gate_id, stage, brief, codes = open_gate()
    no = {"objectives-measurable": False}
    recorded = answer(
        gate_id, stage, brief, run_id, Answer(SPONSOR, "go", codes[SPONSOR], checks=no), "a"
    )
    assert recorded.refusal.kind == "go-without-reason"
    assert "objectives-measurable" in recorded.refusal.message
    recorded = answer(
        gate_id,
        stage,
        brief,
        run_id,
        Answer(SPONSOR, "go", codes[SPONSOR], "Measures agreed after the gate", checks=no),
        "b",
    )
    assert recorded.accepted
    with session_scope() as session:
        card = round_scorecard(
            session, gate=session.get(Gate, gate_id), definition=stage.gate, round=1
        )
        assert card.unmet == ["objectives-measurable"]


@pytest.mark.parametrize(
    ("options", "line"),
    [
        (
            ["--score", "strategic-fit=11"],
            "error: --score: strategic-fit=11: a score is a whole number from 0 to 10",
        ),
        (["--score", "strategic-fit"], "error: --score: 'strategic-fit' is not KEY=VALUE"),
        (
            ["--score", "strategic-fit=3", "--score", "strategic-fit=4"],
            "error: --score: 'strategic-fit' is given twice",
        ),
        (
            ["--score", "beauty=5"],
            "error: --score: gate 'charter-approval' scores no criterion 'beauty' "
            "(it scores: risk-exposure, strategic-fit)",
        ),
        (
            ["--check", "objectives-measurable=maybe"],
            "error: --check: objectives-measurable=maybe: answer yes or no",
        ),
        (
            ["--check", "sponsor-named=yes"],
            "error: --check: gate 'charter-approval' asks no yes/no for 'sponsor-named' "
            "(the must-meet criteria left to the gatekeepers: objectives-measurable)",
        ),
    ],
)
def test_a_bad_score_is_refused_in_one_line_and_nothing_is_recorded(store_url, options, line):
    run_id, gate_id, _, _, codes = open_gate()
    result = CliRunner().invoke(
        app,
        ["approve", run_id, "--as", SPONSOR, "--decision", "go", "--code", codes[SPONSOR]]
        + options,
    )
    assert error_line(result) == line
    with session_scope() as session:
        assert session.query(GateDecision).filter_by(gate_id=gate_id).count() == 0
