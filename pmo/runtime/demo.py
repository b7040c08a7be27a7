"""`pmo demo`: a whole project through a whole lifecycle on the embedded default.

A temporary local Prefect server and a temporary SQLite store; the lifecycle runs in this
process and an approver bot answers each gate through the Prefect API, as people would
through the UI. The documents and the approvers' mail are left in the output folder.
"""

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pmo.brief import EXAMPLE_BRIEF, load_brief
from pmo.runtime.connection import prefect_api, server_auth_string
from pmo.runtime.server import (
    SERVICES_A_DEMO_DOES_WITHOUT,
    migrated_database,
    starting_prefect_server,
)
from pmo.settings import get_settings

if TYPE_CHECKING:
    from pmo.runtime.approver_bot import GateTurn, StatusTurn

DEMO_GATE_POLL_SECONDS = 0.2


@dataclass
class DemoResult:
    project: str
    status: str
    documents: list[Path]
    answers: list["GateTurn"]
    updates: list["StatusTurn"]
    seconds: dict[str, float] = field(default_factory=dict)
    # Every baseline: (number, plan hash, why), baseline 1 first.
    baselines: list[tuple[int, str, str]] = field(default_factory=list)
    # The portfolio review written while the second project ran beside the first.
    portfolio: list[Path] = field(default_factory=list)


@contextmanager
def _environment(**values: str) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    get_settings.cache_clear()
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        get_settings.cache_clear()


def run_demo(
    out: Path,
    brief_path: Path | None = None,
    lifecycle: str = "pmbok-waterfall",
    *,
    baseline: bool = False,
) -> DemoResult:
    """Run a brief (the bundled example by default) to closure; documents land in `out`.
    With `baseline` the server starts as it did before the demo was made quick (a fresh
    database migrated, every service and block type, the rest of the start-up only once
    it answers, the run looking for answers every second): what bench/demo_phases.py
    measures against."""
    brief = load_brief(brief_path or EXAMPLE_BRIEF)
    # With PMO_SERVER_AUTH the demo's server, too, requires PREFECT_API_AUTH_STRING.
    credentials = server_auth_string() if get_settings().server_auth else None
    out = out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    # Built once per Prefect version in the user's PMO home, before the demo's own.
    template = None if baseline else migrated_database(get_settings().resolved_home / "cache")
    seconds["database template"] = time.perf_counter() - started
    with tempfile.TemporaryDirectory(prefix="pmo-demo-") as scratch:
        home = Path(scratch)
        with _environment(
            PMO_HOME=str(home),
            PMO_DATABASE_URL=f"sqlite:///{home / 'pmo.db'}",
            PMO_DOCUMENTS_DIR=str(out),
            PMO_SMTP_HOST="",
            # The bot answers within moments: the paused run looks for it as often.
            PMO_GATE_POLL_SECONDS=str(1.0 if baseline else DEMO_GATE_POLL_SECONDS),
        ):
            started = time.perf_counter()
            starting = starting_prefect_server(
                home / "prefect",
                ui=False,
                auth_string=credentials,
                database_template=template,
                without_services=() if baseline else SERVICES_A_DEMO_DOES_WITHOUT,
                register_blocks=baseline,
            )
            with starting as server:
                if baseline:
                    server.ready()
                # Prefect and the flows are imported, and the lifecycle tailored, while
                # the server starts: two processes on the machine's cores, not in turn.
                from pmo.runtime.demo_projects import (
                    drain_prefect_workers,
                    recorded_outcome,
                    run_beside_second_project,
                    sponsor_and_lifecycle,
                )

                decide, tailored = sponsor_and_lifecycle(brief, brief_path, lifecycle)
                api_url = server.ready()
                seconds["server start, imports beside it"] = time.perf_counter() - started
                started = time.perf_counter()
                with prefect_api(api_url):
                    try:
                        result, answers, updates, portfolio = run_beside_second_project(
                            brief, lifecycle, tailored, decide, out
                        )
                    finally:
                        drain_prefect_workers()
                seconds["lifecycle"] = time.perf_counter() - started
                stopping = time.perf_counter()
            seconds["server stop"] = time.perf_counter() - stopping
            documents, kept = recorded_outcome(brief.key)
            outbox = get_settings().outbox_dir
            if outbox.exists():
                shutil.copytree(outbox, out / "outbox", dirs_exist_ok=True)
    return DemoResult(
        brief.key, result["status"], documents, answers, updates, seconds, kept, portfolio
    )
