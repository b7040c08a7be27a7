"""The demo's projects and the people who answer them: its sponsor and gatekeepers, its
project manager, and the runs of both projects with an approver bot beside each.

Importing this imports Prefect and the flows; `pmo.runtime.demo` does so only once its
Prefect server is starting.
"""

import inspect
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from prefect.events.worker import EventsWorker
from prefect.logging.handlers import APILogWorker
from prefect.utilities.asyncutils import run_coro_as_sync

from flows.lifecycle import project_lifecycle
from pmo.brief import EXAMPLE_BRIEF, ProjectBrief
from pmo.control.reporting import covering_tolerances, measured_against, tolerances_in_force
from pmo.control.updates import StatusUpdate
from pmo.documents.versions import check_lifecycle_templates
from pmo.methodology.project import prepare_lifecycle
from pmo.plan.evm import planned_value
from pmo.plan.model import Plan, parse_plan
from pmo.plan.schedule import Schedule
from pmo.runtime.approver_bot import (
    ApproverBot,
    Decider,
    GateTurn,
    PlanTurn,
    Reporter,
    StatusTurn,
    approve_everything,
)
from pmo.runtime.demo_portfolio import (
    SECOND_BRIEF,
    SECOND_LIFECYCLE,
    PortfolioMoment,
    ReportsOnceReviewed,
    SponsorActsOnReview,
    WaitsForReview,
    in_thread,
    second_brief,
)
from pmo.store import session_scope
from pmo.store.lifecycles import lifecycle_for
from pmo.store.plans import baselines
from pmo.store.records import get_project, project_documents
from pmo.store.reporting import latest_stage_run, project_snapshots
from process_library.loader import load_lifecycle
from process_library.schema import Lifecycle


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


class GatekeepersScore:
    """The demo's gatekeepers score every criterion a gate asks them to, the sponsor a
    little more generously than the others, so the decision record shows a spread."""

    def __init__(self, brief: ProjectBrief, lifecycle: Lifecycle) -> None:
        self.sponsor = brief.sponsor.email
        self.gates = {gate.key: gate for gate in lifecycle.gates}

    def __call__(self, turn: GateTurn) -> tuple[dict[str, int], dict[str, bool]]:
        gate = self.gates.get(turn.gate_key)
        if gate is None:  # an exception gate, keyed per breach
            return {}, {}
        base = 8 if turn.approver == self.sponsor else 6
        scores = {c.key: base + index % 2 for index, c in enumerate(gate.scored)}
        return scores, {c.key: True for c in gate.judged}


def sponsor_and_lifecycle(
    brief: ProjectBrief, brief_path: Path | None, lifecycle: str
) -> tuple[SponsorRecyclesOnce, Lifecycle]:
    """The lifecycle tailored to the brief, its templates checked, and the sponsor who
    sends its second recyclable gate back once."""
    prepared = prepare_lifecycle(brief, load_lifecycle(lifecycle), str(brief_path or EXAMPLE_BRIEF))
    tailored = prepared.loaded.lifecycle
    check_lifecycle_templates(tailored)
    recyclable = [s.gate.key for s in tailored.stages if "recycle" in s.gate.decisions]
    return SponsorRecyclesOnce(recyclable[1] if len(recyclable) > 1 else None), tailored


def accepted_forecast(project_key: str) -> str:
    """New tolerances covering the latest forecast (`cost_percent: 9`), as a go's conditions."""
    with session_scope() as session:
        project = get_project(session, key=project_key)
        stage_run = latest_stage_run(session, project=project)
        stage = lifecycle_for(session, stage_run=stage_run).stage(stage_run.stage_key)
        in_force = tolerances_in_force(session, stage_run=stage_run, stage=stage)
        snapshot = project_snapshots(session, project=project)[-1]
        covering = covering_tolerances(snapshot, in_force)
    changed = {k: v for k, v in covering.items() if v != in_force.model_dump()[k]}
    return ", ".join(f"{name}: {value:g}" for name, value in changed.items())


@dataclass(frozen=True)
class ProjectManager:
    """The demo's project manager, reporting against the baseline in force. Each reporting
    stage takes its share of the baseline's span (one stage in a waterfall, one per
    management stage or release): an update a little behind the plan and over cost,
    within tolerance, then the update that reports the stage's share done. Where a
    lifecycle reports in several stages, the first update of the last one forecasts a cost
    overrun past tolerance, so the demo shows an exception going to the board and the
    board's decision. A plan sent back at its gate comes again with contingency added."""

    brief: ProjectBrief
    reporting_stages: tuple[str, ...]

    def __call__(self, turn: StatusTurn) -> StatusUpdate:
        with session_scope() as session:
            project = get_project(session, key=turn.project_key)
            schedule = measured_against(session, project=project).schedule
        stages = len(self.reporting_stages)
        index = self.reporting_stages.index(turn.stage_key)
        share = 1 / stages
        span = (schedule.finish - schedule.start).days
        bac = schedule.plan.budget()

        def day(fraction: float) -> date:
            return schedule.start + timedelta(days=round(span * (index + fraction) * share))

        def cost(amount: Decimal, factor: float) -> Decimal:
            return (amount * Decimal(str(factor))).quantize(Decimal(1))

        if turn.number == 1:
            as_of = day(0.55)
            overrun = stages > 1 and index == stages - 1
            return StatusUpdate(
                as_of=as_of,
                progress=planned_percent(schedule, as_of, behind=0.99),
                actual_cost=cost(planned_value(schedule, as_of), 1.01),
                forecast_finish=schedule.finish + timedelta(days=3),
                forecast_cost=cost(bac, 1.12 if overrun else 1.02),
                commentary=(
                    "The service desk asked for a call-back feature the board had not planned "
                    "for; building it would take the cost past tolerance."
                    if overrun
                    else "Order tracking is ahead; single sign-on waits on two customers' IT "
                    "teams, so the finish slips a few days."
                ),
                issues=("Two large customers have not yet configured their identity provider",),
            )
        as_of = day(1.0) if index < stages - 1 else schedule.finish
        return StatusUpdate(
            as_of=as_of,
            progress=planned_percent(schedule, as_of),
            actual_cost=cost(planned_value(schedule, as_of), 1.01),
            forecast_finish=schedule.finish,
            forecast_cost=cost(bac, 1.01),
            commentary=(
                "All deliverables built and tested; ready for acceptance."
                if index == stages - 1
                else "This stage's deliverables are built and tested; ready for its review."
            ),
            complete=True,
        )


def planned_percent(schedule: Schedule, as_of: date, behind: float = 1.0) -> dict[str, float]:
    """Percent complete per work package had it gone as the baseline planned by the end
    of `as_of`; those under way times `behind` (0.99: a little behind)."""
    progress = {}
    for key, scheduled in schedule.packages.items():
        days = scheduled.package.duration_days
        if as_of < scheduled.early_start:
            done = 0.0
        elif as_of >= scheduled.early_finish or days == 0:
            done = 1.0
        else:
            worked = schedule.calendar.workdays_between(
                scheduled.early_start, as_of + timedelta(days=1)
            )
            done = worked / days
        progress[key] = 100.0 if done == 1 else round(100 * done * behind, 1)
    return progress


def change_request(brief: ProjectBrief, reporting_stages: tuple[str, ...]):
    """Before the first update of the first reporting stage, the project manager asks for
    a change: the ERP vendor delivers the order API two weeks late, so 2.3 takes ten more
    working days and a contractor (4,000) more. Its change gate's go makes baseline 2."""

    def change(turn: StatusTurn) -> tuple[Plan, str] | None:
        if turn.stage_key != reporting_stages[0] or turn.number != 1 or turn.attempt != 1:
            return None
        with session_scope() as session:
            project = get_project(session, key=turn.project_key)
            plan = measured_against(session, project=project).plan
        if "2.3" not in {p.key for p in plan.work_packages}:
            return None
        data = plan.data()
        for package in data["work_packages"]:
            if package["key"] == "2.3":
                package["duration_days"] += 10
                package["budget"] += 4000
        reason = "The ERP vendor delivers the order API two weeks late (their letter of 3 March)."
        return parse_plan(data, "change request"), reason

    return change


def replan(brief: ProjectBrief):
    """The project manager's plan when the gate sends planning back: the brief's, with a
    week of contingency on the package that carries the vendor risk (the ERP API)."""

    def plan(turn: PlanTurn) -> tuple[Plan, list[str]]:
        data = brief.plan.data()
        for package in data["work_packages"]:
            if package["key"] == "2.3":
                package["duration_days"] += 5
        return parse_plan(data, "re-plan"), []

    return plan


def recorded_outcome(project_key: str) -> tuple[list[Path], list[tuple[int, str, str]]]:
    """The project's Word documents and its baselines (number, plan hash, why), as recorded."""
    with session_scope() as session:
        project = get_project(session, key=project_key)
        documents = [Path(d.docx_path) for d in project_documents(session, project=project)]
        kept = baselines(session, project_id=project.id)
        return documents, [(b.number, b.plan_hash, b.reason) for b in kept]


def drain_prefect_workers() -> None:
    """Send buffered logs and events before the server stops, or Prefect retries for a
    minute against a server that is gone."""

    async def drain() -> None:
        for result in (APILogWorker.instance().drain(), EventsWorker.drain_all()):
            if inspect.isawaitable(result):
                await result

    run_coro_as_sync(drain())


def run_beside_second_project(
    brief: ProjectBrief, lifecycle: str, tailored: Lifecycle, decide: Decider, out: Path
) -> tuple[dict, list[GateTurn], list[StatusTurn], list[Path]]:
    """Run the main project with the small second one beside it (in a thread of its own),
    so the portfolio review written between them has two projects to weigh."""
    second = second_brief(brief)
    keys = (brief.key, second.key) if second else (brief.key,)
    moment = PortfolioMoment(out, keys)
    reporting = tuple(s.key for s in tailored.stages if s.reporting)
    report = ReportsOnceReviewed(moment, ProjectManager(brief, reporting))
    thread = None
    if second is not None:
        loaded = prepare_lifecycle(second, load_lifecycle(SECOND_LIFECYCLE), str(SECOND_BRIEF))
        second_stages = tuple(s.key for s in loaded.loaded.lifecycle.stages if s.reporting)
        thread, _ = in_thread(
            lambda: run_with_bot(
                second,
                SECOND_LIFECYCLE,
                loaded.loaded.lifecycle,
                SponsorActsOnReview(moment),
                report=WaitsForReview(moment, ProjectManager(second, second_stages)),
                change_requests=False,
            )
        )
    try:
        result, answers, updates = run_with_bot(brief, lifecycle, tailored, decide, report=report)
    finally:
        moment.write()  # a lifecycle that never reports: the review as things stand at its end
        if thread is not None:
            thread.join(timeout=300)
    return result, answers, updates, moment.written


def run_with_bot(
    brief: ProjectBrief,
    lifecycle: str,
    tailored: Lifecycle,
    decide: Decider,
    report: Reporter | None = None,
    change_requests: bool = True,
) -> tuple[dict, list[GateTurn], list[StatusTurn]]:
    def run_id() -> str | None:
        with session_scope() as session:
            project = get_project(session, key=brief.key)
            return project.flow_run_id if project else None

    # Open (and migrate) the store here, not from the bot's thread and the flow at once.
    run_id()
    reporting = tuple(s.key for s in tailored.stages if s.reporting)
    bot = ApproverBot(
        run_id=run_id,
        decide=decide,
        report=report or ProjectManager(brief, reporting),
        plan=replan(brief),
        change=change_request(brief, reporting) if reporting and change_requests else None,
        score=GatekeepersScore(brief, tailored),
    ).start()
    try:
        result = project_lifecycle(brief=brief, lifecycle=lifecycle)
    finally:
        bot.stop()
    return result, bot.answered, bot.reported
