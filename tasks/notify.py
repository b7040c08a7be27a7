"""Tell the approvers of an open gate: what to review, where to answer, their code."""

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from pmo.brief import ProjectBrief
from pmo.gates.answers import send_approval_request
from pmo.gates.criteria import CriterionResult
from pmo.gates.messages import request_composer
from pmo.gates.rules import GateSite, gate_approvers
from pmo.store import session_scope
from pmo.store.models import Gate
from process_library.schema import Stage
from tasks.documents import DocumentRef
from tasks.retries import STORE_RETRIES


@task(cache_policy=NO_CACHE, **STORE_RETRIES, task_run_name="notify approvers (round {round})")
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
    run_id = str(flow_run.get_id())
    sent = 0
    for approver, roles in gate_approvers(stage.gate, brief).items():
        compose = request_composer(
            site,
            brief,
            stage,
            round,
            approver,
            roles,
            run_id,
            documents=documents,
            pack=pack,
            must_meet=must_meet,
        )
        with session_scope() as session:
            gate = session.get(Gate, site.gate_id)
            if send_approval_request(
                session, gate=gate, round=round, approver=approver, compose=compose
            ):
                sent += 1
    return sent
