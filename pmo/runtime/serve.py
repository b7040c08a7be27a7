"""The embedded default for real use: a local Prefect server and the deployments served."""

import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from prefect import get_client
from prefect.exceptions import ObjectNotFound
from prefect.settings import PREFECT_RUNNER_POLL_FREQUENCY, temporary_settings
from rich.console import Console

from flows.deployments import LIFECYCLE_DEPLOYMENT, serve_deployments
from pmo.runtime.connection import client_environment, prefect_api, server_auth_string
from pmo.runtime.recorder import recorder_in_thread
from pmo.runtime.recovery import recover_runs
from pmo.runtime.resumer import Resumer, resumer_in_thread
from pmo.runtime.server import ServerDidNotStart, child_process, local_prefect_server
from pmo.settings import get_settings, redacted_url
from pmo.web.serving import serve_web, web_in_thread

# Without a resumer, a resumed (suspended) run waits for the runner's next poll; Prefect's
# default of 10 s would keep an approver waiting that long for the project to move on.
RUNNER_POLL_SECONDS = 1
# Beside the resumer the runner is the safety net: polling every second it would race the
# resumer for runs and win some (each then pays a new interpreter's start, ~5 s).
SAFETY_NET_POLL_SECONDS = 5
SERVE = "from flows.deployments import serve_deployments; serve_deployments()"


def run_embedded(port: int | None = None, auth: bool | None = None) -> None:
    """Run the server, the approvers' pages and the deployments until interrupted; state
    lives in PMO_HOME. With `auth` (default: the PMO_SERVER_AUTH setting) the server
    requires the credentials in PREFECT_API_AUTH_STRING."""
    settings = get_settings()
    port = port or settings.port
    credentials = server_auth_string() if (settings.server_auth if auth is None else auth) else None
    console = Console()
    home = settings.resolved_home / "prefect"
    with local_prefect_server(home, port, auth_string=credentials) as api_url:
        # Served runs execute in child processes, which read these from the environment.
        os.environ.update(client_environment(api_url))
        os.environ["PREFECT_RUNNER_POLL_FREQUENCY"] = str(SAFETY_NET_POLL_SECONDS)
        poll = {PREFECT_RUNNER_POLL_FREQUENCY: SAFETY_NET_POLL_SECONDS}
        with prefect_api(api_url), temporary_settings(updates=poll):
            ui = api_url.removesuffix("/api")
            store = redacted_url(settings.store_url)
            console.print(f"Prefect UI: [bold]{ui}[/]  (store: {store})")
            if credentials:
                console.print("API and UI require the user:password in PREFECT_API_AUTH_STRING.")
            # Nothing runs a lifecycle on this server but what this process is about to
            # serve: a run left Running or Pending was left so by a process that is gone.
            for run in recover_runs(stale_seconds=0):
                console.print(f"Recovering {run.name} ({run.run_id}): {run.why}.", soft_wrap=True)
            try:
                with (
                    web_in_thread("127.0.0.1", settings.web_port) as pages,
                    recorder_in_thread(),
                ):
                    console.print(
                        f"Approvers' pages: [bold]{pages}[/]  (links in mails: "
                        f"{settings.resolved_web_url})"
                    )
                    with resumer_in_thread(settings.resumer_slots):
                        console.print(
                            "Serving project-lifecycle and gate-sla (resumed runs start warm, "
                            f"{settings.resumer_slots} at once), recording their runs' states; "
                            "Ctrl-C stops."
                        )
                        serve_deployments()
            except KeyboardInterrupt:
                console.print("Stopped.")


def run_web(host: str, port: int | None = None) -> None:
    """Serve the approvers' pages alone (for production behind a proxy), against the
    Prefect API and the store this process is configured with, until interrupted."""
    settings = get_settings()
    port = port or settings.web_port
    with prefect_api() as api_url:
        console = Console()
        console.print(
            f"Approvers' pages on http://{host}:{port} (Prefect API {api_url}, store "
            f"{redacted_url(settings.store_url)}); links in mails: {settings.resolved_web_url}"
        )
        serve_web(host, port)


def run_resumer(slots: int | None = None) -> None:
    """Start the resumed runs of the lifecycle deployment served elsewhere (a worker machine
    beside a Prefect server), until interrupted or terminated."""
    settings = get_settings()
    resumer = Resumer(slots=slots or settings.resumer_slots)
    # Prefect's logging configuration prints it, as it prints the runs' own logs.
    logging.getLogger("pmo.resumer").setLevel(logging.INFO)
    signal.signal(signal.SIGTERM, lambda *_: resumer.stop.set())
    with prefect_api() as api_url:
        Console().print(
            f"Resumer for {LIFECYCLE_DEPLOYMENT} on {api_url}, {resumer.slots} runs at once; "
            "Ctrl-C stops."
        )
        try:
            resumer.run()
        except KeyboardInterrupt:
            resumer.stop.set()


@contextmanager
def resumer_in_subprocess(
    api_url: str, log_path: Path, slots: int = 4, timeout: float = 60
) -> Iterator[subprocess.Popen]:
    """`pmo resumer` in a child process with this process's PMO_* environment, until it
    listens; for tests and benchmarks."""
    env = {**os.environ, **client_environment(api_url), "PMO_RESUMER_SLOTS": str(slots)}
    command = [str(Path(sys.executable).with_name("pmo")), "resumer"]
    with child_process(command, env, log_path, stop_seconds=20) as resumer:
        deadline = time.monotonic() + timeout
        while "Resumer listening" not in log_path.read_text(errors="replace"):
            if resumer.poll() is not None or time.monotonic() > deadline:
                raise ServerDidNotStart(f"the resumer did not start; see {log_path}")
            time.sleep(0.2)
        yield resumer


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
        **client_environment(api_url),
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
