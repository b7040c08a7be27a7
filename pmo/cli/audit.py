"""`pmo audit`: the PMO's audit of the portfolio, from Prefect's run history and the store."""

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import orjson
import typer

from pmo.errors import PmoInputError

TAMPERED_EXIT = 3  # the record was altered after it was written: a script must not miss it


def parse_since(value: str | None) -> datetime | None:
    """`--since 2027-03-01` (or a full ISO timestamp); a date is midnight UTC."""
    if value is None:
        return None
    try:
        since = datetime.fromisoformat(value)
    except ValueError:
        raise PmoInputError("--since", f"'{value}' is not a date (YYYY-MM-DD)") from None
    return since if since.tzinfo else since.replace(tzinfo=UTC)


def audit(
    project: Annotated[str | None, typer.Option(help="Audit this project key only.")] = None,
    since: Annotated[
        str | None, typer.Option(help="Only projects started on or after this date.")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Write the report (.md, .docx, .json, charts) here.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
    fresh: Annotated[
        bool, typer.Option(help="Ask Prefect for every run's history, not only the store's.")
    ] = False,
) -> None:
    """Audit every project: the checklist answered from evidence, bypassed gates, the
    tamper-evident ledger and the portfolio KPIs. Exit 3 when the record was tampered with."""
    from pmo.audit.portfolio import audit_json, run_audit
    from pmo.audit.run_history import RunSelection
    from pmo.runtime.connection import prefect_api

    selection = RunSelection(project_key=project, since=parse_since(since))
    with prefect_api():
        result = run_audit(selection, fresh=fresh)
    if out is not None:
        from pmo.documents.audit_report import write_portfolio_report

        written = write_portfolio_report(result, out)
    if as_json:
        # orjson: the standard library takes seconds on a 10,000-project audit.
        typer.echo(orjson.dumps(audit_json(result), option=orjson.OPT_INDENT_2).decode())
    else:
        _print_summary(result)
        if out is not None:
            typer.echo("Report: " + ", ".join(str(p) for p in written))
    if result.tampered:
        raise typer.Exit(TAMPERED_EXIT)


def _print_summary(result) -> None:  # noqa: ANN001 (a PortfolioAudit)
    from rich.console import Console
    from rich.table import Table

    console = Console(width=200)
    kpis = result.kpis
    if not result.projects:
        typer.echo("No projects to audit: the portfolio is empty for this selection.")
    else:
        rate = f"{kpis.compliance_rate:.0%}" if kpis.compliance_rate is not None else "n/a"
        sla = f"{kpis.within_sla_share:.0%}" if kpis.within_sla_share is not None else "n/a"
        typer.echo(
            f"{kpis.projects} project(s), {result.runs_read} lifecycle run(s) read; "
            f"compliant {rate}; gates decided within SLA {sla}; "
            f"{len(result.findings)} finding(s)"
        )
    if result.findings:
        table = Table("project", "type", "area", "question", "evidence")
        for f in result.findings:
            table.add_row(f.project_key, f.type, f.area, f.question, f.evidence)
        console.print(table)
    if result.tampered:
        typer.echo(f"LEDGER: {len(result.ledger_problems)} problem(s): the record was altered")
        for problem in result.ledger_problems:
            typer.echo(f"  {problem.message}")
    else:
        typer.echo("Ledger: intact")
