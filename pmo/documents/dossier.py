"""Everything a document may show about a project, gathered from the brief and the store.

Templates receive this dossier and nothing else, so every figure and name in a document
can be traced to the brief, the store or the run.
"""

from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from pmo.audit.checklist import Evidence, answer_checklist
from pmo.audit.records import DecisionLine, StatusLine, load_records
from pmo.brief import ProjectBrief
from pmo.control import analysis
from pmo.documents.charts import Charts
from pmo.documents.communication import communication_plan, engaged_stakeholders
from pmo.store.models import Project, utcnow
from pmo.store.reporting import status_lines
from process_library.checklist import load_checklist
from process_library.communication import load_communication_policy
from process_library.loader import LoadedLifecycle
from process_library.schema import DOCUMENT_TITLES, Stage


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
    record = load_records(session, project_key=project.key)[0]
    decisions = record.decision_lines()
    history = record.stage_lines()
    policy = load_communication_policy()
    stakeholders = engaged_stakeholders(brief, policy)
    milestones = analysis.gate_milestones(brief, lifecycle.lifecycle)
    documents = record.documents
    evidence = Evidence(
        brief=brief,
        lifecycle=lifecycle.lifecycle,
        documents=documents,
        decisions=decisions,
        history=history,
        refused_answers=record.refused_answers,
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
        "refused_answers": record.refused_answers,
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
