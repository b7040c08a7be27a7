"""`pmo start`: start a project's lifecycle from its brief."""

import json
from pathlib import Path
from typing import Annotated

import typer


def start(
    brief: Annotated[Path, typer.Argument(help="The project's brief (YAML).")],
    lifecycle: Annotated[str, typer.Option(help="Lifecycle from the process library.")] = (
        "pmbok-waterfall"
    ),
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Start the project-lifecycle deployment for BRIEF; prints the run id and its UI link."""
    from pmo.methodology.project import load_brief_for

    # A bad brief is refused before Prefect is imported, which alone takes seconds.
    load_brief_for(brief, lifecycle)
    from pmo.runtime.runs import start_lifecycle

    started = start_lifecycle(brief, lifecycle)
    if as_json:
        typer.echo(json.dumps({"run_id": started.run_id, "url": started.url}))
    else:
        typer.echo(f"Started run {started.run_id}\n{started.url}")
