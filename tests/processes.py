"""Real processes for fault tests: `pmo up` as a person starts it, and kill -9 of a whole
process tree, as a lost machine or an out-of-memory killer would do it."""

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx
import psutil

from pmo.runtime.server import child_process

PMO = str(Path(sys.executable).with_name("pmo"))


@contextmanager
def pmo_up(port: int, log_path: Path, env: dict[str, str], timeout: float = 90) -> Iterator[int]:
    """`pmo up --port PORT` with `env`, until its server answers and the lifecycle
    deployment is served; yields the process id. Stopped (Ctrl-C's signal, then kill)
    on exit, unless it is gone already."""
    with child_process([PMO, "up", "--port", str(port)], env, log_path, stop_seconds=30) as up:
        wait_for_log(up, log_path, "Serving project-lifecycle", timeout)
        # serve() registers the deployments, then polls; let it make its first poll.
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                deployments = httpx.post(
                    f"http://127.0.0.1:{port}/api/deployments/filter", json={}, timeout=5
                ).json()
                if any(d["name"] == "project-lifecycle" for d in deployments):
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        time.sleep(2)
        yield up.pid


def wait_for_log(process: subprocess.Popen, log_path: Path, text: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in log_path.read_text(errors="replace"):
            return
        if process.poll() is not None:
            raise AssertionError(f"process exited ({process.returncode}); see {log_path}")
        time.sleep(0.2)
    raise AssertionError(f"'{text}' not in {log_path} within {timeout:.0f} s")


def kill_tree(pid: int) -> list[int]:
    """SIGKILL the process and every process it started, however deep and in whatever
    session (the Prefect server has one of its own); returns their ids."""
    root = psutil.Process(pid)
    tree = [root, *root.children(recursive=True)]
    for process in tree:
        with suppress(psutil.NoSuchProcess):
            process.kill()
    psutil.wait_procs(tree, timeout=30)
    return [process.pid for process in tree]


def client_env(**extra: str) -> dict[str, str]:
    """This test's environment (its PMO_HOME, SMTP, store) without a Prefect API address:
    `pmo up` sets its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    env.update(extra)
    return env
