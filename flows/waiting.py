"""How a lifecycle run waits for people, and how it is woken.

The store hands out every pause key (`pmo.gates.answers.begin_wait`,
`pmo.control.reporting.begin_status_wait`) and judges every answer and update. A run waits
suspended under a deployment (no process held) and paused in its own process otherwise.
People reach it by two doors:

- the Resume form leaves an input at the pause; the run takes it when it comes back and
  hands it to the store's judge, then deletes it from Prefect (it may hold a code);
- `pmo approve` and `pmo status` have the store judge and record first, then `wake` the
  pause when the run must act (a decided round, an update), and return at once.
"""

import time
from collections.abc import Callable
from typing import Any, TypeVar
from uuid import UUID

import httpx
from prefect import get_client, pause_flow_run, suspend_flow_run
from prefect.context import FlowRunContext
from prefect.input import RunInput
from prefect.input.actions import delete_flow_run_input, read_flow_run_input
from prefect.input.run_input import keyset_from_base_key
from prefect.states import Running, Scheduled
from pydantic import ValidationError

from pmo.settings import get_settings

Form = TypeVar("Form", bound=RunInput)
# How long a channel waits for a run that recorded its pause key to reach that pause:
# the run is between its last read of the store and suspending, a moment normally.
WAKE_WITHIN_SECONDS = 60.0


def wait_for_input(form: type[Form], key: str) -> Form | None:
    """Wait at pause `key` for the form's input.

    Under a deployment the run is suspended and this never returns: the run comes back
    from the top and takes what was left at the pause (`input_left_at`). A run paused in
    its own process gets the input back, or None when a channel woke it after recording
    the answer in the store itself.
    """
    if _suspends():
        return suspend_flow_run(wait_for_input=form, key=key, timeout=None)
    settings = get_settings()
    try:
        return pause_flow_run(
            wait_for_input=form,
            key=key,
            timeout=settings.gate_pause_timeout_seconds,
            poll_interval=settings.gate_poll_seconds,
        )
    except ValidationError:
        # Prefect builds the form from an input that is not there: woken by a channel.
        if read_flow_run_input(_response_key("paused", key)) is None:
            return None
        raise


def input_left_at(key: str | None) -> dict[str, Any] | None:
    """What the Resume form left at this run's suspended pause `key`, if anything."""
    if key is None:
        return None
    value = read_flow_run_input(_response_key("suspended", key))
    return value if isinstance(value, dict) else None


def forget_input(key: str) -> None:
    """Delete what the Resume form left at pause `key`, once the store has recorded it:
    Prefect keeps run input in plain text, and an answer holds a one-time code."""
    try:
        delete_flow_run_input(_response_key("suspended" if _suspends() else "paused", key))
    except httpx.HTTPStatusError as error:
        if error.response.status_code != 404:  # gone already: a replay deleted it
            raise


def wake(
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
    with get_client(sync_client=True) as client:
        while waiting_at() == key:
            run = client.read_flow_run(UUID(run_id))
            state = run.state
            if state is None or state.is_final():
                return False
            if state.is_paused() and state.state_details.pause_key == key:
                resumed = (
                    Scheduled(name="Resuming")
                    if state.state_details.pause_reschedule
                    else Running()
                )
                client.set_flow_run_state(run.id, resumed, force=True)
                return True
            came_back = key in (run.empirical_policy.pause_keys or set())
            if came_back or state.is_scheduled() or state.is_pending():
                return True  # it left that pause and will read the store from the top
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
    return True


def _suspends() -> bool:
    """Runs of a deployment suspend (no process held); direct runs pause in-process."""
    context = FlowRunContext.get()
    return bool(context and context.flow_run and context.flow_run.deployment_id)


def _response_key(kind: str, key: str) -> str:
    return keyset_from_base_key(f"{kind}-{key}")["response"]
