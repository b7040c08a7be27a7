"""How a channel wakes the pause a run waits at, over whichever client reaches Prefect.

The decision is the same for every channel: the flow's SLA sweep and the approval page
(Prefect's own client, `flows.waiting.wake`) and `pmo approve` / `pmo status` (plain REST
calls, `pmo.runtime.rest`, so that a person does not wait for Prefect's import). It reads
the run as Prefect's API returns it (JSON) and does not import Prefect.
"""

import time
from collections.abc import Callable
from typing import Any, Protocol

# How long a channel waits for a run that recorded its pause key to reach that pause:
# the run is between its last read of the store and suspending, a moment normally.
WAKE_WITHIN_SECONDS = 60.0
FINAL_STATES = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


class RunControl(Protocol):
    """The two calls waking needs: a flow run as JSON, and forcing it on from a pause."""

    def read_run(self, run_id: str) -> dict[str, Any]: ...

    def resume(self, run_id: str, *, reschedule: bool) -> None:
        """Force the run out of its pause: rescheduled (a suspended run, to be started
        again) or running (a run paused in its own process)."""


def wake_pause(
    runs: RunControl,
    run_id: str,
    key: str,
    waiting_at: Callable[[], str | None],
    *,
    within: float = WAKE_WITHIN_SECONDS,
) -> bool:
    """Wake the run that waits, or is about to wait, at pause `key`, so that it reads
    what the caller has just recorded. Returns False if the run could not be woken.

    The caller recorded under the same lock the run takes to hand out `key`, so either
    the run read the record before choosing to wait (and `waiting_at()` no longer says
    `key`), or it waits at `key` now or is about to: then this waits for the pause and
    wakes it. A run that already left the pause (the Resume form woke it) comes back
    from the top and reads the store anyway.
    """
    deadline = time.monotonic() + within
    while waiting_at() == key:
        run = runs.read_run(run_id)
        state = run.get("state") or {}
        kind = state.get("type")
        if kind is None or kind in FINAL_STATES:
            return False
        details = state.get("state_details") or {}
        if kind == "PAUSED" and details.get("pause_key") == key:
            runs.resume(run_id, reschedule=bool(details.get("pause_reschedule")))
            return True
        came_back = key in ((run.get("empirical_policy") or {}).get("pause_keys") or ())
        if came_back or kind in ("SCHEDULED", "PENDING"):
            return True  # it left that pause and will read the store from the top
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True
