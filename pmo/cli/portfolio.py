"""`pmo portfolio`: every open project ranked, the funding line, capacity and alignment."""

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer


def portfolio(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
    out: Annotated[
        Path | None,
        typer.Option(help="Also write the review (.md, .docx, .json, charts) into this folder."),
    ] = None,
    without: Annotated[
        list[str], typer.Option(help="What-if: leave this project out (repeat for more).")
    ] = [],  # noqa: B006 (typer reads the default; it is never mutated)
    delay: Annotated[
        list[str],
        typer.Option(help="What-if: move a project by whole months, KEY=MONTHS (repeat)."),
    ] = [],  # noqa: B006
) -> None:
    """Rank every proposed, active and on-hold project: mandatory first, then by the
    gatekeepers' score, then by benefits per unit of cost; draw the funding line against
    the budget envelope; check the people the plans need against the capacity. With
    --without and --delay, the same as if it were so: nothing is changed."""
    from pmo.cli.gates import pairs
    from pmo.errors import PmoInputError
    from pmo.portfolio.report import current_portfolio, portfolio_json, what_if_text

    moves = {}
    for key, months in pairs("--delay", delay).items():
        if not months.lstrip("-").isdigit():
            raise PmoInputError("--delay", f"{key}={months}: give whole months, e.g. {key}=3")
        moves[key] = int(months)
    current = current_portfolio(without=without, delay=moves)
    what_if = what_if_text(without, moves)
    written = []
    if out is not None:
        from pmo.documents.portfolio_review import write_portfolio_review

        out.mkdir(parents=True, exist_ok=True)
        written = write_portfolio_review(
            current, out, generated_at=datetime.now(UTC), what_if=what_if
        )
    if as_json:
        import orjson  # the standard library's indenting encoder takes a tenth of the time

        document = portfolio_json(current) | {"what_if": what_if}
        typer.echo(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode())
        return
    show(current, what_if)
    for path in written:
        typer.echo(f"wrote {path}")


def show(current, what_if: str) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if what_if:
        console.print(f"What-if ({what_if}): nothing was changed.")
    if not current.ranked:
        console.print("No open project: nothing to rank.")
        return
    table = Table(
        "#",
        "Project",
        "Category",
        "Status",
        "Stage",
        "Score",
        "Budget",
        "Cumulative",
        "Funded",
        "RAG",
    )
    for e in current.ranked:
        c = e.candidate
        table.add_row(
            str(e.rank),
            c.key,
            c.category or "",
            c.status,
            c.stage,
            "" if c.score is None else f"{c.score:.2f}",
            f"{c.budget:,.0f}",
            f"{e.cumulative_budget:,.0f}",
            "above" if e.above_funding_line else "BELOW",
            c.rag or "",
        )
    console.print(table)
    console.print(
        f"Funding: {current.committed:,.0f} committed above the line of an envelope of "
        f"{current.envelope:,.0f} {current.currency}"
    )
    for row in current.conflicts:
        console.print(
            f"Over capacity: {row.role} in {row.month}: {row.demand:g} person-days asked of "
            f"{row.capacity:g} ({', '.join(row.projects)})"
        )
