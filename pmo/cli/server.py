"""`pmo up`: the embedded default for real use: a local Prefect server and the deployments."""

from typing import Annotated

import typer


def up(
    port: Annotated[int | None, typer.Option(help="Port of the Prefect server and UI.")] = None,
    auth: Annotated[
        bool | None,
        typer.Option(
            "--auth/--no-auth",
            help="Require basic authentication with PREFECT_API_AUTH_STRING (user:password) "
            "for the API and the UI. Default: PMO_SERVER_AUTH.",
        ),
    ] = None,
) -> None:
    """Start a local Prefect server (UI on http://127.0.0.1:PORT) and serve the deployments
    until Ctrl-C. Everything is kept under PMO_HOME."""
    from pmo.runtime.serve import run_embedded

    run_embedded(port, auth)
