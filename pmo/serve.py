"""The embedded default for real use: a local Prefect server and the deployments served."""

import os

from prefect.settings import PREFECT_API_URL, PREFECT_RUNNER_POLL_FREQUENCY, temporary_settings
from rich.console import Console

from flows.deployments import serve_deployments
from pmo.server import local_prefect_server
from pmo.settings import get_settings

# A resumed (suspended) run waits for the runner's next poll; Prefect's default of 10 s
# would keep an approver waiting that long for the project to move on.
RUNNER_POLL_SECONDS = 1


def run_embedded(port: int | None = None) -> None:
    """Run the server and serve the deployments until interrupted; state lives in PMO_HOME."""
    settings = get_settings()
    port = port or settings.port
    console = Console()
    with local_prefect_server(settings.resolved_home / "prefect", port) as api_url:
        # Served runs execute in child processes, which read these from the environment.
        os.environ["PREFECT_API_URL"] = api_url
        os.environ["PREFECT_RUNNER_POLL_FREQUENCY"] = str(RUNNER_POLL_SECONDS)
        updates = {PREFECT_API_URL: api_url, PREFECT_RUNNER_POLL_FREQUENCY: RUNNER_POLL_SECONDS}
        with temporary_settings(updates=updates):
            ui = api_url.removesuffix("/api")
            console.print(f"Prefect UI: [bold]{ui}[/]  (store: {settings.store_url})")
            console.print("Serving the project-lifecycle deployment; Ctrl-C stops.")
            try:
                serve_deployments()
            except KeyboardInterrupt:
                console.print("Stopped.")
