"""Generated `pmo approve` command lines: each answer is recorded as counting, or refused
in one line with exit status 2 and nothing recorded but the refusal; never a traceback
(SQLite and PostgreSQL)."""

import uuid

import pytest
from hypothesis import event, given
from hypothesis import strategies as st
from typer.testing import CliRunner

from pmo.cli import app
from pmo.gates.answers import send_approval_request
from pmo.mail import compose_message
from pmo.store import session_scope
from pmo.store.models import GateDecision
from tests.factories import make_brief
from tests.fuzz import TEXT, fuzz
from tests.project_record import LIFECYCLE, at_gate

pytestmark = pytest.mark.integration

CHARTER = LIFECYCLE.lifecycle.stages[0]
SPONSOR, PMO, PM = "dana.reyes@example.com", "pmo@example.com", "sam.okafor@example.com"


def waiting_gate() -> tuple[str, dict[str, str]]:
    """A new project waiting at its charter gate, a code mailed to each approver."""
    run_id = str(uuid.uuid4())
    codes: dict[str, str] = {}
    with session_scope() as session:
        brief = make_brief(key=f"A{run_id[:8].upper()}")
        _, _, gate = at_gate(session, brief, CHARTER, run_id=run_id)
        for approver in (SPONSOR, PMO):

            def compose(code, approver=approver, gate_id=gate.id, links=None):
                codes[approver] = code
                return compose_message(
                    to=[approver],
                    subject="Decide",
                    body=code,
                    message_id_key=f"{gate_id}/{approver}",
                )

            send_approval_request(session, gate=gate, round=1, approver=approver, compose=compose)
    return run_id, codes


def usually(usual: st.SearchStrategy, odd: st.SearchStrategy) -> st.SearchStrategy:
    return st.sampled_from([usual, usual, usual, odd]).flatmap(lambda chosen: chosen)


@st.composite
def answer_command(draw) -> tuple[str, str, str, str, str]:
    """--as, --decision, --code, --comment, --conditions: usual, or odd in places."""
    approver = draw(
        usually(st.sampled_from([SPONSOR, PMO]), st.sampled_from([PM, "lee.park@example.com"]))
    )
    approver = draw(usually(st.just(approver), TEXT))
    decision = draw(usually(st.sampled_from(["go", "kill", "hold", "recycle"]), TEXT))
    code = draw(usually(st.just("<their code>"), st.one_of(st.just("<the other's code>"), TEXT)))
    return approver, decision, code, draw(TEXT), draw(TEXT)


def answers_on_record() -> tuple[int, int]:
    with session_scope() as session:
        rows = session.query(GateDecision).all()
        return sum(r.accepted for r in rows), sum(not r.accepted for r in rows)


@fuzz(100)
@given(command=answer_command())
def test_a_generated_answer_counts_or_is_refused_in_one_line(store_url, prefect_api, command):
    approver, decision, code, comment, conditions = command
    run_id, codes = waiting_gate()
    other = PMO if approver == SPONSOR else SPONSOR
    code = {"<their code>": codes.get(approver, "X"), "<the other's code>": codes[other]}.get(
        code, code
    )
    args = ["approve", run_id, "--as", approver, "--decision", decision, "--code", code]
    args += ["--comment", comment, "--conditions", conditions]
    accepted, refused = answers_on_record()
    result = CliRunner().invoke(app, args)

    event("counted" if result.exit_code == 0 else "refused")
    assert result.exit_code in (0, 2), (args, result.output, result.exception)
    if result.exit_code == 0:
        assert answers_on_record() == (accepted + 1, refused)
    else:
        assert result.output.startswith("error: ") and result.output.count("\n") == 1, (
            args,
            result.output,
        )
        # refused at the command line (nothing recorded) or by the gate (the refusal only)
        assert answers_on_record() in ((accepted, refused), (accepted, refused + 1))
