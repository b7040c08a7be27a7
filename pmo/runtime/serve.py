"""The embedded default for real use: a local Prefect server and the deployments served."""

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from prefect import get_client
from prefect.exceptions import ObjectNotFound
from prefect.settings import PREFECT_API_URL, PREFECT_RUNNER_POLL_FREQUENCY, temporary_settings
from rich.console import Console

from flows.deployments import LIFECYCLE_DEPLOYMENT, serve_deployments
from pmo.runtime.server import ServerDidNotStart, child_process, local_prefect_server
from pmo.settings import get_settings

# A resumed (suspended) run waits for the runner's next poll; Prefect's default of 10 s
# would keep an approver waiting that long for the project to move on.
RUNNER_POLL_SECONDS = 1
SERVE = "from flows.deployments import serve_deployments; serve_deployments()"


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
            console.print("Serving project-lifecycle and gate-sla; Ctrl-C stops.")
            try:
                serve_deployments()
            except KeyboardInterrupt:
                console.print("Stopped.")


@contextmanager
def served_in_subprocess(
    api_url: str,
    log_path: Path,
    poll_seconds: float = RUNNER_POLL_SECONDS,
    timeout: float = 60,
) -> Iterator[None]:
    """Serve the deployments from a child process with this process's PMO_* environment,
    as `pmo up` does; for tests and benchmarks that need runs which really suspend."""
    env = {
        **os.environ,
        "PREFECT_API_URL": api_url,
        "PREFECT_RUNNER_POLL_FREQUENCY": str(poll_seconds),
    }
    with child_process([sys.executable, "-c", SERVE], env, log_path, stop_seconds=20) as runner:
        _wait_until_served(runner, timeout, log_path)
        yield


def _wait_until_served(runner: subprocess.Popen, timeout: float, log_path: Path) -> None:
    # serve() registers the deployments before it starts polling; a fresh registration
    # replaces an earlier runner's, which is gone.
    started = time.time()
    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            if runner.poll() is not None:
                raise ServerDidNotStart(f"serving the deployments failed; see {log_path}")
            try:
                deployment = client.read_deployment_by_name(LIFECYCLE_DEPLOYMENT)
                if deployment.updated and deployment.updated.timestamp() >= started - 1:
                    time.sleep(1.5)  # let the runner make its first poll
                    return
            except ObjectNotFound:
                pass
            time.sleep(0.3)
    raise ServerDidNotStart(
        f"the deployments were not served within {timeout:.0f} s; see {log_path}"
    )
