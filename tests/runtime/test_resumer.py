"""The warm resumer (`pmo resumer`, and in `pmo up`): it starts a deployed lifecycle's new
and resumed runs from its pre-imported forkserver, each exactly once, with the stock
runner registered but not polling (so nothing else could have started them)."""

import json
from pathlib import Path
from uuid import UUID

import pytest
from prefect import get_client
from prefect.client.schemas.objects import StateType
from typer.testing import CliRunner

from pmo.cli import app
from pmo.runtime.serve import resumer_in_subprocess, served_in_subprocess
from pmo.store import session_scope
from pmo.store.records import get_project
from tests.deployed import approve, wait_for_mails, wait_for_state
from tests.factories import brief_data, write_brief
from tests.gate_mail import latest_code

pytestmark = pytest.mark.integration

SPONSOR, PMO = "dana.reyes@example.com", "pmo@example.com"
NEVER = 3600  # the stock runner's poll: registered, but it starts nothing in a test


@pytest.fixture
def resumer(prefect_api, smtp_server, store_url, tmp_path):
    log = tmp_path / "resumer.log"
    with (
        served_in_subprocess(prefect_api, tmp_path / "serve.log", poll_seconds=NEVER),
        resumer_in_subprocess(prefect_api, log, slots=2),
    ):
        yield smtp_server, log


def start_project(tmp_path: Path, key: str) -> str:
    brief = write_brief(tmp_path, brief_data(key=key))
    started = CliRunner().invoke(app, ["start", str(brief), "--json"])
    assert started.exit_code == 0, started.output
    return json.loads(started.output)["run_id"]


def runs_started(run_id: str) -> int:
    """How many times the run went Running: once per start or resume that ran it."""
    with get_client(sync_client=True) as client:
        states = client.read_flow_run_states(UUID(run_id))
    return sum(1 for state in states if state.type == StateType.RUNNING)


def started_by_resumer(log: Path, run_id: str) -> int:
    return log.read_text().count(f"({run_id}) in process")


def test_the_resumer_starts_a_new_run_and_each_resumed_one_exactly_once(resumer, tmp_path):
    smtp, log = resumer
    run_id = start_project(tmp_path, "ORPHEUS")
    assert wait_for_state(run_id, "Suspended") == "Suspended"
    wait_for_mails(smtp, 2)
    charter_gate = "ORPHEUS/initiation/1/charter-approval/1"
    for approver in (SPONSOR, PMO):
        code = latest_code(smtp.messages, charter_gate, approver)
        result = approve(run_id, approver, "go", code)
        assert result.exit_code == 0, result.output

    wait_for_mails(smtp, 4)
    assert wait_for_state(run_id, "Suspended") == "Suspended"
    code = latest_code(smtp.messages, "ORPHEUS/planning/1/plan-approval/1", SPONSOR)
    assert approve(run_id, SPONSOR, "kill", code, "No longer needed.").exit_code == 0
    assert wait_for_state(run_id, "Completed") == "Completed"

    # the start and each resume (two answers may share one), each run once, by the resumer
    assert runs_started(run_id) == started_by_resumer(log, run_id) >= 3
    with session_scope() as session:
        assert get_project(session, key="ORPHEUS").status == "cancelled"
