"""`pmo`: the command line of pmo-flows. Commands only call into the application."""

import typer
from typer.core import TyperGroup

from pmo.cli import audit, demo, docs, gates, library, projects, server, status
from pmo.errors import PmoInputError, ServiceUnavailable
from process_library.errors import LifecycleError


class PmoGroup(TyperGroup):
    """Turns a person's mistake into one line and exit status 2; our bugs keep tracebacks."""

    def invoke(self, ctx: typer.Context):  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except (PmoInputError, LifecycleError) as error:
            typer.echo(f"error: {error}", err=True)
            raise typer.Exit(2) from None
        except ServiceUnavailable as error:
            typer.echo(f"error: {error}", err=True)
            raise typer.Exit(1) from None


app = typer.Typer(
    cls=PmoGroup,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="pmo-flows: a PMO's lifecycle, run on Prefect.",
)
app.command("demo")(demo.demo)
app.command("up")(server.up)
app.command("start")(projects.start)
app.command("gates")(gates.gates)
app.command("approve")(gates.approve)
app.command("unlock")(gates.unlock)
app.command("docs")(docs.docs)
app.command("audit")(audit.audit)
app.command("status")(status.status)
app.command("projects")(status.projects)
app.add_typer(library.app, name="library")


def main() -> None:
    app()
