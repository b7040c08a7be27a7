"""Everything a document may show about a project, gathered from the brief and the store.

Templates receive this dossier and nothing else, so every figure and name in a document
can be traced to the brief, the store or the run.
"""

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from pmo.audit.checklist import Evidence, answer_checklist
from pmo.audit.records import DecisionLine, StatusLine, load_records
from pmo.brief import ProjectBrief
from pmo.control import analysis
from pmo.documents.charts import Charts
from pmo.documents.communication import communication_plan, engaged_stakeholders
from pmo.documents.plan_view import baseline_view, proposed_view
from pmo.methodology.project import project_facts
from pmo.store.lifecycles import pin_of, pins
from pmo.store.models import Project, StageRun, utcnow
from pmo.store.plans import plan_submissions
from pmo.store.reporting import status_lines, status_updates
from process_library.checklist import load_checklist
from process_library.communication import load_communication_policy
from process_library.loader import LoadedLifecycle
from process_library.schema import DOCUMENT_TITLES, Lifecycle, Stage
from process_library.tailoring import TailoringNote, load_categories


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
        versions=record.versions,
    )
    updates = status_lines(session, project=project)
    versions = pins(session, project=project)
    in_force = pin_of(versions, lifecycle.version)
    this_attempt = [
        line
        for line in history
        if line.stage == stage.name and line.attempt == attempt and line.stage_run_id
    ]
    stage_run_id = this_attempt[0].stage_run_id if this_attempt else None
    baseline = baseline_view(session, brief=brief, project_id=project.id)
    # A stage that takes the plan shows the one proposed in it; others the baseline.
    shown = proposed_view(session, brief=brief, stage_run_id=stage_run_id) or baseline
    measured = [
        s for _, s in updates if s.evm and s.baseline_number == (baseline and baseline.number)
    ]
    last = measured[-1].evm if measured else None
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
        # The plan this document shows (proposed in this stage, or the baseline in force),
        # and the baseline in force that status is measured against; None before either.
        "plan": shown,
        "baseline": baseline,
        # Accepted status updates with their earned value and RAG, oldest first.
        "status_updates": [StatusLine(update, snapshot) for update, snapshot in updates],
        # ... and those of this stage attempt only (an end stage report's).
        "stage_updates": [
            StatusLine(update, snapshot)
            for update, snapshot in updates
            if update.stage_run_id == stage_run_id
        ],
        "stage_documents_so_far": [d for d in documents if d.stage_run_id == stage_run_id],
        # The stage's activities the project manager confirmed done with its input.
        "confirmed_activities": confirmed_activities(session, stage_run_id=stage_run_id),
        # What tailoring changed for this project, and why; the facts it looked at.
        "facts": project_facts(brief),
        "category": next(
            (c for c in load_categories().categories if c.key == brief.category), None
        ),
        "tailoring": [TailoringNote.model_validate(note) for note in in_force.tailoring],
        "lifecycle_versions": versions,
        "next_stage": _next_stage(lifecycle.lifecycle, stage),
        "roles": _roles(brief, lifecycle.lifecycle),
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
            plan=shown,
            baseline=baseline,
            earned=[(s.as_of, s.pv, s.ev, s.ac) for s in measured],
            forecast=(
                (date.fromisoformat(last["forecast_finish"]), Decimal(str(last["eac"])))
                if last and last["forecast_finish"] and last["eac"] is not None
                else None
            ),
            currency=brief.currency,
        ),
        **(extra or {}),
    }


def confirmed_activities(session: Session, *, stage_run_id: int | None) -> set[str]:
    """Keys of the activities confirmed with the stage attempt's plan or status updates."""
    if stage_run_id is None:
        return set()
    stage_run = session.get(StageRun, stage_run_id)
    confirmed = {
        key
        for row in plan_submissions(session, stage_run=stage_run)
        if row.accepted
        for key in row.confirmed_activities or ()
    }
    confirmed |= {
        key
        for row in status_updates(session, stage_run=stage_run, accepted=True)
        for key in row.confirmed_activities or ()
    }
    return confirmed


def _next_stage(lifecycle: Lifecycle, stage: Stage) -> Stage | None:
    """The stage after `stage` in the lifecycle's order; None after the last."""
    keys = [s.key for s in lifecycle.stages]
    index = keys.index(stage.key) if stage.key in keys else len(keys)
    return lifecycle.stages[index + 1] if index + 1 < len(keys) else None


def _roles(brief: ProjectBrief, lifecycle: Lifecycle) -> list[tuple[str, list[str], list[str]]]:
    """Each approver role the lifecycle's gates name: who fills it, and the gates it decides."""
    return [
        (
            role,
            brief.approvers.get(role, []),
            [g.name for g in lifecycle.gates if role in g.approvers],
        )
        for role in sorted(lifecycle.approver_roles)
    ]


def _conditions(decisions: list[DecisionLine]) -> list[DecisionLine]:
    """The conditions attached to go decisions, each once (the first approver who set it)."""
    first: dict[tuple[str, int, str], DecisionLine] = {}
    for decision in decisions:
        if decision.conditions.strip():
            key = (decision.gate, decision.attempt, decision.conditions.strip())
            first.setdefault(key, decision)
    return list(first.values())
