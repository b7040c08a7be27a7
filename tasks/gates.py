"""Tasks of a stage gate: open it, read where it stands, record answers and its decision."""

from dataclasses import dataclass

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run
from sqlalchemy import select

from pmo.brief import ProjectBrief
from pmo.gates import answers
from pmo.gates.answers import Wait, gate_site, gate_stage
from pmo.gates.events import announce_answer, answer_payload, emit_gate_event
from pmo.gates.meetings import cancel_meeting
from pmo.gates.rules import Answer, GateSite
from pmo.gates.scoring import Scorecard, funding_shortfall, round_scorecard
from pmo.store import session_scope
from pmo.store.lifecycles import lifecycle_for
from pmo.store.models import Gate, GateDecision, Project, StageRun, utcnow
from pmo.store.records import (
    decided_gate,
    ensure_gate,
    gate_decisions,
    get_project,
    mark_decided,
)
from process_library.schema import Decision, Stage
from process_library.schema import Gate as GateDefinition
from tasks.retries import STORE_RETRIES, retried_while_unavailable


@dataclass(frozen=True)
class Verdict:
    """A gate's decision and the reasons given by those who made it; `replan_stage` is
    the stage an exception gate's recycle sends the project back to."""

    outcome: Decision
    reason: str
    replan_stage: str | None = None
    gate_name: str | None = None  # an exception gate's; None: the stage's own gate
    scorecard: dict | None = None  # the gatekeepers' scores (scoring.Scorecard.as_dict)


@task(cache_policy=NO_CACHE, **STORE_RETRIES, task_run_name="open gate {gate_name}")
def open_gate(
    brief: ProjectBrief,
    stage_run_id: int,
    gate_key: str,
    gate_name: str,
    kind: str = "stage",
) -> GateSite:
    """Open a gate of this stage attempt (or find it open already): the gate that closes
    it, or an exception gate a tolerance breach opened."""
    with session_scope() as session:
        stage_run = session.get(StageRun, stage_run_id)
        gate = ensure_gate(
            session,
            stage_run=stage_run,
            gate_key=gate_key,
            gate_name=gate_name,
            flow_run_id=flow_run.get_id(),
            kind=kind,
        )
        return gate_site(session.get(Project, stage_run.project_id), stage_run, gate)


@task(cache_policy=NO_CACHE, **STORE_RETRIES, task_run_name="wait at gate (round {round})")
def begin_wait(
    site: GateSite, definition: GateDefinition, brief: ProjectBrief, round: int, prefix: str
) -> Wait:
    """The round's outcome from the answers on record (and any policy decision), or the
    pause key the run now waits at for the next answer."""
    with session_scope() as session:
        return answers.begin_wait(
            session,
            gate_id=site.gate_id,
            definition=definition,
            brief=brief,
            round=round,
            prefix=prefix,
        )


@retried_while_unavailable
def last_pause_key(site: GateSite) -> str | None:
    """The pause key the run last waited at for this gate, if it still waits there."""
    with session_scope() as session:
        return session.get(Gate, site.gate_id).waiting_key


@task(cache_policy=NO_CACHE, **STORE_RETRIES, task_run_name="record answer {response_key}")
def record_gate_answer(
    site: GateSite,
    brief: ProjectBrief,
    definition: GateDefinition,
    response_key: str,
    answer: Answer,
) -> bool:
    """Judge an answer given through the Resume form and record it; returns whether it counts."""
    with session_scope() as session:
        recorded = answers.record_answer(
            session,
            gate_id=site.gate_id,
            definition=definition,
            brief=brief,
            response_key=response_key,
            answer=answer,
            channel=answers.FORM,
            flow_run_id=flow_run.get_id(),
        )
        row = session.get(GateDecision, recorded.decision_id)
        payload, locked_at = (
            answer_payload(row, row.round),
            session.get(Gate, site.gate_id).locked_at,
        )
    announce_answer(site, recorded, payload=payload, locked_at=locked_at, once_key=response_key)
    return recorded.accepted


@task(cache_policy=NO_CACHE, **STORE_RETRIES, task_run_name="record decision {outcome}")
def decide_gate(
    site: GateSite, round: int, outcome: Decision, definition: GateDefinition
) -> Verdict:
    """Record the gate's decision for this round, with the gatekeepers' scorecard; a hold
    puts the project on hold."""
    with session_scope() as session:
        gate = session.get(Gate, site.gate_id)
        stage_run = session.get(StageRun, gate.stage_run_id)
        project = get_project(session, key=site.project_key)
        mark_decided(
            session, gate=gate, stage_run=stage_run, round=round, outcome=outcome, at=utcnow()
        )
        # The round's review meeting, if one was set, is cancelled with its invitees.
        cancel_meeting(
            session,
            project=project,
            gate=gate,
            stage=gate_stage(lifecycle_for(session, stage_run=stage_run), stage_run, gate),
            round=round,
            outcome=outcome,
        )
        if outcome == "hold":
            project.status = "on-hold"
        elif project.status == "on-hold":
            project.status = "active"
        shortfall = funding_shortfall(session, gate=gate, definition=definition, round=round)
        reason = shortfall or _reason(session, gate, round, outcome)
        card = round_scorecard(session, gate=gate, definition=definition, round=round).as_dict()
    emit_gate_event(
        "decided",
        site,
        once_key=f"{site.once_key}/{round}",
        payload={"decision": outcome, "round": round, "reason": reason, "scores": card},
    )
    return Verdict(outcome, reason, scorecard=card)


@retried_while_unavailable
def recall_verdict(brief: ProjectBrief, stage: Stage, attempt: int) -> Verdict | None:
    """The verdict this stage attempt's gate reached before the run was resumed, if any:
    a resumed run skips what is decided instead of replaying it task by task."""
    with session_scope() as session:
        gate = decided_gate(session, project_key=brief.key, stage_key=stage.key, attempt=attempt)
        if gate is None:
            return None
        return Verdict(gate.outcome, _reason(session, gate, gate.round, gate.outcome))


def _reason(session, gate: Gate, round: int, outcome: str) -> str:
    """Who decided so, with their comments: `dana@example.com: Re-plan; pmo@...`."""
    return "; ".join(
        f"{row.approver_email}: {row.comment}" if row.comment else row.approver_email
        for row in gate_decisions(session, gate=gate, round=round)
        if row.decision == outcome
    )


@retried_while_unavailable
def recall_gate_verdict(stage_run_id: int, gate_key: str) -> Verdict | None:
    """The verdict of a gate of this stage attempt decided before the run was resumed."""
    with session_scope() as session:
        gate = session.scalar(
            select(Gate).where(
                Gate.stage_run_id == stage_run_id,
                Gate.gate_key == gate_key,
                Gate.status == "decided",
            )
        )
        if gate is None:
            return None
        return Verdict(gate.outcome, _reason(session, gate, gate.round, gate.outcome))


@dataclass(frozen=True)
class RoundRecord:
    """One round of a gate as the decision record shows it."""

    round: int
    outcome: str | None
    answers: list[dict]  # every answer given, accepted or refused, in the order received
    scorecard: Scorecard
    shortfall: str | None  # why a go fell short of the funding score, if it did


@task(
    cache_policy=NO_CACHE, **STORE_RETRIES, task_run_name="read the record of gate {site.gate_name}"
)
def gate_record(site: GateSite, definition: GateDefinition) -> list[RoundRecord]:
    """Every round of the gate: who answered what, by which way, the scores and outcome."""
    with session_scope() as session:
        gate = session.get(Gate, site.gate_id)
        rounds = []
        for number in range(1, gate.round + 1):
            rows = gate_decisions(session, gate=gate, round=number, accepted=None)
            rounds.append(
                RoundRecord(
                    round=number,
                    outcome=gate.outcome if number == gate.round else "hold",
                    answers=[
                        {
                            "approver": row.approver_email,
                            "roles": row.roles,
                            "decision": row.decision,
                            "comment": row.comment,
                            "conditions": row.conditions,
                            "channel": row.channel,
                            "received_at": row.received_at,
                            "accepted": row.accepted,
                            "refusal": row.refusal_reason,
                        }
                        for row in rows
                    ],
                    scorecard=round_scorecard(
                        session, gate=gate, definition=definition, round=number
                    ),
                    shortfall=funding_shortfall(
                        session, gate=gate, definition=definition, round=number
                    ),
                )
            )
        return rounds
