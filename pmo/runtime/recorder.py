"""The run-state recorder beside the served deployments: in a thread of `pmo up` with an
event loop of its own, stopped with the process; or alone (`pmo record-states`), where the
runs are served by workers on other machines and no `pmo up` runs."""

import asyncio
import contextvars
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from rich.console import Console

from pmo.audit.state_recorder import StateRecorder
from pmo.runtime.connection import prefect_api
from pmo.settings import get_settings, redacted_url


@contextmanager
def recorder_in_thread(recorder: StateRecorder | None = None) -> Iterator[StateRecorder]:
    """Record lifecycle runs' state changes while the block runs. The thread runs in a copy
    of this context, so it reaches the Prefect API in force here (`prefect_api()`)."""
    recorder = recorder or StateRecorder()
    loop = asyncio.new_event_loop()
    task = loop.create_task(recorder.run())

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            with suppress(asyncio.CancelledError):
                loop.run_until_complete(task)
        finally:
            # A write handed to a worker thread finishes before the loop closes.
            loop.run_until_complete(loop.shutdown_default_executor())
            loop.close()

    context = contextvars.copy_context()
    thread = threading.Thread(target=context.run, args=(run,), daemon=True, name="pmo-run-states")
    thread.start()
    try:
        yield recorder
    finally:
        loop.call_soon_threadsafe(task.cancel)
        thread.join(timeout=15)


def run_recorder() -> None:
    """Record lifecycle runs' state changes in this process until interrupted."""
    with prefect_api() as api_url:
        console = Console()
        store = redacted_url(get_settings().store_url)
        console.print(
            f"Recording lifecycle runs' states from {api_url} into {store}; Ctrl-C stops."
        )
        try:
            asyncio.run(StateRecorder().run())
        except KeyboardInterrupt:
            console.print("Stopped.")
