"""`pmo plan`: a plan's schedule and earned value without a server (`pmo plan check`), and
the plan a project manager hands to a run waiting at planning (`pmo plan RUN_ID PLAN`)."""

import json
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated

import typer
from typer.core import TyperGroup

from pmo.cli.unreachable import warn_if_unreachable
from pmo.limits import check_count
from pmo.plan.model import WORK_PACKAGES, PlanError

SUBMIT = "submit"


class PlanGroup(TyperGroup):
    """`pmo plan RUN_ID PLAN` means `pmo plan submit RUN_ID PLAN`: a first argument that is
    not one of the group's commands (nor an option) goes to `submit`."""

    def parse_args(self, ctx, args: list[str]) -> list[str]:  # type: ignore[override]
        first = args[0] if args else "-"
        if first not in self.commands and not first.startswith("-") and SUBMIT in self.commands:
            args = [SUBMIT, *args]
        return super().parse_args(ctx, args)


app = typer.Typer(
    cls=PlanGroup,
    no_args_is_help=True,
    help="The plan: its schedule and earned value (check), or hand it to a run (RUN_ID PLAN).",
)


def _date(option: str, text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise PlanError(option, f"'{text}' is not a date (YYYY-MM-DD)") from None


def _progress(items: list[str]) -> dict[str, float]:
    progress: dict[str, float] = {}
    for item in items:
        key, sep, percent = item.rpartition("=")
        try:
            value = float(percent)
        except ValueError:
            sep = ""
        if not sep or not key.strip():
            raise PlanError("--progress", f"'{item}' is not KEY=PERCENT (e.g. 1.1=40)")
        progress[key.strip()] = value
    return progress


def _amount(option: str, text: str) -> Decimal:
    try:
        amount = Decimal(text.replace(",", ""))
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite():
        raise PlanError(option, f"'{text}' is not an amount")
    return amount


@app.command()
def check(
    plan_file: Annotated[
        Path,
        typer.Argument(metavar="PLAN", help="The plan: .yaml, .csv or Microsoft Project .xml."),
    ],
    start: Annotated[
        str | None, typer.Option(help="Start on this day instead of the plan's start.")
    ] = None,
    as_of: Annotated[
        str | None, typer.Option(help="Earned value as of the end of this day (default: today).")
    ] = None,
    progress: Annotated[
        list[str] | None,
        typer.Option(help="Work package key = percent complete, e.g. 1.1=40; repeat it."),
    ] = None,
    actual_cost: Annotated[str | None, typer.Option(help="Actual cost to date.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Schedule a plan (critical path, floats, finish) and, given progress, its earned value
    and earned schedule. No server needed; nothing is recorded."""
    from pmo.plan.evm import earned_value
    from pmo.plan.formats import load_plan
    from pmo.plan.report import schedule_json
    from pmo.plan.schedule import schedule_plan

    check_count("--progress", progress or [], WORK_PACKAGES)
    first = _date("--start", start) if start else None
    measured = as_of is not None or progress is not None or actual_cost is not None
    day = _date("--as-of", as_of) if as_of else date.today()
    done = _progress(progress or [])
    cost = _amount("--actual-cost", actual_cost) if actual_cost else Decimal(0)
    plan = load_plan(plan_file)
    if first is not None:
        plan = plan.model_copy(update={"start": first})
    elif plan.start is None:
        raise PlanError(str(plan_file), "start: the plan has no start date; give one with --start")
    schedule = schedule_plan(plan)
    evm = None
    if measured:
        evm = earned_value(schedule, as_of=day, progress=done, actual_cost=cost)
    if as_json:
        typer.echo(json.dumps(schedule_json(schedule, evm), indent=2))
        return
    _print(schedule, evm)


def _print(schedule, evm) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False)
    table = Table(title=f"Schedule from {schedule.start}", title_justify="left")
    for column in ("key", "work package", "start", "finish", "float", "critical"):
        table.add_column(column, justify="right" if column == "float" else "left")
    for p in schedule.packages.values():
        table.add_row(
            p.key,
            p.package.name,
            str(p.early_start),
            str(p.early_finish),
            str(p.total_float),
            "*" if p.critical else "",
        )
    console.print(table)
    typer.echo(f"Finish: {schedule.finish} ({schedule.duration_days} working days)")
    typer.echo(f"Critical path: {' -> '.join(schedule.critical_path)}")
    for name, day in schedule.milestones.items():
        typer.echo(f"Milestone: {name}: {day}")
    typer.echo(f"Budget at completion: {schedule.plan.budget():,}")
    if evm is None:
        return

    def show(value) -> str:
        return "n/a" if value is None else f"{value:,}"

    typer.echo(f"Earned value as of the end of {evm.as_of}:")
    typer.echo(f"  PV {show(evm.pv)}  EV {show(evm.ev)}  AC {show(evm.ac)}")
    typer.echo(f"  SV {show(evm.sv)}  CV {show(evm.cv)}  SPI {show(evm.spi)}  CPI {show(evm.cpi)}")
    typer.echo(
        f"  EAC {show(evm.eac)} (at plan rate {show(evm.eac_plan_rate)})  ETC {show(evm.etc)}"
        f"  VAC {show(evm.vac)}  TCPI {show(evm.tcpi)}"
    )
    typer.echo(
        f"  ES {show(evm.es_days)} of AT {evm.at_days} working days  SPI(t) {show(evm.spi_t)}"
        f"  forecast finish {evm.forecast_finish or 'n/a'}"
    )


@app.command(SUBMIT)
def submit(
    run_id: Annotated[str, typer.Argument(help="The lifecycle run waiting for the plan.")],
    plan_file: Annotated[
        Path,
        typer.Argument(metavar="PLAN", help="The plan: .yaml, .csv or Microsoft Project .xml."),
    ],
    confirm: Annotated[
        list[str] | None,
        typer.Option(help="An activity of the stage you have done (its key); repeat it."),
    ] = None,
    by: Annotated[
        str | None, typer.Option("--as", help="You: the project manager (their email).")
    ] = None,
) -> None:
    """Hand the project manager's plan to a run waiting at planning: checked (refused in
    one line, exit 2, nothing recorded), recorded, and the run woken to take it to the
    plan-approval gate."""
    from pmo.plan.formats import load_plan
    from pmo.runtime.runs import submit_plan

    plan = load_plan(plan_file)
    taken = submit_plan(run_id, plan, by=by, confirmed=confirm or [])
    _taken(taken, "Plan recorded")


def change(
    run_id: Annotated[str, typer.Argument(help="The lifecycle run reporting against the plan.")],
    plan_file: Annotated[
        Path,
        typer.Argument(metavar="NEW-PLAN", help="The changed plan: .yaml, .csv or .xml."),
    ],
    reason: Annotated[str, typer.Option(help="Why the baseline must change.")],
    by: Annotated[
        str | None, typer.Option("--as", help="You: the project manager (their email).")
    ] = None,
) -> None:
    """Request a change to the baseline: the changed plan goes to the stage's change gate
    (its approvers, codes and rules), whose go makes it the next baseline. Refused in one
    line (exit 2, nothing recorded) while a change gate is open."""
    from pmo.limits import TEXT_CHARS, check_length
    from pmo.plan.formats import load_plan
    from pmo.runtime.runs import submit_change

    check_length("--reason", reason, TEXT_CHARS)
    plan = load_plan(plan_file)
    taken = submit_change(run_id, plan, reason=reason, by=by)
    _taken(taken, f"Change request {taken.gate_key} recorded; its change gate decides")


def _taken(taken, what: str) -> None:
    f = taken.figures
    typer.echo(f"{what} for {taken.project} ({taken.stage}), plan {taken.plan_hash[:12]}:")
    typer.echo(f"  {f.finish_evidence()}")
    typer.echo(f"  {f.cost_evidence()}")
    typer.echo(taken.url)
    warn_if_unreachable(taken.unreachable)
