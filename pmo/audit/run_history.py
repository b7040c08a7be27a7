"""What Prefect remembers of the lifecycle runs: each run and its state history.

The audit pages through every `project-lifecycle` run (Prefect returns at most 200 rows a
call) and takes each run's state transitions from the store, where the run-state recorder
(`pmo.audit.state_recorder`) wrote them from Prefect's events as they happened. Only a run
whose current state, or whose first, is not on record is asked for its history (one API
call per run), and what that call returns is recorded, so the next audit does not ask again.
"""

import asyncio
import itertools
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    FlowFilter,
    FlowFilterName,
    FlowRunFilter,
    FlowRunFilterExpectedStartTime,
    FlowRunFilterTags,
)
from prefect.client.schemas.sorting import FlowRunSort

from pmo.errors import ServiceUnavailable
from pmo.store import session_scope
from pmo.store.run_states import RecordedState, SeenState, record_run_states, recorded_states

LIFECYCLE_FLOW = "project-lifecycle"
PAGE_SIZE = 200  # the most Prefect's API returns in one call
CONCURRENT_READS = 16
CONCURRENT_PAGES = 4
SORT = FlowRunSort.EXPECTED_START_TIME_ASC.value
RECORD_BATCH = 2000  # states recorded per transaction
# Prefect stamps a run's creation and its first state in one request, on one clock.
FIRST_STATE_SLACK = timedelta(seconds=60)


class HistoryUnavailable(ServiceUnavailable):
    """Prefect's API did not answer, so there is no run history to audit."""


@dataclass(frozen=True)
class StateMark:
    """One state a run entered: when, which, and the message that came with it."""

    at: datetime
    type: str  # Prefect's StateType: PAUSED, SCHEDULED, RUNNING, COMPLETED...
    name: str  # Suspended, Resuming, Completed...
    message: str


@dataclass(frozen=True)
class RunHistory:
    """One lifecycle run as Prefect recorded it, oldest state first."""

    run_id: str
    state_type: str
    state_name: str
    created: datetime
    states: tuple[StateMark, ...]


@dataclass(frozen=True)
class RunSelection:
    """Which runs an audit reads: every lifecycle run, or one project's, since a date."""

    project_key: str | None = None
    since: datetime | None = None


@dataclass(frozen=True)
class LifecycleRuns:
    """The runs an audit read, and how many of their histories it had to ask Prefect for."""

    runs: list[RunHistory]
    fetched: int  # histories the store did not have whole: one API call each


def read_lifecycle_runs(selection: RunSelection, *, fresh: bool = False) -> LifecycleRuns:
    """Every lifecycle run the selection names, with its state history; `fresh` asks
    Prefect for every history, whatever the store has."""
    try:
        return asyncio.run(_read_runs(selection, fresh))
    except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
        raise HistoryUnavailable(f"cannot read the run history from Prefect ({exc})") from None


async def _read_runs(selection: RunSelection, fresh: bool) -> LifecycleRuns:
    # Plain JSON rather than the client's models: at 10,000 runs, building pydantic objects
    # for every run would cost more than the reading itself.
    async with get_client() as client:
        runs = await _page_runs(client, selection)
        whole = selection.project_key is None and selection.since is None
        with session_scope() as session:
            recorded = recorded_states(
                session, flow_run_ids=None if whole else [run["id"] for run in runs]
            )
        missed = [
            run for run in runs if fresh or not _recorded_whole(run, recorded.get(run["id"], []))
        ]
        gate = asyncio.Semaphore(CONCURRENT_READS)

        async def fetch(run: dict[str, Any]) -> list[SeenState]:
            async with gate:
                response = await client.request(
                    "GET", "/flow_run_states/", params={"flow_run_id": run["id"]}
                )
            response.raise_for_status()
            return [_seen(run, state) for state in response.json()]

        fetched = await asyncio.gather(*(fetch(run) for run in missed))
    # What was asked for is recorded, so the next audit reads it from the store.
    seen = [state for states in fetched for state in states]
    for start in range(0, len(seen), RECORD_BATCH):
        record_run_states(states=seen[start : start + RECORD_BATCH], source="api")
    from_api = {run["id"]: states for run, states in zip(missed, fetched, strict=True)}
    histories = [
        RunHistory(
            run_id=run["id"],
            state_type=run["state_type"] or "",
            state_name=run["state_name"] or "",
            created=datetime.fromisoformat(run["created"]),
            states=_marks(from_api[run["id"]])
            if run["id"] in from_api
            else tuple(
                StateMark(s.occurred_at, s.type, s.name, s.message) for s in recorded[run["id"]]
            ),
        )
        for run in runs
    ]
    return LifecycleRuns(histories, len(missed))


def _recorded_whole(run: dict[str, Any], states: list[RecordedState]) -> bool:
    """Has the store every state of this run? Its current one is on record (states are only
    added, each with a new id), and its first state is on record: a run's first state is
    set as the run is created, so a history starting later lost its beginning."""
    if not states or run["state_id"] not in {s.state_id for s in states}:
        return False
    created = datetime.fromisoformat(run["created"])
    return states[0].occurred_at <= created + FIRST_STATE_SLACK


def _seen(run: dict[str, Any], state: dict[str, Any]) -> SeenState:
    tags = run.get("tags") or []
    key = next((t.removeprefix("project:") for t in tags if t.startswith("project:")), None)
    return SeenState(
        state_id=state["id"],
        flow_run_id=run["id"],
        type=state["type"],
        name=state["name"] or "",
        message=state["message"] or "",
        occurred_at=datetime.fromisoformat(state["timestamp"]),
        project_key=key,
    )


def _marks(states: list[SeenState]) -> tuple[StateMark, ...]:
    marks = (StateMark(s.occurred_at, s.type, s.name, s.message) for s in states)
    return tuple(sorted(marks, key=_at))


async def _page_runs(client: Any, selection: RunSelection) -> list[dict[str, Any]]:
    run_filter = FlowRunFilter(
        tags=FlowRunFilterTags(all_=[f"project:{selection.project_key}"])
        if selection.project_key
        else None,
        expected_start_time=FlowRunFilterExpectedStartTime(after_=selection.since)
        if selection.since
        else None,
    )
    filters = {
        "flows": FlowFilter(name=FlowFilterName(any_=[LIFECYCLE_FLOW])).model_dump(
            mode="json", exclude_unset=True
        ),
        "flow_runs": run_filter.model_dump(mode="json", exclude_unset=True),
    }
    gate = asyncio.Semaphore(CONCURRENT_PAGES)

    async def page(offset: int) -> list[dict[str, Any]]:
        body = {**filters, "sort": SORT, "limit": PAGE_SIZE, "offset": offset}
        async with gate:
            response = await client.request("POST", "/flow_runs/filter", json=body)
        response.raise_for_status()
        return response.json()

    # Pages are asked for a few at a time: the server serialises one while we read another.
    counted = await client.request("POST", "/flow_runs/count", json=filters)
    counted.raise_for_status()
    offsets = list(range(0, counted.json() + 1, PAGE_SIZE))
    pages = await asyncio.gather(*(page(offset) for offset in offsets))
    offset = offsets[-1]
    while len(pages[-1]) == PAGE_SIZE:  # runs started while we were reading
        offset += PAGE_SIZE
        pages.append(await page(offset))
    # A run created while we page may shift the pages by one: keep each run once.
    return list({run["id"]: run for run in itertools.chain.from_iterable(pages)}.values())


def _at(mark: StateMark) -> datetime:
    return mark.at
