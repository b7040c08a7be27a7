"""Everything a document may show about a project, gathered from the brief and the store.

Templates receive this dossier and nothing else, so every figure and name in a document
can be traced to the brief, the store or the run.
"""

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from pmo import analysis
from pmo.audit import Evidence, answer_checklist
from pmo.brief import ProjectBrief
from pmo.communication import communication_plan, engaged_stakeholders
from pmo.documents.charts import Charts
from pmo.store.models import EvmSnapshot, Project, StatusUpdateRecord, utcnow
from pmo.store.records import (
    project_decisions,
    project_documents,
    project_gates,
    project_stage_runs,
    refused_answers,
)
from pmo.store.reporting import status_lines
from process_library.checklist import load_checklist
from process_library.communication import load_communication_policy
from process_library.loader import LoadedLifecycle
from process_library.schema import DOCUMENT_TITLES, Stage


@dataclass(frozen=True)
class StageLine:
    """One attempt at a stage and how its gate went."""

    stage: str
    attempt: int
    status: str
    started_at: datetime
    finished_at: datetime | None
    gate: str | None
    outcome: str | None
    rounds: int
    gate_opened_at: datetime | None
    gate_decided_at: datetime | None

    @property
    def gate_days(self) -> float | None:
        if self.gate_opened_at is None or self.gate_decided_at is None:
            return None
        return (self.gate_decided_at - self.gate_opened_at).total_seconds() / 86400


@dataclass(frozen=True)
class StatusLine:
    """One accepted status update and its earned value snapshot."""

    update: StatusUpdateRecord
    figures: EvmSnapshot


@dataclass(frozen=True)
class DecisionLine:
    """One signature in the record: who decided what at which gate, when and why."""

    stage: str
    gate: str
    attempt: int
    approver: str
    roles: str
    decision: str
    comment: str
    conditions: str
    decided_at: datetime


def build_dossier(
    session: Session,
    *,
    project: Project,
    brief: ProjectBrief,
    lifecycle: LoadedLifecycle,
    stage: Stage,
    attempt: int,
    version: int,
    charts_at: Path,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The template context of one document version.

    `charts_at` is the folder and file stem its charts are saved under
    (`documents/APOLLO/APOLLO-stakeholder-register-v1`), next to the Markdown.
    """
    stage_names = {s.key: s.name for s in lifecycle.lifecycle.stages}
    stage_runs = {sr.id: sr for sr in project_stage_runs(session, project=project)}
    decisions = [
        DecisionLine(
            stage=stage_names.get(stage_runs[gate.stage_run_id].stage_key, gate.gate_key),
            gate=gate.gate_name,
            attempt=stage_runs[gate.stage_run_id].attempt,
            approver=decision.approver_email,
            roles=decision.roles,
            decision=decision.decision,
            comment=decision.comment,
            conditions=decision.conditions,
            decided_at=decision.received_at,
        )
        for gate, decision in project_decisions(session, project=project)
    ]
    stage_gates = [g for g in project_gates(session, project=project) if g.kind == "stage"]
    gates = {g.stage_run_id: g for g in stage_gates}
    history = [
        StageLine(
            stage=sr.stage_name,
            attempt=sr.attempt,
            status=sr.status,
            started_at=sr.started_at,
            finished_at=sr.finished_at,
            gate=gate.gate_name if (gate := gates.get(sr.id)) else None,
            outcome=gate.outcome if gate else None,
            rounds=gate.round if gate else 0,
            gate_opened_at=gate.opened_at if gate else None,
            gate_decided_at=gate.decided_at if gate else None,
        )
        for sr in stage_runs.values()
    ]
    policy = load_communication_policy()
    stakeholders = engaged_stakeholders(brief, policy)
    milestones = analysis.gate_milestones(brief, lifecycle.lifecycle)
    documents = project_documents(session, project=project)
    refused = refused_answers(session, project=project)
    evidence = Evidence(
        brief=brief,
        lifecycle=lifecycle.lifecycle,
        documents=documents,
        decisions=decisions,
        history=history,
        refused_answers=refused,
    )
    updates = status_lines(session, project=project)
    return {
        "brief": brief,
        "project": project,
        "lifecycle": lifecycle.lifecycle,
        "lifecycle_version": lifecycle.version,
        "stage": stage,
        "attempt": attempt,
        "version": version,
        "generated_at": utcnow(),
        "decisions": decisions,
        "conditions": _conditions(decisions),
        "documents": documents,
        "document_titles": DOCUMENT_TITLES,
        "history": history,
        "refused_answers": refused,
        "stakeholders": stakeholders,
        "quadrants": policy.quadrants,
        "communication_plan": communication_plan(brief, lifecycle.lifecycle, policy),
        "risks": analysis.rated_risks(brief),
        "milestones": milestones,
        "duration_days": analysis.duration_days(brief),
        # Accepted status updates with their earned value and RAG, oldest first.
        "status_updates": [StatusLine(update, snapshot) for update, snapshot in updates],
        "audit": answer_checklist(load_checklist(lifecycle.lifecycle.audit_checklist), evidence),
        "charts": Charts(
            charts_at.parent,
            charts_at.name,
            stakeholders=stakeholders,
            milestones=milestones,
            start=brief.start_date,
            end=brief.target_end_date,
            policy=policy,
            performance=[(s.as_of, s.spi, s.cpi) for _, s in updates],
        ),
        **(extra or {}),
    }


def _conditions(decisions: list[DecisionLine]) -> list[DecisionLine]:
    """The conditions attached to go decisions, each once (the first approver who set it)."""
    first: dict[tuple[str, int, str], DecisionLine] = {}
    for decision in decisions:
        if decision.conditions.strip():
            key = (decision.gate, decision.attempt, decision.conditions.strip())
            first.setdefault(key, decision)
    return list(first.values())
