"""The few Prefect API calls a person waits for, as plain REST requests.

`pmo approve` and `pmo status` record in the store, then post the gate's events and wake
the run's pause. Through Prefect's client that meant importing Prefect (about 1.5 s) and
opening its events websocket; these are three requests on one connection
(`pmo.runtime.connection.rest_api()` reaches the API with our credentials).
"""

from datetime import UTC, datetime
from typing import Any

import httpx

from flows.waking import RunControl


class RestRuns(RunControl):
    """`flows.waking.RunControl` over Prefect's REST API."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client

    def read_run(self, run_id: str) -> dict[str, Any]:
        return self.client.get(f"/flow_runs/{run_id}").json()

    def resume(self, run_id: str, *, reschedule: bool) -> None:
        # What Prefect's `Scheduled(name="Resuming")` and `Running()` send, forced past
        # the orchestration rules as the Prefect-client path does.
        if reschedule:
            state = {
                "type": "SCHEDULED",
                "name": "Resuming",
                "state_details": {"scheduled_time": _now()},
            }
        else:
            state = {"type": "RUNNING", "name": "Running"}
        self.client.post(f"/flow_runs/{run_id}/set_state", json={"state": state, "force": True})


def post_events(client: httpx.Client, events: list[dict[str, Any]]) -> None:
    """Record events (the keyword arguments of Prefect's `emit_event`) in one request.
    Each keeps its given id, so one sent again is stored once, as with `emit_event`."""
    if not events:
        return
    occurred = _now()
    body = [
        {**event, "id": str(event["id"]), "occurred": occurred, "related": event.get("related", [])}
        for event in events
    ]
    client.post("/events", json=body)


def _now() -> str:
    return datetime.now(UTC).isoformat()
