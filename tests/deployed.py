"""Driving a deployed lifecycle run from a test: wait for its state, its mails, answer it."""

import time
from uuid import UUID

from prefect import get_client
from typer.testing import CliRunner

from pmo.cli import app
from tests.gate_mail import code_mails


def wait_for_state(run_id: str, *names: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            run = client.read_flow_run(UUID(run_id))
            if run.state_name in names:
                return run.state_name
            if run.state and run.state.is_final() and run.state_name not in names:
                raise AssertionError(f"run ended {run.state_name}: {run.state.message}")
            time.sleep(0.3)
    raise AssertionError(f"run {run_id} is {run.state_name}, not {' or '.join(names)}")


def wait_for_mails(smtp_server, count: int, timeout: float = 30, gate: str | None = None) -> None:
    """Until `count` approval codes were mailed (for `gate`, when given)."""

    def mailed() -> int:
        return sum(1 for m in code_mails(smtp_server.messages) if gate in (None, m.gate))

    deadline = time.monotonic() + timeout
    while mailed() < count and time.monotonic() < deadline:
        time.sleep(0.2)


def approve(run_id: str, approver: str, decision: str, code: str, comment: str = "Reviewed."):
    return CliRunner().invoke(
        app,
        [
            "approve",
            run_id,
            "--as",
            approver,
            "--decision",
            decision,
            "--code",
            code,
            "--comment",
            comment,
        ],
    )
