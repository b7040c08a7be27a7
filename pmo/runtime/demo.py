"""`pmo demo`: a whole project through a whole lifecycle on the embedded default.

A temporary local Prefect server and a temporary SQLite store; the lifecycle runs in this
process and an approver bot answers each gate through the Prefect API, as people would
through the UI. The documents and the approvers' mail are left in the output folder.
"""

import inspect
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from prefect.events.worker import EventsWorker
from prefect.logging.handlers import APILogWorker
from prefect.utilities.asyncutils import run_coro_as_sync

from flows.lifecycle import project_lifecycle
from pmo.brief import EXAMPLE_BRIEF, ProjectBrief, load_brief
from pmo.control.updates import StatusUpdate
from pmo.documents.versions import check_lifecycle_templates
from pmo.runtime.approver_bot import ApproverBot, Decider, GateTurn, StatusTurn, approve_everything
from pmo.runtime.connection import prefect_api, server_auth_string
from pmo.runtime.server import local_prefect_server
from pmo.settings import get_settings
from pmo.store import session_scope
from pmo.store.records import get_project, project_documents
from process_library.loader import load_lifecycle
from process_library.schema import Lifecycle


@dataclass
class DemoResult:
    project: str
    status: str
    documents: list[Path]
    answers: list[GateTurn]
    updates: list[StatusTurn]
    seconds: dict[str, float] = field(default_factory=dict)


class SponsorRecyclesOnce:
    """The demo's approvers: all go, except that the second gate is sent back once, so
    the demo shows a recycle and the versioned documents that follow it."""

    def __init__(self, recycle_gate: str | None) -> None:
        self.recycle_gate = recycle_gate

    def __call__(self, turn: GateTurn) -> tuple[str, str, str]:
        if turn.gate_key == self.recycle_gate and turn.attempt == 1:
            return "recycle", "The schedule has no contingency for the vendor risk; re-plan.", ""
        decision, comment, _ = approve_everything(turn)
        conditions = "Report progress fortnightly to the sponsor." if turn.attempt > 1 else ""
        return decision, comment, conditions


def project_manager_reports(turn: StatusTurn, brief: ProjectBrief) -> StatusUpdate:
    """The demo's project manager: one update a little behind plan and over cost, within
    tolerance, then the update that reports the stage complete."""
    span = (brief.target_end_date - brief.start_date).days
    budget = Decimal(brief.budget)
    first = [75.0, 70.0, 65.0] + [70.0] * (len(turn.packages) - 3)
    if turn.number == 1:
        return StatusUpdate(
            as_of=brief.start_date + timedelta(days=round(span * 0.55)),
            progress=dict(zip(turn.packages, first, strict=False)),
            actual_cost=(budget * Decimal("0.73")).quantize(Decimal(1)),
            forecast_finish=brief.target_end_date + timedelta(days=7),
            forecast_cost=(budget * Decimal("1.04")).quantize(Decimal(1)),
            commentary="Order tracking is ahead; single sign-on waits on two customers' IT "
            "teams, so the finish slips a week.",
            issues=("Two large customers have not yet configured their identity provider",),
        )
    return StatusUpdate(
        as_of=brief.start_date + timedelta(days=round(span * 0.74)),
        progress=dict.fromkeys(turn.packages, 100.0),
        actual_cost=(budget * Decimal("0.97")).quantize(Decimal(1)),
        forecast_finish=brief.target_end_date,
        forecast_cost=(budget * Decimal("1.01")).quantize(Decimal(1)),
        commentary="All deliverables built and tested; ready for acceptance.",
        complete=True,
    )


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
    out: Path, brief_path: Path | None = None, lifecycle: str = "pmbok-waterfall"
) -> DemoResult:
    """Run a brief (the bundled example by default) to closure; documents land in `out`."""
    brief = load_brief(brief_path or EXAMPLE_BRIEF)
    loaded = load_lifecycle(lifecycle)
    tailored = loaded.lifecycle.tailored_for(brief.tier)
    brief.check_against(tailored, source=str(brief_path or EXAMPLE_BRIEF))
    check_lifecycle_templates(tailored)
    recyclable = [s.gate.key for s in tailored.stages if "recycle" in s.gate.decisions]
    decide = SponsorRecyclesOnce(recyclable[1] if len(recyclable) > 1 else None)
    # With PMO_SERVER_AUTH the demo's server, too, requires PREFECT_API_AUTH_STRING.
    credentials = server_auth_string() if get_settings().server_auth else None
    out = out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    seconds: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="pmo-demo-") as scratch:
        home = Path(scratch)
        with _environment(
            PMO_HOME=str(home),
            PMO_DATABASE_URL=f"sqlite:///{home / 'pmo.db'}",
            PMO_DOCUMENTS_DIR=str(out),
            PMO_SMTP_HOST="",
        ):
            started = time.perf_counter()
            server = local_prefect_server(home / "prefect", ui=False, auth_string=credentials)
            with server as api_url:
                seconds["server start"] = time.perf_counter() - started
                with prefect_api(api_url):
                    try:
                        result, answers, updates = _run_with_bot(brief, lifecycle, tailored, decide)
                    finally:
                        drain_prefect_workers()
                seconds["lifecycle"] = time.perf_counter() - started - seconds["server start"]
            with session_scope() as session:
                project = get_project(session, key=brief.key)
                documents = [Path(d.docx_path) for d in project_documents(session, project=project)]
            outbox = get_settings().outbox_dir
            if outbox.exists():
                shutil.copytree(outbox, out / "outbox", dirs_exist_ok=True)
    return DemoResult(brief.key, result["status"], documents, answers, updates, seconds)


def drain_prefect_workers() -> None:
    """Send buffered logs and events before the server stops, or Prefect retries for a
    minute against a server that is gone."""

    async def drain() -> None:
        for result in (APILogWorker.instance().drain(), EventsWorker.drain_all()):
            if inspect.isawaitable(result):
                await result

    run_coro_as_sync(drain())


def _run_with_bot(
    brief: ProjectBrief, lifecycle: str, tailored: Lifecycle, decide: Decider
) -> tuple[dict, list[GateTurn], list[StatusTurn]]:
    def run_id() -> str | None:
        with session_scope() as session:
            project = get_project(session, key=brief.key)
            return project.flow_run_id if project else None

    # Open (and migrate) the store here, not from the bot's thread and the flow at once.
    run_id()
    bot = ApproverBot(
        run_id=run_id,
        lifecycle=tailored,
        decide=decide,
        report=lambda turn: project_manager_reports(turn, brief),
    ).start()
    try:
        result = project_lifecycle(brief=brief, lifecycle=lifecycle)
    finally:
        bot.stop()
    return result, bot.answered, bot.reported
