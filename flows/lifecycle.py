"""`project-lifecycle`: one project, from initiation to closure, as its lifecycle says.

The flow reads like the lifecycle: for each stage, do the work, write the documents, hold
the gate. Which stages, documents and gates there are is data from the process library,
pinned on the project when it starts; which stage comes next is read from the project's
record, so a resumed run goes straight back to where it stood and a project moved onto a
new version (`pmo library migrate`) follows that version from its next stage attempt.
"""

from prefect import flow, get_client
from prefect.runtime import flow_run

from flows.gate import hold_gate
from flows.planning import take_plan
from flows.reporting import follow_status
from pmo.brief import ProjectBrief
from process_library.loader import LoadedLifecycle
from process_library.schema import Stage
from tasks.documents import render_document
from tasks.gates import Verdict, recall_verdict
from tasks.planning import baseline_plan, proposed_figures
from tasks.projects import (
    finish_project,
    next_stage,
    register_project,
    start_stage,
)


def lifecycle_run_name() -> str:
    """`APOLLO · pmbok-waterfall`: runs are found by project in the Prefect UI."""
    parameters = flow_run.parameters
    brief = parameters["brief"]
    key = brief["key"] if isinstance(brief, dict) else brief.key
    return f"{key} · {parameters.get('lifecycle', 'pmbok-waterfall')}"


def label_run(brief: ProjectBrief, lifecycle: str) -> None:
    """Tag the run by project, lifecycle and tier, whoever started it (UI, CLI, script)."""
    tags = {f"project:{brief.key}", f"lifecycle:{lifecycle}", f"tier:{brief.tier}"}
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(flow_run.get_id())
        if not tags <= set(run.tags):
            client.update_flow_run(run.id, tags=sorted(tags | set(run.tags)))


def run_stage(
    brief: ProjectBrief, lifecycle: LoadedLifecycle, stage: Stage, attempt: int
) -> Verdict:
    """Do the stage's work (taking the plan or status updates, if the stage does), write
    its documents, hold its gate; a go at a stage that takes the plan baselines it."""
    verdict = recall_verdict(brief, stage, attempt) or hold_stage(brief, lifecycle, stage, attempt)
    if stage.takes_plan and verdict.outcome == "go":
        baseline_plan(brief, stage, attempt)
    return verdict


def hold_stage(
    brief: ProjectBrief, lifecycle: LoadedLifecycle, stage: Stage, attempt: int
) -> Verdict:
    stage_run_id = start_stage(brief, lifecycle, stage, attempt)
    if stage.takes_plan:
        take_plan(brief, stage, attempt, stage_run_id)
    if stage.reporting and (
        stopped := follow_status(brief, lifecycle, stage, attempt, stage_run_id)
    ):
        return stopped
    documents = [
        render_document(brief, lifecycle, stage, attempt, document.key)
        for document in stage.documents
    ]
    plan = proposed_figures(brief, stage_run_id) if stage.takes_plan else None
    return hold_gate(brief, lifecycle, stage, attempt, stage_run_id, documents, plan)


@flow(name="project-lifecycle", flow_run_name=lifecycle_run_name, log_prints=True)
def project_lifecycle(brief: ProjectBrief, lifecycle: str = "pmbok-waterfall") -> dict:
    """Run a project through the PMO lifecycle, stopping at every stage gate until its
    approvers decide Go, Kill, Hold or Recycle. Documents land in Prefect (artifacts),
    on disk (.docx) and in the store."""
    label_run(brief, register_project(brief, lifecycle))
    while (step := next_stage(brief)) is not None:
        verdict = run_stage(brief, step.lifecycle, step.stage, step.attempt)
        if verdict.outcome == "kill":
            for key in step.lifecycle.lifecycle.cancellation_documents:
                render_document(brief, step.lifecycle, step.stage, step.attempt, key)
            gate_name = verdict.gate_name or step.stage.gate.name
            status = finish_project(
                brief, "cancelled", f"Killed at gate '{gate_name}': {verdict.reason}"
            )
            return {"project": brief.key, "status": status, "stopped_at": step.stage.key}
    status = finish_project(brief, "closed", "All gates passed")
    return {"project": brief.key, "status": status, "stopped_at": None}
