"""`pmo up`: the embedded default for real use: a local Prefect server, the deployments and
the approvers' pages; `pmo web`: the approvers' pages alone; `pmo resumer`: resumed runs
started warm on a further machine; `pmo record-states`: the run-state recorder alone;
`pmo recover`: lifecycle runs whose process died, scheduled again."""

import json
from dataclasses import asdict
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


def recover(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only list the runs that would be scheduled again.")
    ] = False,
    stale_after: Annotated[
        float,
        typer.Option(
            min=1,
            help="Seconds without a heartbeat or state change after which a Running or "
            "Pending lifecycle run is taken as dead.",
        ),
    ] = 600,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Schedule again the lifecycle runs of open projects whose process died (Crashed, or
    Running with no heartbeat) or that failed because the store was unavailable: each
    re-runs from the top and goes on from where its project stands, writing and sending
    nothing twice. `pmo up` does this as it starts."""
    from pmo.runtime.recovery import recover_runs

    found = recover_runs(dry_run=dry_run, stale_seconds=stale_after)
    if as_json:
        typer.echo(json.dumps([asdict(run) for run in found], indent=2))
        return
    if not found:
        typer.echo("No lifecycle run needs recovering.")
    for run in found:
        done = "scheduled again" if run.rescheduled else "would be scheduled again"
        typer.echo(f"{run.run_id} {run.name}: {run.why}; {done}")


def resumer(
    slots: Annotated[
        int | None,
        typer.Option(min=1, help="Runs started at once. Default: PMO_RESUMER_SLOTS (4)."),
    ] = None,
) -> None:
    """Start resumed lifecycle runs warm on this machine (within a fraction of a second of
    the answer), beside the server or workers that serve the deployments, against
    PREFECT_API_URL and the store of PMO_DATABASE_URL, until Ctrl-C. `pmo up` runs one."""
    from pmo.runtime.serve import run_resumer

    run_resumer(slots)


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


def record_states() -> None:
    """Record every lifecycle run's state changes from Prefect's events into the store, for
    the audit, until Ctrl-C. `pmo up` does this itself; run it once beside workers on other
    machines, against PREFECT_API_URL and the store of PMO_DATABASE_URL."""
    from pmo.runtime.recorder import run_recorder

    run_recorder()
