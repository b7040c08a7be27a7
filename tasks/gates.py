"""Tasks of a stage gate: open it, record each answer, record its decision."""

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from pmo.approvals import record_answer
from pmo.brief import ProjectBrief
from pmo.gatekeeping import Answer, GateSite
from pmo.store import session_scope
from pmo.store.models import Gate, StageRun, utcnow
from pmo.store.records import ensure_gate, get_project, mark_decided
from process_library.schema import Stage
from tasks.events import emit_gate_event


@task(cache_policy=NO_CACHE, task_run_name="open gate {stage.gate.name}")
def open_gate(brief: ProjectBrief, stage: Stage, stage_run_id: int) -> GateSite:
    """Open the gate that closes this stage attempt (or find it open already)."""
    with session_scope() as session:
        stage_run = session.get(StageRun, stage_run_id)
        gate = ensure_gate(
            session,
            stage_run=stage_run,
            gate_key=stage.gate.key,
            gate_name=stage.gate.name,
            flow_run_id=flow_run.get_id(),
        )
        return GateSite(
            gate_id=gate.id,
            project_key=brief.key,
            project_name=brief.name,
            stage_key=stage.key,
            attempt=stage_run.attempt,
            gate_key=stage.gate.key,
            gate_name=stage.gate.name,
        )


@task(cache_policy=NO_CACHE, task_run_name="record answer {response_key}")
def record_gate_answer(
    site: GateSite, brief: ProjectBrief, stage: Stage, round: int, response_key: str, answer: Answer
) -> tuple[bool, str]:
    """Check an approver's answer and record it; returns (accepted, refusal reason)."""
    with session_scope() as session:
        row = record_answer(
            session,
            gate=session.get(Gate, site.gate_id),
            definition=stage.gate,
            brief=brief,
            round=round,
            response_key=response_key,
            answer=answer,
            channel="prefect",
            flow_run_id=flow_run.get_id(),
        )
        accepted, reason = row.accepted, row.refusal_reason or ""
        payload = {
            "approver": row.approver_email,
            "decision": row.decision,
            "round": round,
            **({"reason": reason} if not accepted else {"comment": row.comment}),
        }
    emit_gate_event(
        "answered" if accepted else "refused",
        site,
        once_key=f"{site.once_key}/{response_key}",
        payload=payload,
    )
    return accepted, reason


@task(cache_policy=NO_CACHE, task_run_name="record decision {outcome}")
def decide_gate(site: GateSite, round: int, outcome: str) -> None:
    """Record the gate's decision for this round; a hold puts the project on hold."""
    with session_scope() as session:
        gate = session.get(Gate, site.gate_id)
        stage_run = session.get(StageRun, gate.stage_run_id)
        project = get_project(session, key=site.project_key)
        mark_decided(
            session, gate=gate, stage_run=stage_run, round=round, outcome=outcome, at=utcnow()
        )
        if outcome == "hold":
            project.status = "on-hold"
        elif project.status == "on-hold":
            project.status = "active"
    emit_gate_event(
        "decided",
        site,
        once_key=f"{site.once_key}/{round}",
        payload={"decision": outcome, "round": round},
    )
