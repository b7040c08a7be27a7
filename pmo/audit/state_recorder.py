"""The run-state recorder: every lifecycle run's state changes, taken from Prefect's events
as they happen and written to the store (and so onto the audit ledger).

It listens to Prefect, not to our flow code, so a run resumed from outside its gate or
marked Completed by hand in the UI is recorded like any other change. Prefect gives each
state-change event the state's own id, the row's key: an event seen twice (the stream's
backfill after a reconnect, a catch-up overlapping the stream) is written once.

When the stream drops for longer than the subscriber's own reconnection covers, the
recorder reads what it missed from the events API, from the last state it recorded, and
subscribes again. What Prefect no longer keeps (events outlive their retention period
only as state history) the audit fetches from the API when it finds a run's history short.
"""

import asyncio
import logging
from datetime import datetime, timedelta

import httpx
from prefect.client.orchestration import get_client
from prefect.events.clients import get_events_subscriber
from prefect.events.filters import (
    EventFilter,
    EventNameFilter,
    EventOccurredFilter,
    EventOrder,
    EventRelatedFilter,
)
from prefect.events.schemas.events import Event, ResourceSpecification
from websockets.exceptions import WebSocketException

from pmo.audit.run_history import LIFECYCLE_FLOW
from pmo.errors import ServiceUnavailable
from pmo.store import session_scope
from pmo.store.models import utcnow
from pmo.store.run_states import SeenState, last_event_at, record_run_states

logger = logging.getLogger(__name__)

STATE_EVENTS = "prefect.flow-run."
PAGE = 50  # the most events Prefect's API returns in one page
# Events are delivered roughly in order, not strictly: catch up from a little before the
# last one recorded (ids make the overlap harmless).
CATCH_UP_OVERLAP = timedelta(minutes=2)
# With nothing recorded yet, catch up on all Prefect keeps (7 days by default).
FIRST_CATCH_UP = timedelta(days=30)
# Failures the recorder outlives: Prefect or the store away for a while.
TRANSIENT = (OSError, TimeoutError, WebSocketException, httpx.HTTPError, ServiceUnavailable)


def lifecycle_events(since: datetime | None = None) -> EventFilter:
    """State changes of `project-lifecycle` runs, since a time (the subscriber sets its own)."""
    flow = ResourceSpecification(
        {"prefect.resource.role": "flow", "prefect.resource.name": LIFECYCLE_FLOW}
    )
    fields: dict = {
        "event": EventNameFilter(prefix=[STATE_EVENTS]),
        "related": EventRelatedFilter(labels=flow),
        "order": EventOrder.ASC,
    }
    if since is not None:
        fields["occurred"] = EventOccurredFilter(since=since, until=utcnow() + timedelta(days=1))
    return EventFilter(**fields)


def seen_state(event: Event) -> SeenState | None:
    """The state an event announces, if it is a lifecycle run's state change."""
    resource = event.resource
    if not event.event.startswith(STATE_EVENTS) or "prefect.state-type" not in resource:
        return None
    related = event.related
    if not any(r.role == "flow" and r.name == LIFECYCLE_FLOW for r in related):
        return None
    tags = (r.id.removeprefix("prefect.tag.") for r in related if r.role == "tag")
    key = next((t.removeprefix("project:") for t in tags if t.startswith("project:")), None)
    stamp = resource.get("prefect.state-timestamp")
    return SeenState(
        state_id=str(event.id),
        flow_run_id=resource.id.removeprefix("prefect.flow-run."),
        type=resource["prefect.state-type"],
        name=resource.get("prefect.state-name") or "",
        message=resource.get("prefect.state-message") or "",
        occurred_at=datetime.fromisoformat(stamp) if stamp else event.occurred,
        project_key=key,
    )


async def record_events(events: list[Event]) -> int:
    """Record the lifecycle state changes among these events; returns how many were new."""
    states = [s for s in map(seen_state, events) if s is not None]
    if not states:
        return 0
    # The store is synchronous: off the loop, so the stream is read meanwhile.
    return await asyncio.to_thread(record_run_states, states=states, source="event")


async def catch_up() -> int:
    """Record every lifecycle state change Prefect's events API has since the last one
    recorded; returns how many were new."""
    with session_scope() as session:
        last = last_event_at(session)
    since = last - CATCH_UP_OVERLAP if last else utcnow() - FIRST_CATCH_UP
    recorded = 0
    async with get_client() as client:
        page = await client.read_events(filter=lifecycle_events(since), limit=PAGE)
        while True:
            recorded += await record_events(page.events)
            if not page.next_page or not page.events:
                return recorded
            page = await client.read_events_page(str(page.next_page))


class StateRecorder:
    """Catches up, then follows the event stream; after a drop it waits, catches up and
    follows again, until cancelled."""

    def __init__(
        self,
        *,
        retry_seconds: float = 2.0,
        reconnection_attempts: int = 3,
        sweep_seconds: float = 15.0,
    ) -> None:
        self.retry_seconds = retry_seconds
        self.reconnection_attempts = reconnection_attempts
        self.sweep_seconds = sweep_seconds
        self.following = asyncio.Event()  # set while subscribed: for tests and `pmo up`

    async def run(self) -> None:
        while True:
            try:
                caught = await catch_up()
                if caught:
                    logger.info("run-state recorder: caught up on %d state change(s)", caught)
                await self._follow()
            except TRANSIENT as error:
                logger.warning(
                    "run-state recorder: %s; trying again in %.0f s", error, self.retry_seconds
                )
            except Exception:
                # Our bug, not an outage: said loudly, and the served runs go on meanwhile.
                logger.exception("run-state recorder failed; trying again")
            self.following.clear()
            await asyncio.sleep(self.retry_seconds)

    async def _follow(self) -> None:
        subscriber = get_events_subscriber(
            filter=lifecycle_events(), reconnection_attempts=self.reconnection_attempts
        )
        async with subscriber:
            self.following.set()
            sweeper = asyncio.create_task(self._sweep())
            try:
                async for event in subscriber:
                    await record_events([event])
            finally:
                sweeper.cancel()

    async def _sweep(self) -> None:
        # The events API and the stream's backfill read what Prefect's persister has
        # flushed (every 5 s by default): a change made just before subscribing can be in
        # neither the backfill nor the live stream. Catching up now and then closes that.
        while True:
            await asyncio.sleep(self.sweep_seconds)
            try:
                await catch_up()
            except Exception as error:
                logger.warning("run-state recorder: catching up failed: %s", error)
