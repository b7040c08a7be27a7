"""A project recorded in the store as the lifecycle flow would record it, without Prefect:
stage runs, document versions and gate decisions. For tests that read documents back."""

from collections.abc import Mapping
from pathlib import Path

from pmo.brief import ProjectBrief
from pmo.documents.versions import write_document_version
from pmo.store import session_scope
from pmo.store.models import DocumentRecord, GateDecision, GateScore, utcnow
from pmo.store.plans import latest_baseline_number, record_baseline
from pmo.store.records import (
    ensure_gate,
    ensure_project,
    ensure_stage_run,
    mark_decided,
)
from process_library.loader import LoadedLifecycle, load_lifecycle
from process_library.schema import DOCUMENT_TITLES, Stage

LIFECYCLE = load_lifecycle("pmbok-waterfall")


def at_gate(
    session,
    brief: ProjectBrief,
    stage: Stage,
    *,
    lifecycle: LoadedLifecycle = LIFECYCLE,
    attempt: int = 1,
    run_id: str | None = None,
):
    """The project, stage run and gate rows of a stage attempt that has reached its gate."""
    project = ensure_project(session, brief=brief, lifecycle=lifecycle, flow_run_id=run_id)
    stage_run = ensure_stage_run(session, project=project, stage=stage, attempt=attempt)
    gate = ensure_gate(
        session,
        stage_run=stage_run,
        gate_key=stage.gate.key,
        gate_name=stage.gate.name,
        flow_run_id=run_id,
    )
    return project, stage_run, gate


def baselined(session, project) -> int:
    """Baseline 1 of the project (the brief's plan), as the plan-approval gate's go
    records it; its number."""
    brief = ProjectBrief.model_validate(project.brief)
    if (number := latest_baseline_number(session, project_id=project.id)) is not None:
        return number
    row = record_baseline(
        session, project_id=project.id, plan=brief.plan, gate_id=None, reason="Approved plan"
    )
    return row.number


def register(brief: ProjectBrief, lifecycle: LoadedLifecycle = LIFECYCLE) -> None:
    with session_scope() as session:
        ensure_project(session, brief=brief, lifecycle=lifecycle, flow_run_id=None)


def write(
    brief: ProjectBrief,
    stage: Stage,
    attempt: int,
    key: str,
    lifecycle: LoadedLifecycle = LIFECYCLE,
) -> DocumentRecord:
    with session_scope() as session:
        record, _ = write_document_version(
            session,
            brief=brief,
            lifecycle=lifecycle,
            stage=stage,
            attempt=attempt,
            document_key=key,
            template=key,
            title=DOCUMENT_TITLES[key],
            idempotency_key=f"{brief.key}/{stage.key}/{attempt}/{key}",
        )
        return record


def decide(
    brief: ProjectBrief,
    stage: Stage,
    attempt: int,
    decision: str,
    scores: Mapping[str, int] | None = None,
    **answer: str,
) -> None:
    """Record one approver's accepted answer (with `scores` by criterion key) and the
    gate's outcome, as the gate does."""
    with session_scope() as session:
        _, stage_run, gate = at_gate(session, brief, stage, attempt=attempt)
        row = GateDecision(
            gate_id=gate.id,
            round=1,
            response_key=f"{stage.key}-{attempt}",
            approver_email=answer.get("approver", "dana.reyes@example.com"),
            roles="sponsor",
            decision=decision,
            comment=answer.get("comment", ""),
            conditions=answer.get("conditions", ""),
            accepted=True,
        )
        session.add(row)
        session.flush()
        for key, value in (scores or {}).items():
            session.add(
                GateScore(gate_decision_id=row.id, criterion_key=key, kind="score", value=value)
            )
        mark_decided(
            session, gate=gate, stage_run=stage_run, round=1, outcome=decision, at=utcnow()
        )


def run_documents(
    brief: ProjectBrief, lifecycle: LoadedLifecycle = LIFECYCLE, recycle: str = "planning"
) -> dict[str, Path]:
    """Every stage's documents, the `recycle` stage sent back once; the latest .docx per key."""
    register(brief, lifecycle)
    latest: dict[str, Path] = {}
    for stage in lifecycle.lifecycle.stages:
        attempts = 2 if stage.key == recycle else 1
        for attempt in range(1, attempts + 1):
            for document in stage.documents:
                record = write(brief, stage, attempt, document.key, lifecycle)
                latest[document.key] = Path(record.docx_path)
            if attempt < attempts:
                decide(brief, stage, attempt, "recycle", comment="No contingency; re-plan.")
            else:
                # The go that commits the money carries the gatekeeper's scores.
                scores = {c.key: 7 for c in stage.gate.scored} if stage.gate.funds_project else {}
                decide(brief, stage, attempt, "go", scores, conditions="Report fortnightly.")
    return latest
