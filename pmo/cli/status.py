"""`pmo status`: the project manager's status update, and `pmo projects`: the portfolio."""

import json
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated

import typer

from pmo.cli.unreachable import warn_if_unreachable
from pmo.errors import StatusRefused
from pmo.limits import LINE_CHARS, LIST_ITEMS, TEXT_CHARS, check_count, check_length


def _date(option: str, text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise StatusRefused(option, f"'{text}' is not a date (YYYY-MM-DD)") from None


def _amount(option: str, text: str) -> Decimal:
    try:
        amount = Decimal(text.replace(",", ""))
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite():
        raise StatusRefused(option, f"'{text}' is not an amount")
    return amount


def _progress(items: list[str]) -> dict[str, float]:
    progress = {}
    for item in items:
        package, sep, percent = item.rpartition("=")
        try:
            progress[package.strip()] = float(percent)
        except ValueError:
            sep = ""
        if not sep or not package.strip():
            raise StatusRefused("--progress", f"'{item}' is not KEY=PERCENT (e.g. 1.1=40)")
    return progress


def _costs(items: list[str]) -> tuple[Decimal, dict[str, Decimal] | None]:
    """`--actual-cost 45000` (the total) or `--actual-cost 1.1=20000 ...` (per package)."""
    if len(items) == 1 and "=" not in items[0]:
        return _amount("--actual-cost", items[0]), None
    costs = {}
    for item in items:
        package, sep, amount = item.rpartition("=")
        if not sep or not package.strip():
            raise StatusRefused(
                "--actual-cost", f"'{item}' is not KEY=AMOUNT (e.g. 1.1=20000) nor one total"
            )
        costs[package.strip()] = _amount(f"--actual-cost {package.strip()}", amount)
    return sum(costs.values(), Decimal(0)), costs


def _risk(text: str):
    from pmo.control.updates import ReportedRisk

    description, *levels = [part.strip() for part in text.split(":")]
    check_length("--risk", description, LINE_CHARS)
    levels += ["medium"] * (2 - len(levels))
    if len(levels) != 2 or any(level not in ("low", "medium", "high") for level in levels):
        raise StatusRefused("--risk", f"'{text}' is not DESCRIPTION[:PROBABILITY:IMPACT]")
    return ReportedRisk(description, *levels)


def status(
    run_id: Annotated[str, typer.Argument(help="The lifecycle run taking status updates.")],
    progress: Annotated[
        list[str],
        typer.Option(help="Work package key of the baseline = percent complete; repeat it."),
    ],
    actual_cost: Annotated[
        list[str],
        typer.Option(help="Actual cost to date: the total, or KEY=AMOUNT per work package."),
    ],
    forecast_finish: Annotated[str, typer.Option(help="Forecast finish date (YYYY-MM-DD).")],
    forecast_cost: Annotated[str, typer.Option(help="Forecast cost at completion.")],
    as_of: Annotated[
        str | None, typer.Option(help="Date the figures are as of (default: today).")
    ] = None,
    commentary: Annotated[str, typer.Option(help="RAG commentary for the report.")] = "",
    note: Annotated[str, typer.Option(help="Why a percent complete went back.")] = "",
    scope_change: Annotated[float, typer.Option(help="Forecast scope change, percent.")] = 0.0,
    quality_shortfall: Annotated[
        float, typer.Option(help="Forecast share of acceptance criteria missed, percent.")
    ] = 0.0,
    benefits_shortfall: Annotated[
        float, typer.Option(help="Forecast shortfall of benefits, percent.")
    ] = 0.0,
    risk: Annotated[
        list[str] | None, typer.Option(help="New risk: DESCRIPTION[:PROBABILITY:IMPACT].")
    ] = None,
    issue: Annotated[list[str] | None, typer.Option(help="New issue; repeat it.")] = None,
    complete: Annotated[
        bool, typer.Option("--complete", help="The stage's work is done: go to its gate.")
    ] = False,
    confirm: Annotated[
        list[str] | None,
        typer.Option(help="An activity of the stage you have done (its key); repeat it."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Report status on a run in a reporting stage: progress, cost, forecast, RAG
    commentary, new risks and issues. Bad figures are refused (exit 2), nothing recorded."""
    from pmo.control.updates import StatusUpdate

    # Refused before Prefect is imported: nothing is recorded and the refusal is quick.
    check_count("--risk", risk or [], LIST_ITEMS)
    check_count("--issue", issue or [], LIST_ITEMS)
    for text in issue or []:
        check_length("--issue", text, LINE_CHARS)
    check_count("--confirm", confirm or [], LIST_ITEMS)
    total, costs = _costs(actual_cost)
    update = StatusUpdate(
        as_of=_date("--as-of", as_of) if as_of else date.today(),
        progress=_progress(progress),
        actual_cost=total,
        actual_costs=costs,
        confirmed_activities=tuple(confirm or []),
        forecast_finish=_date("--forecast-finish", forecast_finish),
        forecast_cost=_amount("--forecast-cost", forecast_cost),
        scope_change_percent=scope_change,
        quality_shortfall_percent=quality_shortfall,
        benefits_shortfall_percent=benefits_shortfall,
        commentary=check_length("--commentary", commentary, TEXT_CHARS),
        note=check_length("--note", note, TEXT_CHARS),
        risks=tuple(_risk(text) for text in risk or []),
        issues=tuple(issue or []),
        complete=complete,
    )
    from pmo.runtime.answering import submit_status_update

    taken = submit_status_update(run_id, update)
    warn_if_unreachable(taken.unreachable)
    figures = taken.figures
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "project": taken.project,
                    "stage": taken.stage,
                    "update": taken.number,
                    "baseline": figures.baseline_number,
                    "recorded": True,
                    "as_of": figures.as_of.isoformat(),
                    "percent_complete": figures.percent_complete,
                    **{
                        name: _number(getattr(figures, name))
                        for name in ("pv", "ev", "ac", "spi", "cpi", "sv", "cv", "eac", "vac")
                    },
                    "rag": {r["dimension"]: r["colour"] for r in figures.rag},
                    "evm": figures.evm,
                    "overall": figures.overall,
                    "breached": figures.breached,
                    "complete": taken.complete,
                    "url": taken.url,
                },
                indent=2,
            )
        )
        return
    evm = figures.evm or {}
    typer.echo(
        f"Update {taken.number} recorded for {taken.project} ({taken.stage}) against "
        f"baseline {figures.baseline_number}: {figures.overall.upper()}; "
        f"SPI {figures.spi or '-'}, CPI {figures.cpi or '-'}, SPI(t) {evm.get('spi_t') or '-'}, "
        f"EAC {figures.eac:,.2f}, VAC {figures.vac:,.2f}, "
        f"forecast finish {evm.get('forecast_finish') or '-'}"
    )
    if figures.breached:
        past = ", ".join(r["dimension"] for r in figures.rag if r["colour"] == "red")
        typer.echo(f"Forecast past tolerance ({past}): the exception report goes to the sponsor.")
    if taken.complete:
        typer.echo("Stage reported complete: its documents and gate follow.")
    typer.echo(taken.url)


def _number(value) -> float | None:
    return float(value) if value is not None else None


def projects(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """List every project: lifecycle, stage, status, overall RAG, latest SPI and CPI."""
    from pmo.control.reporting import list_projects
    from pmo.store import session_scope

    with session_scope() as session:
        lines = list_projects(session)
    if as_json:
        rows = [
            {
                "project": p.key,
                "name": p.name,
                "lifecycle": p.lifecycle,
                "stage": p.stage,
                "status": p.status,
                "rag": p.rag,
                "spi": _number(p.spi),
                "cpi": _number(p.cpi),
                "as_of": p.as_of.isoformat() if p.as_of else None,
                "baseline": p.baseline,
                "evm": p.evm,
                "run_id": p.run_id,
            }
            for p in lines
        ]
        typer.echo(json.dumps(rows, indent=2))
        return
    if not lines:
        typer.echo("No project is recorded yet.")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(
        "Project",
        "Lifecycle",
        "Stage",
        "Status",
        "Baseline",
        "RAG",
        "SPI",
        "CPI",
        "SPI(t)",
        "EAC",
        "Forecast finish",
        "As of",
        "Run",
    )
    for p in lines:
        evm = p.evm or {}
        table.add_row(
            f"{p.key} · {p.name}",
            p.lifecycle,
            p.stage or "—",
            p.status,
            str(p.baseline) if p.baseline is not None else "—",
            (p.rag or "—").upper(),
            str(p.spi) if p.spi is not None else "—",
            str(p.cpi) if p.cpi is not None else "—",
            f"{evm['spi_t']:.4f}" if evm.get("spi_t") is not None else "—",
            f"{evm['eac']:,.2f}" if evm.get("eac") is not None else "—",
            evm.get("forecast_finish") or "—",
            p.as_of.isoformat() if p.as_of else "—",
            p.run_id or "",
        )
    Console(width=220).print(table)
