"""Bring back lifecycle runs whose process died: `pmo recover`, and `pmo up` as it starts.

A run whose process was killed (kill -9, a machine lost, `pmo up` stopped hard) is left
Crashed, or Running with nobody running it; a run whose store stayed away longer than its
tasks' retries is left Failed with StoreUnavailable. Such a run of an open project is scheduled
again (forced to Scheduled, as Prefect's own retries do), so the served deployment or a
worker picks it up and the flow re-runs from the top: every document, row and mail it had
written is found by its idempotency key and not written again, and it goes on from where
the record says the project stands.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from prefect import get_client
from prefect.client.schemas.filters import (
    FlowFilter,
    FlowFilterName,
    FlowRunFilter,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.client.schemas.sorting import FlowRunSort
from prefect.events.filters import EventFilter, EventOccurredFilter, EventResourceFilter
from prefect.states import Scheduled

from pmo.runtime.connection import prefect_api
from pmo.store import session_scope
from pmo.store.engine import StoreUnavailable
from pmo.store.records import project_for_run

LIFECYCLE_FLOW = "project-lifecycle"
OPEN_STATES = {"active", "on-hold"}
PAGE = 200  # the most read_flow_runs returns at a time
# Runs send Prefect's heartbeat every PREFECT_FLOWS_HEARTBEAT_FREQUENCY seconds (180 by
# default): a run silent for longer than this is taken as dead.
DEFAULT_STALE_SECONDS = 600


@dataclass(frozen=True)
class Recovered:
    """A lifecycle run found dead, and whether it was scheduled again."""

    run_id: str
    name: str
    state: str
    project: str | None
    why: str
    rescheduled: bool


def recover_runs(
    *, dry_run: bool = False, stale_seconds: float = DEFAULT_STALE_SECONDS
) -> list[Recovered]:
    """Schedule again every lifecycle run of an open project that is Crashed, Failed
    because the store was unavailable, or Running or Pending with no sign of life
    (heartbeat or state change) for `stale_seconds`; with `dry_run`, only say which.
    `stale_seconds=0` takes every Running or Pending run as dead: right only when nothing
    can be running them (`pmo up` as it starts)."""
    found = []
    with prefect_api(), get_client(sync_client=True) as client:
        now = datetime.now(UTC)
        for run in _lifecycle_runs(client):
            why = _why_dead(client, run, now, stale_seconds)
            if why is None:
                continue
            project = _project_of(str(run.id))
            if project is not None and project[1] not in OPEN_STATES:
                continue  # its project is closed: there is nothing left for it to do
            if not dry_run:
                client.set_flow_run_state(
                    run.id,
                    Scheduled(message=f"Scheduled again by pmo recover: {why}"),
                    force=True,
                )
            found.append(
                Recovered(
                    str(run.id),
                    run.name,
                    run.state_name or "",
                    project[0] if project else None,
                    why,
                    not dry_run,
                )
            )
    return found


def _lifecycle_runs(client) -> list[FlowRun]:
    types = [StateType.CRASHED, StateType.RUNNING, StateType.PENDING, StateType.FAILED]
    runs_filter = FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(any_=types)))
    flows_filter = FlowFilter(name=FlowFilterName(any_=[LIFECYCLE_FLOW]))
    runs: list[FlowRun] = []
    while True:
        page = client.read_flow_runs(
            flow_filter=flows_filter,
            flow_run_filter=runs_filter,
            sort=FlowRunSort.START_TIME_ASC,
            limit=PAGE,
            offset=len(runs),
        )
        runs += page
        if len(page) < PAGE:
            return runs


def _why_dead(client, run: FlowRun, now: datetime, stale_seconds: float) -> str | None:
    if run.state_type == StateType.CRASHED:
        return "it crashed"
    if run.state_type == StateType.FAILED:
        # Prefect's message names the exception: `...: StoreUnavailable: the store at ...`
        lost_store = f"{StoreUnavailable.__name__}:" in (run.state.message or "")
        return "it failed while the store was unavailable" if lost_store else None
    if stale_seconds <= 0:
        return f"it was left {run.state_name} by a process that is gone"
    since = now - timedelta(seconds=stale_seconds)
    if run.state and run.state.timestamp and run.state.timestamp >= since:
        return None
    if client.read_events(filter=_signs_of_life(run, since, now), limit=1).events:
        return None
    return f"{run.state_name} with no heartbeat for {stale_seconds:.0f} s"


def _signs_of_life(run: FlowRun, since: datetime, until: datetime) -> EventFilter:
    """Any event of the run (heartbeats, state changes) since `since`."""
    return EventFilter(
        occurred=EventOccurredFilter(since=since, until=until),
        resource=EventResourceFilter(id=[f"prefect.flow-run.{run.id}"]),
    )


def _project_of(run_id: str) -> tuple[str, str] | None:
    """The key and status of the project the run is recorded for; None before it
    registered (it re-runs from the top and registers)."""
    with session_scope() as session:
        project = project_for_run(session, flow_run_id=run_id)
        return (project.key, project.status) if project else None
