"""`pmo up`: the embedded default for real use: a local Prefect server, the deployments and
the approvers' pages; `pmo web`: the approvers' pages alone."""

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
    """Start a local Prefect server (UI on http://127.0.0.1:PORT), the approvers' pages (on
    PMO_WEB_PORT, 4300) and serve the deployments until Ctrl-C. Everything is kept under
    PMO_HOME."""
    from pmo.runtime.serve import run_embedded

    run_embedded(port, auth)


def web(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[
        int | None, typer.Option(help="Port to listen on. Default: PMO_WEB_PORT (4300).")
    ] = None,
) -> None:
    """Serve the approvers' pages alone (review pages and inboxes), e.g. behind a proxy
    whose address is PMO_WEB_URL, against PREFECT_API_URL and the store of PMO_DATABASE_URL."""
    from pmo.runtime.serve import run_web

    run_web(host, port)
