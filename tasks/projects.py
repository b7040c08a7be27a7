"""Tasks that keep the project's record: registration, stages, closure; and
where the project goes next, read from that record."""

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from pmo.brief import ProjectBrief
from pmo.methodology.project import prepare_lifecycle
from pmo.methodology.route import Step, next_step
from pmo.store import session_scope
from pmo.store.records import (
    close_project,
    ensure_project,
    ensure_stage_run,
    get_project,
)
from process_library.loader import LoadedLifecycle, load_lifecycle
from process_library.schema import Stage
from tasks.retries import STORE_RETRIES, retried_while_unavailable

# Every task here is idempotent through the store's natural keys, so Prefect's result
# cache would add nothing but hashing of pydantic inputs.


@task(cache_policy=NO_CACHE, **STORE_RETRIES)
def register_project(brief: ProjectBrief, lifecycle: str) -> str:
    """Record the project and pin the lifecycle it runs: the library's current version,
    tailored to the project and its repeated stages laid out. A run resumed later keeps
    what is pinned, whatever the library holds by then. Returns the pinned lifecycle."""
    with session_scope() as session:
        project = get_project(session, key=brief.key)
        if project is None or project.flow_run_id != flow_run.get_id():
            prepared = prepare_lifecycle(brief, load_lifecycle(lifecycle))
            project = ensure_project(
                session,
                brief=brief,
                lifecycle=prepared.loaded,
                flow_run_id=flow_run.get_id(),
                tailoring=prepared.tailoring_json,
            )
        return project.lifecycle


@retried_while_unavailable
def next_stage(brief: ProjectBrief) -> Step | None:
    """The stage attempt the project runs next, under the version it runs under; None
    when its last stage has passed."""
    with session_scope() as session:
        return next_step(session, project=get_project(session, key=brief.key))


@task(
    cache_policy=NO_CACHE, **STORE_RETRIES, task_run_name="start {stage.name} (attempt {attempt})"
)
def start_stage(brief: ProjectBrief, lifecycle: LoadedLifecycle, stage: Stage, attempt: int) -> int:
    """Open the stage run that this attempt at the stage is recorded under."""
    with session_scope() as session:
        project = get_project(session, key=brief.key)
        project.status = "active" if project.status == "on-hold" else project.status
        stage_run = ensure_stage_run(
            session, project=project, stage=stage, attempt=attempt, version=lifecycle.version
        )
        return stage_run.id


@task(cache_policy=NO_CACHE, **STORE_RETRIES)
def finish_project(brief: ProjectBrief, status: str, reason: str) -> str:
    """Close the project: `closed` after its last gate, `cancelled` after a kill."""
    with session_scope() as session:
        project = get_project(session, key=brief.key)
        close_project(session, project=project, status=status, reason=reason)
        return project.status
