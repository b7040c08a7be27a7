"""Tell the approvers of an open gate: what to review, where to answer, their code."""

from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from pmo.approvals import send_approval_request
from pmo.brief import ProjectBrief
from pmo.criteria import CriterionResult
from pmo.documents import render_text
from pmo.gatekeeping import GateSite, gate_approvers
from pmo.mail import compose_message
from pmo.prefect_links import flow_run_url
from pmo.store import session_scope
from pmo.store.models import Gate
from process_library.schema import Stage
from tasks.documents import DocumentRef


@task(cache_policy=NO_CACHE, task_run_name="notify approvers (round {round})")
def notify_approvers(
    site: GateSite,
    brief: ProjectBrief,
    stage: Stage,
    round: int,
    pack: DocumentRef,
    documents: list[DocumentRef],
    must_meet: list[CriterionResult],
) -> int:
    """Email each approver who has not yet been asked in this round; returns how many."""
    run_id = flow_run.get_id()
    sent = 0
    for approver, roles in gate_approvers(stage.gate, brief).items():

        def compose(code: str, approver: str = approver, roles: list[str] = roles):
            body = render_text(
                "email/gate-request.txt.j2",
                {
                    "brief": brief,
                    "stage": stage,
                    "gate": stage.gate,
                    "site": site,
                    "round": round,
                    "approver": approver,
                    "roles": roles,
                    "code": code,
                    "run_id": run_id,
                    "run_url": flow_run_url(run_id),
                    "documents": documents,
                    "pack": pack,
                    "must_meet": must_meet,
                },
            )
            message = compose_message(
                to=[approver],
                subject=f"[{brief.key}] {stage.gate.name}: your decision is needed",
                body=body,
                message_id_key=f"{site.once_key}/{round}/{approver}",
                attachments=[Path(pack.docx_path)],
            )
            # Machine-readable pointers for mail rules and scripts answering on a person's behalf.
            message["X-PMO-Gate"] = f"{site.once_key}/{round}"
            message["X-PMO-Run"] = str(run_id)
            return message

        with session_scope() as session:
            gate = session.get(Gate, site.gate_id)
            if send_approval_request(
                session, gate=gate, round=round, approver=approver, compose=compose
            ):
                sent += 1
    return sent
