"""What Prefect remembers of the lifecycle runs: each run and its state history.

The audit reads every `project-lifecycle` run (in pages, as Prefect returns at most 200 rows
a call) and every run's state transitions. A run's history can only grow, and every
transition gives the run a new current state id, so a history read once is kept in a cache
file under the PMO home and read again only when the run's current state id has changed.
"""

import asyncio
import itertools
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
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

LIFECYCLE_FLOW = "project-lifecycle"
PAGE_SIZE = 200  # the most Prefect's API returns in one call
CONCURRENT_READS = 16
CONCURRENT_PAGES = 4
SORT = FlowRunSort.EXPECTED_START_TIME_ASC.value


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


def read_lifecycle_runs(
    selection: RunSelection, cache_file: Path | None = None
) -> list[RunHistory]:
    """Every lifecycle run the selection names, with its state history."""
    try:
        return asyncio.run(_read_runs(selection, cache_file))
    except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
        raise HistoryUnavailable(f"cannot read the run history from Prefect ({exc})") from None


async def _read_runs(selection: RunSelection, cache_file: Path | None) -> list[RunHistory]:
    cache = _load_cache(cache_file)
    # Plain JSON rather than the client's models: at 10,000 runs, building pydantic objects
    # for every run and state would cost more than the reading itself.
    async with get_client() as client:
        runs = await _page_runs(client, selection)
        gate = asyncio.Semaphore(CONCURRENT_READS)

        async def history(run: dict[str, Any]) -> RunHistory:
            cached = cache.get(run["id"])
            if cached and cached["state_id"] == run["state_id"]:
                states = tuple(_mark_from_json(m) for m in cached["states"])
            else:
                async with gate:
                    response = await client.request(
                        "GET", "/flow_run_states/", params={"flow_run_id": run["id"]}
                    )
                response.raise_for_status()
                states = tuple(
                    sorted((_mark_from_json(state) for state in response.json()), key=_at)
                )
                cache[run["id"]] = {
                    "state_id": run["state_id"],
                    "states": [_mark_to_json(m) for m in states],
                }
            return RunHistory(
                run_id=run["id"],
                state_type=run["state_type"] or "",
                state_name=run["state_name"] or "",
                created=datetime.fromisoformat(run["created"]),
                states=states,
            )

        histories = await asyncio.gather(*(history(run) for run in runs))
    # A whole-portfolio read knows every run there is: forget runs Prefect no longer has.
    whole = selection.project_key is None and selection.since is None
    _save_cache(cache_file, cache, keep={h.run_id for h in histories} if whole else None)
    return list(histories)


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


def _mark_to_json(mark: StateMark) -> dict[str, str]:
    """As Prefect's API gives a state, so the cache and the API are read the same way."""
    return {
        "timestamp": mark.at.isoformat(),
        "type": mark.type,
        "name": mark.name,
        "message": mark.message,
    }


def _mark_from_json(state: dict[str, Any]) -> StateMark:
    return StateMark(
        datetime.fromisoformat(state["timestamp"]),
        state["type"],
        state["name"] or "",
        state["message"] or "",
    )


def _load_cache(cache_file: Path | None) -> dict[str, Any]:
    if cache_file is None or not cache_file.is_file():
        return {}
    try:
        return json.loads(cache_file.read_text())
    except (OSError, ValueError):
        return {}  # a damaged cache costs a re-read, nothing else


def _save_cache(cache_file: Path | None, cache: dict[str, Any], keep: set[str] | None) -> None:
    if cache_file is None:
        return
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    # Write aside and rename, so a crash mid-write never leaves half a cache.
    partial = cache_file.with_suffix(".partial")
    kept = {k: entry for k, entry in cache.items() if keep is None or k in keep}
    partial.write_text(json.dumps(kept, separators=(",", ":")))
    partial.replace(cache_file)
