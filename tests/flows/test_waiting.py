"""A run waits at a pause key the store hands out, and an answer recorded at any moment
reaches it: nothing is lost while the run is between reading the store and pausing.

Real parts: a Prefect server, the store on SQLite and PostgreSQL, `pmo approve`'s own
function. The flow here waits exactly as the gate does (`begin_wait`, `wait_for_input`),
with a pause of its own between the two, so two answers land in that window every time.
"""

import contextvars
import threading
import time
import uuid

import pytest
from prefect import flow
from prefect.context import get_run_context

from flows.gate import answer_form
from flows.waiting import wait_for_input
from pmo.gates.answers import begin_wait, send_approval_request
from pmo.gates.rules import Answer
from pmo.mail import compose_message
from pmo.runtime.answering import submit_answer
from pmo.store import session_scope
from pmo.store.models import Gate, GateDecision, Project
from tests.factories import make_brief
from tests.project_record import LIFECYCLE, at_gate

pytestmark = pytest.mark.integration

SPONSOR, PMO = "dana.reyes@example.com", "pmo@example.com"
CHARTER = LIFECYCLE.lifecycle.stages[0]  # charter approval: quorum all, two approvers
WINDOW_SECONDS = 2.0


def gate_with_codes(brief) -> tuple[int, dict[str, str]]:
    codes: dict[str, str] = {}
    with session_scope() as session:
        _, _, gate = at_gate(session, brief, CHARTER, run_id=str(uuid.uuid4()))
        for approver in (SPONSOR, PMO):

            def compose(code, approver=approver, links=None):
                codes[approver] = code
                return compose_message(
                    to=[approver], subject="Decide", body=code, message_id_key=f"w/{approver}"
                )

            send_approval_request(session, gate=gate, round=1, approver=approver, compose=compose)
        return gate.id, codes


@flow(name="waits-like-a-gate")
def waits_like_a_gate(gate_id: int, window: float) -> list[str]:
    """Wait for the gate's round to be decided as the gate does, but stay a while between
    taking the pause key and pausing: the moment a lost wake-up would strike."""
    brief = make_brief()
    with session_scope() as session:  # the run waits at this gate, as open_gate records
        run_id = str(get_run_context().flow_run.id)
        session.get(Gate, gate_id).flow_run_id = run_id
        session.get(Project, session.get(Gate, gate_id).project_id).flow_run_id = run_id
    seen = []
    while True:
        with session_scope() as session:
            wait = begin_wait(
                session,
                gate_id=gate_id,
                definition=CHARTER.gate,
                brief=brief,
                round=1,
                prefix="initiation-1",
            )
        seen.append(wait.key or f"decided:{wait.outcome}")
        if wait.outcome is not None:
            return seen
        time.sleep(window)
        form = answer_form(CHARTER.gate, [SPONSOR, PMO], "Decide")
        wait_for_input(form, wait.key)


def test_two_answers_between_the_runs_read_and_its_pause_are_both_taken(store_url, prefect_api):
    brief = make_brief()
    gate_id, codes = gate_with_codes(brief)
    outcome: dict[str, object] = {}
    # the thread runs in a copy of this context, which points Prefect at the test server
    context = contextvars.copy_context()
    waiter = threading.Thread(
        target=context.run,
        args=(lambda: outcome.update(seen=waits_like_a_gate(gate_id, WINDOW_SECONDS)),),
        daemon=True,
    )
    waiter.start()
    deadline = time.monotonic() + 60
    while _waiting_key(gate_id) is None:  # the run took its pause key: the window opens
        assert time.monotonic() < deadline, "the run never came to wait"
        time.sleep(0.02)
    run_id = _run_of(gate_id)

    first = submit_answer(run_id, Answer(SPONSOR, "go", codes[SPONSOR], "Fine"))
    second = submit_answer(run_id, Answer(PMO, "go", codes[PMO], "Fine"))

    assert (first.outcome, first.waiting_for) == (None, [PMO])
    assert second.outcome == "go" and second.woken
    waiter.join(timeout=60)
    # the run paused once, was woken by the deciding answer, and found the round decided
    assert outcome["seen"] == ["initiation-1-1-1", "decided:go"]
    with session_scope() as session:
        rows = session.query(GateDecision).order_by(GateDecision.id).all()
        assert [(r.approver_email, r.accepted, r.channel) for r in rows] == [
            (SPONSOR, True, "cli"),
            (PMO, True, "cli"),
        ]


def _waiting_key(gate_id: int) -> str | None:
    with session_scope() as session:
        return session.get(Gate, gate_id).waiting_key


def _run_of(gate_id: int) -> str:
    with session_scope() as session:
        return session.get(Gate, gate_id).flow_run_id
