"""Many answers at one instant, on SQLite and PostgreSQL: 50 approvers across 20 projects,
duplicate submissions of one code, and two SLA checks applying a timeout policy while the
approvers answer. Each gate round ends with exactly one outcome, no code counts twice,
and the ledger is intact.

Real parts: the store on both databases, `pmo approve`'s own function, the gate-sla check,
a Prefect server for the events the answers emit.
"""

import contextvars
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from pmo.errors import ResponseRefused
from pmo.gates import sla
from pmo.gates.answers import lock_gate, send_approval_request
from pmo.gates.rules import Answer, gate_outcome
from pmo.gates.sla import check_gate_slas
from pmo.mail import compose_message
from pmo.runtime.answering import submit_answer
from pmo.store import session_scope
from pmo.store.engine import StoreUnavailable
from pmo.store.ledger_verify import verify_ledger
from pmo.store.models import Gate, GateDecision, Project, utcnow
from process_library.loader import load_lifecycle
from tests.factories import make_brief
from tests.project_record import at_gate

pytestmark = pytest.mark.integration

STAGE_GATE = load_lifecycle("stage-gate")
IDEA_SCREEN = STAGE_GATE.lifecycle.stages[0]  # gatekeepers, majority, on_timeout: hold
PROJECTS = 20
DUPLICATES = 5  # approvers who submit their code twice at the same instant


def gatekeepers(number: int) -> list[str]:
    """Three gatekeepers for the first ten projects, two for the others: 50 in all."""
    count = 3 if number < PROJECTS // 2 else 2
    return [f"keeper{k}.p{number}@example.com" for k in range(count)]


def project_at_idea_screen(number: int) -> tuple[str, dict[str, str]]:
    """A project waiting at gate 1 with a code mailed to each gatekeeper: run id, codes."""
    approvers = {"gatekeepers": gatekeepers(number), "sponsor": ["dana.reyes@example.com"]}
    brief = make_brief(key=f"RACE{number}", approvers=approvers)
    run_id = str(uuid.uuid4())
    codes: dict[str, str] = {}
    with session_scope() as session:
        _, _, gate = at_gate(session, brief, IDEA_SCREEN, lifecycle=STAGE_GATE, run_id=run_id)
        for approver in gatekeepers(number):

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


def answer(run_id: str, approver: str, code: str, decision: str) -> str:
    try:
        submit_answer(run_id, Answer(approver, decision, code, "At once"))
        return "accepted"
    except ResponseRefused as refused:
        return str(refused)


def sla_check() -> list[str]:
    # six days on: past the 120 h SLA, the policy holds
    actions = check_gate_slas(now=utcnow() + timedelta(days=6))
    return [f"{a.site.project_key}:{a.kind}" for a in actions]


def test_every_gate_round_ends_with_one_outcome_when_everyone_answers_at_once(
    store_url, prefect_api
):
    assert sum(len(gatekeepers(n)) for n in range(PROJECTS)) == 50
    projects = [project_at_idea_screen(n) for n in range(PROJECTS)]
    jobs = []
    for number, (run_id, codes) in enumerate(projects):
        for index, approver in enumerate(gatekeepers(number)):
            # some object: a kill from any gatekeeper decides the round at once
            decision = "kill" if (number % 4 == 0 and index == 1) else "go"
            jobs.append((answer, run_id, approver, codes[approver], decision))
    for run_id, codes in projects[:DUPLICATES]:
        approver = next(iter(codes))
        jobs.append((answer, run_id, approver, codes[approver], "go"))
    jobs += [(sla_check,), (sla_check,)]

    barrier = threading.Barrier(len(jobs))

    def at_once(job):
        barrier.wait()
        return job[0](*job[1:])

    # each thread runs in a copy of this context, which points Prefect at the test server
    with ThreadPoolExecutor(len(jobs)) as pool:
        futures = [pool.submit(contextvars.copy_context().run, at_once, job) for job in jobs]
        results = [future.result(timeout=300) for future in futures]

    refusals = [r for r in results if isinstance(r, str) and r != "accepted"]
    assert all("already used" in r or "already decided" in r for r in refusals), refusals
    with session_scope() as session:
        for gate in session.scalars(select(Gate).order_by(Gate.id)):
            assert_one_outcome(session, gate)
        assert [str(p) for p in verify_ledger(session)] == []


def assert_one_outcome(session, gate: Gate) -> None:
    """The answers accepted in round 1, in the order the store judged them, reach one
    outcome with the last of them (none counts after the round is decided), no approver
    counts twice, and a policy decision comes only when the answers had decided nothing."""
    rows = session.scalars(
        select(GateDecision)
        .where(GateDecision.gate_id == gate.id, GateDecision.round == 1)
        .order_by(GateDecision.id)
    ).all()
    accepted = [r for r in rows if r.accepted]
    people = [r for r in accepted if r.channel != "policy"]
    assert len({r.approver_email for r in people}) == len(people), gate.gate_key
    key = session.get(Project, gate.project_id).key
    approvers = len(gatekeepers(int(key.removeprefix("RACE"))))
    decided_after = [
        gate_outcome(IDEA_SCREEN.gate, approvers, [r.decision for r in people[: i + 1]])
        for i in range(len(people))
    ]
    # no accepted answer after the one that decided the round
    assert all(outcome is None for outcome in decided_after[:-1]), decided_after
    policy = [r for r in accepted if r.channel == "policy"]
    if policy:
        assert len(policy) == 1 and not any(decided_after), (decided_after, policy)
        assert all(r.id < policy[0].id for r in people)  # none accepted after the policy
    else:
        assert decided_after and decided_after[-1] is not None, key


def test_a_gate_the_sla_sweep_has_checked_is_free_while_it_checks_the_next(store_url, monkeypatch):
    # At a thousand gates a sweep that held each gate it checked until it ended kept every
    # answer to them waiting minutes. Row locks show it; SQLite locks the whole database
    # for each write, so it runs on PostgreSQL.
    if make_url(store_url).get_backend_name() == "sqlite":
        pytest.skip("SQLite has no row locks")
    first, second = (gate_id(project_at_idea_screen(n)[0]) for n in range(2))
    free_while_sweeping = []

    def lock_gate_after_trying_the_first(session, gate_id):
        if gate_id == second:
            free_while_sweeping.append(lockable(first))
        return lock_gate(session, gate_id)

    monkeypatch.setattr(sla, "lock_gate", lock_gate_after_trying_the_first)
    decided = [action for action in sla_check() if action.endswith("decided-by-policy")]
    assert decided == ["RACE0:decided-by-policy", "RACE1:decided-by-policy"]
    assert free_while_sweeping == [True]


def gate_id(run_id: str) -> int:
    with session_scope() as session:
        return session.scalar(select(Gate.id).where(Gate.flow_run_id == run_id))


def lockable(gate_id: int) -> bool:
    """Whether another transaction (an approver's answer) can lock the gate within 2 s."""
    try:
        with session_scope() as session:
            session.execute(text("SET LOCAL lock_timeout = '2s'"))
            lock_gate(session, gate_id)
        return True
    except StoreUnavailable:  # lock_timeout: the row is held
        return False
