"""`pmo demo`: the example project through the whole lifecycle, on the embedded default."""

from pathlib import Path
from typing import Annotated

import typer


def demo(
    out: Annotated[Path, typer.Option(help="Folder the documents are written to.")] = Path(
        "demo-out"
    ),
    brief: Annotated[
        Path | None, typer.Option(help="A brief YAML to run instead of the bundled example.")
    ] = None,
    lifecycle: Annotated[str, typer.Option(help="Lifecycle from the process library.")] = (
        "pmbok-waterfall"
    ),
) -> None:
    """Run a project from initiation to closure on a temporary local Prefect server,
    answering every gate as its approvers would, and write every document to OUT."""
    from pmo.brief import EXAMPLE_BRIEF
    from pmo.methodology.project import load_brief_for

    # A bad brief is refused before Prefect is imported, which alone takes seconds.
    load_brief_for(brief or EXAMPLE_BRIEF, lifecycle)
    from rich.console import Console
    from rich.table import Table

    from pmo.runtime.demo import run_demo

    console = Console()
    console.print(f"Starting a temporary Prefect server and running [bold]{lifecycle}[/]...")
    result = run_demo(out, brief, lifecycle)
    answers = Table("Gate", "Attempt", "Approver", title="Gate answers (through the Prefect API)")
    for turn in result.answers:
        answers.add_row(turn.gate_key, str(turn.attempt), turn.approver)
    console.print(answers)
    for turn in result.updates:
        console.print(
            f"Status update {turn.number} from the project manager at {turn.stage_key} "
            "(through the Prefect API)"
        )
    for number, digest, why in result.baselines:
        console.print(f"Baseline {number} (plan {digest[:12]}): {why}")
    console.print(f"Project [bold]{result.project}[/]: {result.status}")
    console.print(f"{len(result.documents)} Word documents in {out.resolve()}:")
    for path in result.documents:
        console.print(f"  {path.name}")
    if result.portfolio:
        review = next(p for p in result.portfolio if p.suffix == ".docx")
        console.print(f"Portfolio review (both projects, ranked, funding line, capacity): {review}")
    timing = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in result.seconds.items())
    console.print(f"Time: {timing}")
