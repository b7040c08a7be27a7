"""When the store is unavailable for a moment (its database restarting, the network cut), a
task runs again a few times, with growing delays, before the run gives up: every task is
idempotent, and a transaction cut short wrote nothing. Only an unavailable store is
retried; a person's mistake or our bug fails at once."""

import time
from collections.abc import Callable
from functools import wraps
from typing import Any, ParamSpec, TypeVar

from pmo.store.engine import StoreUnavailable

# 30 s in all: a database restart or a failover, not an outage that needs a person.
STORE_RETRY_DELAYS = [1, 2, 4, 8, 15]

P = ParamSpec("P")
R = TypeVar("R")


def store_was_unavailable(task: Any, task_run: Any, state: Any) -> bool:
    """Prefect's retry condition: retry a failed task run only if the store was away."""
    try:
        state.result()
    except StoreUnavailable:
        return True
    except Exception:  # noqa: BLE001 (any other failure is not ours to retry)
        return False
    return False


# Keyword arguments of every task that touches the store: `@task(**STORE_RETRIES, ...)`.
STORE_RETRIES: dict[str, Any] = {
    "retries": len(STORE_RETRY_DELAYS),
    "retry_delay_seconds": STORE_RETRY_DELAYS,
    "retry_condition_fn": store_was_unavailable,
}


def retried_while_unavailable(read: Callable[P, R]) -> Callable[P, R]:
    """The same policy for the few reads a flow makes outside tasks (where it stands)."""

    @wraps(read)
    def retried(*args: P.args, **kwargs: P.kwargs) -> R:
        for delay in STORE_RETRY_DELAYS:
            try:
                return read(*args, **kwargs)
            except StoreUnavailable:
                time.sleep(delay)
        return read(*args, **kwargs)

    return retried
