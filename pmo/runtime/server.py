"""A local Prefect server in a subprocess: the embedded default of `pmo demo` and `pmo up`."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from pmo.errors import ServiceUnavailable


class ServerDidNotStart(ServiceUnavailable):
    """The local Prefect server exited or did not answer in time."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def child_process(
    command: list[str], env: dict[str, str], log_path: Path, stop_seconds: float = 15
) -> Iterator[subprocess.Popen]:
    """Run `command` in its own session, its output appended to `log_path`; on exit it is
    asked to stop, and killed if it has not within `stop_seconds`."""
    with log_path.open("ab") as log:
        child = subprocess.Popen(
            command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        yield child
    finally:
        child.terminate()
        try:
            child.wait(timeout=stop_seconds)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


@contextmanager
def local_prefect_server(
    home: Path,
    port: int | None = None,
    *,
    ui: bool = True,
    timeout: float = 60,
    database_url: str | None = None,
    auth_string: str | None = None,
) -> Iterator[str]:
    """Run `prefect server start` on 127.0.0.1, its database under `home` unless
    `database_url` names another (PostgreSQL: `postgresql+asyncpg://...`), requiring basic
    authentication with `auth_string` (`user:password`) when given; yields the API URL and
    stops the server on exit."""
    port = port or free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    home.mkdir(parents=True, exist_ok=True)
    # None of our clients' Prefect settings, and none of ours: the server needs neither the
    # store's URL nor the SMTP password.
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PREFECT_", "PMO_")) or key == "PREFECT_LOGGING_LEVEL"
    }
    env.update(
        PREFECT_HOME=str(home),
        PREFECT_SERVER_DATABASE_CONNECTION_URL=(
            database_url or f"sqlite+aiosqlite:///{home / 'prefect.db'}"
        ),
        PREFECT_UI_ENABLED="true" if ui else "false",
        # The UI asks this address for the API; left alone, Prefect derives it from its
        # default port (4200), not from --port, and the UI of any other port is broken.
        PREFECT_UI_API_URL=api_url,
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
    )
    if auth_string:
        env["PREFECT_SERVER_API_AUTH_STRING"] = auth_string
    log_path = home / "server.log"
    command = [sys.executable, "-m", "prefect", "server", "start"]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    with child_process(command, env, log_path) as server:
        _wait_until_healthy(api_url, server, timeout, log_path)
        yield api_url


def _wait_until_healthy(
    api_url: str, server: subprocess.Popen, timeout: float, log_path: Path
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise ServerDidNotStart(f"the Prefect server exited; see {log_path}")
        try:
            if httpx.get(f"{api_url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise ServerDidNotStart(
        f"the Prefect server did not answer within {timeout:.0f} s; see {log_path}"
    )
