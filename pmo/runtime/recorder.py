"""The run-state recorder beside the served deployments: in a thread of `pmo up` with an
event loop of its own, stopped with the process."""

import asyncio
import contextvars
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from pmo.audit.state_recorder import StateRecorder


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
