"""A local Prefect server in a subprocess: the embedded default of `pmo demo` and `pmo up`."""

import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from pmo.errors import ServiceUnavailable


class ServerDidNotStart(ServiceUnavailable):
    """The local Prefect server exited or did not answer in time."""


# The server's background services that a short-lived server running one flow in its
# caller's process does without (`pmo demo`): nothing is scheduled, late, cancelled,
# expired, automated or left behind. The event persister and the task run recorder stay,
# so the run's history is whole. `pmo up` keeps every service.
SERVICES_A_DEMO_DOES_WITHOUT = (
    "SCHEDULER",
    "LATE_RUNS",
    "FOREMAN",
    "CANCELLATION_CLEANUP",
    "PAUSE_EXPIRATIONS",
    "REPOSSESSOR",
    "TRIGGERS",
    "EVENT_LOGGER",
    "CLEANUP_RECONCILER",
)


def prefect_version() -> str:
    from importlib.metadata import version

    return version("prefect")


def migrated_database(cache: Path) -> Path | None:
    """A SQLite database with Prefect's migrations applied, built once per Prefect
    version under `cache` and copied by each short-lived server instead of migrating a
    fresh one (about half its start). None when `cache` cannot be written: the server
    then migrates its own database, as before."""
    template = cache / f"prefect-{prefect_version()}.db"
    if template.exists():
        return template
    try:
        cache.mkdir(parents=True, exist_ok=True)
        building = cache / f".{template.name}.{os.getpid()}"
        building.unlink(missing_ok=True)
        env = _server_env(building.parent / f".home-{os.getpid()}", building)
        command = [sys.executable, "-m", "prefect", "server", "database", "upgrade", "-y"]
        done = subprocess.run(command, env=env, capture_output=True, timeout=300)
        shutil.rmtree(building.parent / f".home-{os.getpid()}", ignore_errors=True)
        if done.returncode != 0 or not building.exists():
            building.unlink(missing_ok=True)
            return None
        # One self-contained file: whatever is in a write-ahead log goes into it.
        connection = sqlite3.connect(building)
        try:
            connection.execute("pragma wal_checkpoint(truncate)")
            connection.execute("pragma journal_mode=delete")
        finally:
            connection.close()
        # rename is atomic: two builders at once leave one whole template
        building.replace(template)
    except (OSError, sqlite3.Error, subprocess.TimeoutExpired):
        return None
    return template


def _server_env(home: Path, database: Path | None, database_url: str | None = None) -> dict:
    # None of our clients' Prefect settings, and none of ours: the server needs neither the
    # store's URL nor the SMTP password.
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PREFECT_", "PMO_")) or key == "PREFECT_LOGGING_LEVEL"
    }
    env.update(
        PREFECT_HOME=str(home),
        PREFECT_SERVER_DATABASE_CONNECTION_URL=database_url or f"sqlite+aiosqlite:///{database}",
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
    )
    return env


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


@dataclass(frozen=True)
class StartingServer:
    """A local Prefect server whose process has started: `ready()` waits until it answers."""

    api_url: str
    process: subprocess.Popen
    log_path: Path
    started: float
    timeout: float

    def ready(self) -> str:
        """Wait until the server answers its health check; the API URL."""
        while time.monotonic() < self.started + self.timeout:
            if self.process.poll() is not None:
                raise ServerDidNotStart(f"the Prefect server exited; see {self.log_path}")
            try:
                if httpx.get(f"{self.api_url}/health", timeout=2).status_code == 200:
                    return self.api_url
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise ServerDidNotStart(
            f"the Prefect server did not answer within {self.timeout:.0f} s; see {self.log_path}"
        )


@contextmanager
def local_prefect_server(home: Path, port: int | None = None, **options) -> Iterator[str]:
    """Run `prefect server start` on 127.0.0.1, as `starting_prefect_server` with the same
    options does; yields the API URL once it answers and stops the server on exit."""
    with starting_prefect_server(home, port, **options) as server:
        yield server.ready()


@contextmanager
def starting_prefect_server(
    home: Path,
    port: int | None = None,
    *,
    ui: bool = True,
    timeout: float = 60,
    database_url: str | None = None,
    auth_string: str | None = None,
    database_template: Path | None = None,
    without_services: tuple[str, ...] = (),
    register_blocks: bool = True,
) -> Iterator[StartingServer]:
    """Start `prefect server start` on 127.0.0.1 and yield at once, so that the caller can
    do its own start-up while the server does; the server stops on exit. Its database is
    under `home` unless `database_url` names another (PostgreSQL: `postgresql+asyncpg://...`);
    it requires basic authentication with `auth_string` (`user:password`) when given. A new
    SQLite database starts as a copy of `database_template` (see `migrated_database`) when
    given, and then the server skips its migrations; `without_services` names server
    services (`SCHEDULER`, ...) not to run; without `register_blocks` the server does not
    register Prefect's block types (nobody will use blocks on it)."""
    port = port or free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    home.mkdir(parents=True, exist_ok=True)
    database = home / "prefect.db"
    migrated = False
    if database_template and not database_url and not database.exists():
        shutil.copyfile(database_template, database)
        migrated = True
    env = _server_env(home, database, database_url)
    env.update(
        PREFECT_UI_ENABLED="true" if ui else "false",
        # The UI asks this address for the API; left alone, Prefect derives it from its
        # default port (4200), not from --port, and the UI of any other port is broken.
        PREFECT_UI_API_URL=api_url,
    )
    env.update({f"PREFECT_SERVER_SERVICES_{name}_ENABLED": "false" for name in without_services})
    if migrated:
        # The copy is at this Prefect version's head already; checking costs alembic's
        # reading of every migration script.
        env["PREFECT_SERVER_DATABASE_MIGRATE_ON_START"] = "false"
    if not register_blocks:
        # Both: the memoizing wrapper loads every block collection even when registration is off.
        env["PREFECT_SERVER_REGISTER_BLOCKS_ON_START"] = "false"
        env["PREFECT_SERVER_MEMOIZE_BLOCK_AUTO_REGISTRATION"] = "false"
    if auth_string:
        env["PREFECT_SERVER_API_AUTH_STRING"] = auth_string
    log_path = home / "server.log"
    command = [sys.executable, "-m", "prefect", "server", "start"]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    with child_process(command, env, log_path) as server:
        yield StartingServer(api_url, server, log_path, time.monotonic(), timeout)
