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

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

import httpx
from prefect import get_client, pause_flow_run, suspend_flow_run
from prefect.client.orchestration import SyncPrefectClient
from prefect.context import FlowRunContext
from prefect.input import RunInput
from prefect.input.actions import delete_flow_run_input, read_flow_run_input
from prefect.input.run_input import keyset_from_base_key
from prefect.states import Running, Scheduled
from pydantic import ValidationError

from flows.waking import WAKE_WITHIN_SECONDS, wake_pause
from pmo.settings import get_settings

Form = TypeVar("Form", bound=RunInput)


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
    """`flows.waking.wake_pause` through Prefect's client (the SLA sweep, the approval
    page): wake the run that waits, or is about to wait, at pause `key`."""
    with get_client(sync_client=True) as client:
        return wake_pause(_ClientRuns(client), run_id, key, waiting_at, within=within)


def paused_at_since(run_id: str, key: str, moment: datetime) -> bool:
    """Whether the run has been paused at `key` since before `moment`: what it waits for
    was recorded after it paused, and nothing has woken it (its channel could not reach
    Prefect then)."""
    with get_client(sync_client=True) as client:
        state = client.read_flow_run(UUID(run_id)).state
    return (
        state is not None
        and state.is_paused()
        and state.state_details.pause_key == key
        and state.timestamp < moment
    )


class _ClientRuns:
    """`flows.waking.RunControl` over Prefect's sync client."""

    def __init__(self, client: SyncPrefectClient) -> None:
        self.client = client

    def read_run(self, run_id: str) -> dict[str, Any]:
        return self.client.read_flow_run(UUID(run_id)).model_dump(mode="json")

    def resume(self, run_id: str, *, reschedule: bool) -> None:
        resumed = Scheduled(name="Resuming") if reschedule else Running()
        self.client.set_flow_run_state(UUID(run_id), resumed, force=True)


def _suspends() -> bool:
    """Runs of a deployment suspend (no process held); direct runs pause in-process."""
    context = FlowRunContext.get()
    return bool(context and context.flow_run and context.flow_run.deployment_id)


def _response_key(kind: str, key: str) -> str:
    return keyset_from_base_key(f"{kind}-{key}")["response"]
