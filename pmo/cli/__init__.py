"""`pmo`: the command line of pmo-flows. Commands only call into the application."""

import sys

import typer

# Typer bundles its own Click; this is how it asks for the help when given no command.
from typer._click.exceptions import NoArgsIsHelpError
from typer.core import TyperGroup

from pmo.cli import (
    audit,
    delegation,
    demo,
    docs,
    gates,
    library,
    mail,
    plan,
    portfolio,
    projects,
    server,
    status,
    tokens,
)
from pmo.errors import PmoInputError, ServiceUnavailable
from process_library.errors import LifecycleError


class PmoGroup(TyperGroup):
    """Turns a person's mistake into one line and exit status 2; our bugs keep tracebacks."""

    def main(self, *args, standalone_mode: bool = True, **kwargs):  # type: ignore[override]
        """A mistyped command line (an unknown option, a value not among the choices, a
        missing option) is one line and exit status 2 too, not a usage screen."""
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        try:
            code = super().main(*args, standalone_mode=False, **kwargs)
        except NoArgsIsHelpError as asked:  # `pmo` or `pmo library` alone: the help
            asked.show()
            sys.exit(asked.exit_code)
        except typer.TyperException as error:  # a usage error: bad option, value, command
            message = error.format_message() if hasattr(error, "format_message") else str(error)
            typer.echo(f"error: {' '.join(message.split())}", err=True)
            sys.exit(getattr(error, "exit_code", 2))
        except typer.Abort:
            typer.echo("Aborted.", err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)

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
app.command("recover")(server.recover)
app.command("web")(server.web)
app.command("record-states")(server.record_states)
app.command("resumer")(server.resumer)
app.command("start")(projects.start)
app.command("gates")(gates.gates)
app.command("approve")(gates.approve)
app.command("unlock")(gates.unlock)
app.command("delegate")(delegation.delegate)
app.command("meeting")(gates.meeting)
app.command("docs")(docs.docs)
app.command("audit")(audit.audit)
app.command("status")(status.status)
app.command("projects")(status.projects)
app.command("portfolio")(portfolio.portfolio)
app.add_typer(library.app, name="library")
app.add_typer(plan.app, name="plan")
app.command("change")(plan.change)
app.add_typer(mail.app, name="mail")
app.add_typer(tokens.app, name="tokens")


def main() -> None:
    app()
