"""A decision posted from a review page: handed to the store's one judge, as `pmo approve`
hands its answers, then the run woken when the answer decided the round."""

import hashlib
from dataclasses import dataclass

import httpx

from flows.waiting import wake
from pmo.brief import ProjectBrief
from pmo.errors import PmoInputError
from pmo.gates.answers import WEB, Recorded, gate_site, gate_stage, record_answer
from pmo.gates.events import announce_answer, answer_payload
from pmo.gates.rules import Answer, scoring_problem
from pmo.limits import TEXT_CHARS, check_length
from pmo.store import session_scope
from pmo.store.lifecycles import lifecycle_for
from pmo.store.models import Gate, GateDecision, Project, ReviewLink, StageRun
from pmo.store.records import gate_waits_at

DECISIONS = ("go", "kill", "hold", "recycle")


@dataclass(frozen=True)
class Decided:
    """What the judge made of a decision posted from a page, and whether the run was woken
    or Prefect could not be asked to (the decision stands; the gate-sla sweep wakes it)."""

    recorded: Recorded
    woken: bool
    unreachable: bool = False


def decide(
    link_id: int,
    *,
    decision: str,
    comment: str,
    conditions: str,
    scores: dict[str, int] | None = None,
    checks: dict[str, bool] | None = None,
) -> Decided:
    """Have the store judge and record the decision of the approver of review link
    `link_id` (whose token, or inbox token, the page checked); wake the run when it
    decides the round. A refused answer is recorded as refused, as any other.

    The same form posted twice (a double click, a reload) is one answer: its response
    key is the link and what it says, so the second post finds the first's record.
    """
    if decision not in DECISIONS:
        raise PmoInputError("decision", f"'{decision[:40]}' is not a decision")
    check_length("comment", comment, TEXT_CHARS)
    check_length("conditions", conditions, TEXT_CHARS)
    with session_scope() as session:
        link = session.get(ReviewLink, link_id)
        person = link.delegate_email or link.approver_email  # a delegate answers for the seat
        gate = session.get(Gate, link.gate_id)
        stage_run = session.get(StageRun, gate.stage_run_id)
        project = session.get(Project, gate.project_id)
        brief = ProjectBrief.model_validate(project.brief)
        definition = gate_stage(lifecycle_for(session, stage_run=stage_run), stage_run, gate).gate
        scores, checks = scores or {}, checks or {}
        if problem := scoring_problem(definition, scores, checks):
            raise PmoInputError(problem[0], problem[1])  # nothing recorded: a slip of the hand
        given = (decision, comment, conditions, sorted(scores.items()), sorted(checks.items()))
        said = hashlib.sha256(repr(given).encode()).hexdigest()
        response_key = f"{WEB}-{link.id}-{said[:16]}"
        recorded = record_answer(
            session,
            gate_id=gate.id,
            definition=definition,
            brief=brief,
            response_key=response_key,
            answer=Answer(person, decision, "", comment, conditions, scores, checks),
            channel=WEB,
            flow_run_id=gate.flow_run_id,
            link=link,
        )
        site = gate_site(project, stage_run, gate)
        row = session.get(GateDecision, recorded.decision_id)
        payload, locked_at = answer_payload(row, row.round), gate.locked_at
        gate_id, run_id = gate.id, gate.flow_run_id
    announce_answer(site, recorded, payload=payload, locked_at=locked_at, once_key=response_key)
    woken = False
    if recorded.refusal is None and recorded.outcome and recorded.waiting_key and run_id:
        try:
            woken = wake(run_id, recorded.waiting_key, lambda: gate_waits_at(gate_id))
        except (httpx.TransportError, httpx.HTTPStatusError):
            return Decided(recorded, woken=False, unreachable=True)
    return Decided(recorded, woken)
