"""The line a command prints when what it recorded could not wake its run: the record
stands, and the gate-sla sweep wakes the run once Prefect answers again."""

import typer


def warn_if_unreachable(reason: str | None) -> None:
    if reason:
        typer.echo(
            f"warning: recorded all the same, but {reason}; the next gate-sla check wakes "
            "the run once Prefect answers",
            err=True,
        )
