"""The deployments served from a subprocess, as `pmo up` serves them, for tests that need
runs that suspend (no process held) and resume through a runner."""

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from prefect import get_client
from prefect.exceptions import ObjectNotFound

from flows.deployments import LIFECYCLE_DEPLOYMENT

SERVE = "from flows.deployments import serve_deployments; serve_deployments()"


@contextmanager
def served_deployments(api_url: str, log_dir: Path, timeout: float = 60) -> Iterator[None]:
    """Serve every deployment against `api_url` with this process's PMO_* environment."""
    env = {**os.environ, "PREFECT_API_URL": api_url, "PREFECT_RUNNER_POLL_FREQUENCY": "1"}
    log_path = log_dir / "serve.log"
    with log_path.open("ab") as log:
        runner = subprocess.Popen(
            [sys.executable, "-c", SERVE],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_for_deployment(runner, timeout, log_path)
        yield
    finally:
        runner.terminate()
        try:
            runner.wait(timeout=20)
        except subprocess.TimeoutExpired:
            runner.kill()
            runner.wait()


def _wait_for_deployment(runner: subprocess.Popen, timeout: float, log_path: Path) -> None:
    # serve() registers the deployments before it starts polling; a fresh registration
    # replaces the previous test's, whose runner is gone.
    started = time.time()
    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            if runner.poll() is not None:
                raise RuntimeError(f"serving the deployments failed; see {log_path}")
            try:
                deployment = client.read_deployment_by_name(LIFECYCLE_DEPLOYMENT)
                if deployment.updated and deployment.updated.timestamp() >= started - 1:
                    time.sleep(1.5)  # let the runner make its first poll
                    return
            except ObjectNotFound:
                pass
            time.sleep(0.3)
    raise RuntimeError(f"the deployments were not served within {timeout:.0f} s; see {log_path}")
