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
from pmo.control.reporting import covering_tolerances, tolerances_in_force
from pmo.control.updates import StatusUpdate
from pmo.documents.versions import check_lifecycle_templates
from pmo.methodology.project import prepare_lifecycle
from pmo.runtime.approver_bot import ApproverBot, Decider, GateTurn, StatusTurn, approve_everything
from pmo.runtime.connection import prefect_api, server_auth_string
from pmo.runtime.server import (
    SERVICES_A_DEMO_DOES_WITHOUT,
    local_prefect_server,
    migrated_database,
)
from pmo.settings import get_settings
from pmo.store import session_scope
from pmo.store.lifecycles import lifecycle_for
from pmo.store.records import get_project, project_documents
from pmo.store.reporting import latest_stage_run, project_snapshots
from process_library.loader import load_lifecycle
from process_library.schema import Lifecycle

DEMO_GATE_POLL_SECONDS = 0.2


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
    the demo shows a recycle and the versioned documents that follow it. At an exception
    gate the board accepts the forecast: go, with tolerances just wide enough for it."""

    def __init__(self, recycle_gate: str | None) -> None:
        self.recycle_gate = recycle_gate

    def __call__(self, turn: GateTurn) -> tuple[str, str, str]:
        if turn.kind == "exception":
            return (
                "go",
                "The board accepts the forecast overrun and widens the stage's tolerances.",
                accepted_forecast(turn.project_key),
            )
        if turn.gate_key == self.recycle_gate and turn.attempt == 1:
            return "recycle", "The schedule has no contingency for the vendor risk; re-plan.", ""
        decision, comment, _ = approve_everything(turn)
        conditions = "Report progress fortnightly to the sponsor." if turn.attempt > 1 else ""
        return decision, comment, conditions


def accepted_forecast(project_key: str) -> str:
    """New tolerances covering the latest forecast (`cost_percent: 9`), as a go's conditions."""
    with session_scope() as session:
        project = get_project(session, key=project_key)
        stage_run = latest_stage_run(session, project=project)
        stage = lifecycle_for(session, stage_run=stage_run).stage(stage_run.stage_key)
        in_force = tolerances_in_force(session, stage_run=stage_run, stage=stage)
        snapshot = project_snapshots(session, project=project)[-1]
        covering = covering_tolerances(snapshot, in_force).model_dump()
    changed = {k: v for k, v in covering.items() if v != in_force.model_dump()[k]}
    return ", ".join(f"{name}: {value:g}" for name, value in changed.items())


@dataclass(frozen=True)
class ProjectManager:
    """The demo's project manager. Each reporting stage takes its share of the work (one
    stage in a waterfall, one per management stage or release): an update a little behind
    plan and over cost, within tolerance, then the update that reports the stage complete.
    Where a lifecycle reports in several stages, the first update of the last one
    forecasts a cost overrun past tolerance, so the demo shows an exception going to the
    board and the board's decision."""

    brief: ProjectBrief
    reporting_stages: tuple[str, ...]

    def __call__(self, turn: StatusTurn) -> StatusUpdate:
        brief = self.brief
        stages = len(self.reporting_stages)
        index = self.reporting_stages.index(turn.stage_key)
        share = 1 / stages
        span = (brief.target_end_date - brief.start_date).days
        budget = Decimal(brief.budget)

        def day(fraction: float):
            return brief.start_date + timedelta(days=round(span * (index + fraction) * share))

        def cost(fraction: float) -> Decimal:
            return (budget * Decimal(str(fraction))).quantize(Decimal(1))

        done = 100 * index * share
        if turn.number == 1:
            first = [75.0, 70.0, 65.0] + [70.0] * (len(turn.packages) - 3)
            overrun = stages > 1 and index == stages - 1
            return StatusUpdate(
                as_of=day(0.55),
                progress={
                    package: round(done + percent * share, 1)
                    for package, percent in zip(turn.packages, first, strict=False)
                },
                actual_cost=cost((index + 0.73) * share),
                forecast_finish=brief.target_end_date + timedelta(days=7),
                forecast_cost=cost(1.12 if overrun else 1.04),
                commentary=(
                    "The service desk asked for a call-back feature the board had not planned "
                    "for; building it would take the cost past tolerance."
                    if overrun
                    else "Order tracking is ahead; single sign-on waits on two customers' IT "
                    "teams, so the finish slips a week."
                ),
                issues=("Two large customers have not yet configured their identity provider",),
            )
        return StatusUpdate(
            as_of=day(0.74),
            progress=dict.fromkeys(turn.packages, round(done + 100 * share, 1)),
            actual_cost=cost((index + 0.97) * share),
            forecast_finish=brief.target_end_date,
            forecast_cost=cost(1.01),
            commentary=(
                "All deliverables built and tested; ready for acceptance."
                if index == stages - 1
                else "This stage's deliverables are built and tested; ready for its review."
            ),
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
    out: Path,
    brief_path: Path | None = None,
    lifecycle: str = "pmbok-waterfall",
    *,
    baseline: bool = False,
) -> DemoResult:
    """Run a brief (the bundled example by default) to closure; documents land in `out`.
    With `baseline` the server starts as it did before the demo was made quick (a fresh
    database migrated, every service, the run looking for answers every second): what
    bench/demo_phases.py measures against."""
    brief = load_brief(brief_path or EXAMPLE_BRIEF)
    prepared = prepare_lifecycle(brief, load_lifecycle(lifecycle), str(brief_path or EXAMPLE_BRIEF))
    tailored = prepared.loaded.lifecycle
    check_lifecycle_templates(tailored)
    recyclable = [s.gate.key for s in tailored.stages if "recycle" in s.gate.decisions]
    decide = SponsorRecyclesOnce(recyclable[1] if len(recyclable) > 1 else None)
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
            server = local_prefect_server(
                home / "prefect",
                ui=False,
                auth_string=credentials,
                database_template=template,
                without_services=() if baseline else SERVICES_A_DEMO_DOES_WITHOUT,
            )
            with server as api_url:
                seconds["server start"] = time.perf_counter() - started
                with prefect_api(api_url):
                    try:
                        result, answers, updates = run_with_bot(brief, lifecycle, tailored, decide)
                    finally:
                        drain_prefect_workers()
                seconds["lifecycle"] = time.perf_counter() - started - seconds["server start"]
                stopping = time.perf_counter()
            seconds["server stop"] = time.perf_counter() - stopping
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


def run_with_bot(
    brief: ProjectBrief, lifecycle: str, tailored: Lifecycle, decide: Decider
) -> tuple[dict, list[GateTurn], list[StatusTurn]]:
    def run_id() -> str | None:
        with session_scope() as session:
            project = get_project(session, key=brief.key)
            return project.flow_run_id if project else None

    # Open (and migrate) the store here, not from the bot's thread and the flow at once.
    run_id()
    reporting = tuple(s.key for s in tailored.stages if s.reporting)
    bot = ApproverBot(run_id=run_id, decide=decide, report=ProjectManager(brief, reporting)).start()
    try:
        result = project_lifecycle(brief=brief, lifecycle=lifecycle)
    finally:
        bot.stop()
    return result, bot.answered, bot.reported
