"""What a warm resumer's child does with the run it was handed: Prefect's own engine entry
(`python -m prefect.engine`: load the run, load its flow, `run_flow`), minus the imports.

The child is forked from a forkserver that imported Prefect and our flows once (`PRELOAD`),
so it starts in milliseconds instead of the 2 to 3 s a new interpreter takes. The forkserver
never talks to Prefect, so its children inherit no client, thread or event loop: forking a
process that had (the resumer itself) would deadlock.
"""

import importlib
import os
from typing import Any
from uuid import UUID

# Imported once by the forkserver, before any child is forked from it: what a run imports,
# lazily ones included (the task engine on the first task, the store's database driver).
# The forkserver skips a module that cannot be imported (psycopg without PostgreSQL).
PRELOAD = [
    # Without it each child runs the parent's main module again (`pmo`, importing the whole
    # CLI) as multiprocessing prepares it; preloaded, the children find it already there.
    "__main__",
    "prefect",
    "prefect.engine",
    "prefect.flow_engine",
    "prefect.task_engine",
    "prefect.task_runners",
    "prefect.results",
    "prefect.client.orchestration",
    "prefect.logging.handlers",
    "flows.lifecycle",
    "pmo.store",
    "sqlalchemy.dialects.sqlite",
    "psycopg",
]


def run_claimed(run_id: str, entrypoint: str, environment: dict[str, str]) -> None:
    """Run the claimed flow run `run_id` to its end or its next suspension, in this (forked)
    process, with exactly `environment` (the resumer's, taken when it claimed the run)."""
    # The forkserver kept the environment it was started with; the run gets the resumer's
    # current one (a test or an operator may have changed PMO_* or PREFECT_* since).
    prefect_changed = _prefect_variables(os.environ) != _prefect_variables(environment)
    os.environ.clear()
    os.environ.update(environment)
    from prefect.context import SettingsContext, get_settings_context
    from prefect.engine import handle_engine_signals
    from prefect.flow_engine import flow_run_logger, load_flow_run, run_flow
    from prefect.settings import Settings

    from pmo.settings import get_settings
    from pmo.store.engine import engine_for

    get_settings.cache_clear()
    engine_for.cache_clear()
    context = get_settings_context()
    # Reading Prefect's settings again costs a tenth of a second: only when they changed
    # (the run's own PREFECT__* identity variables are read from the environment as used).
    settings = Settings() if prefect_changed else context.settings
    # As `python -m prefect.engine`: Pause (a suspension) exits 0, a failure 1.
    with (
        SettingsContext(profile=context.profile, settings=settings),
        handle_engine_signals(UUID(run_id)),
    ):
        flow_run = load_flow_run(flow_run_id=UUID(run_id))
        logger = flow_run_logger(flow_run=flow_run)
        try:
            flow = flow_at(entrypoint)
        except Exception:
            logger.error("The flow of this run could not be loaded", exc_info=True)
            raise
        run_flow(flow, flow_run=flow_run, error_logger=logger)


def _prefect_variables(environment) -> dict[str, str]:  # noqa: ANN001
    return {
        key: value
        for key, value in environment.items()
        if key.startswith("PREFECT_") and not key.startswith("PREFECT__")
    }


def flow_at(entrypoint: str) -> Any:
    """The flow a deployment's entrypoint names (`flows/lifecycle.py:project_lifecycle`):
    the preloaded module's object when the path is one of our modules, else loaded by
    Prefect from the file."""
    path, _, name = entrypoint.rpartition(":")
    module_name = path.removesuffix(".py").replace("/", ".").replace(os.sep, ".")
    try:
        return getattr(importlib.import_module(module_name), name)
    except (ImportError, AttributeError, TypeError):
        from prefect.flows import load_flow_from_entrypoint

        return load_flow_from_entrypoint(entrypoint)
