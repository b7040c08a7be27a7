"""The warm resumer under faults, with real processes: its child killed mid-run, a run
cancelled, the resumer killed (mid-claim and mid-run), its event stream dropped, and two
resumers on one deployment. Every run runs once per start or resume and ends in a true
state. The stock runner is registered but does not poll, so only resumers start runs."""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import pytest
from prefect import flow, get_client
from prefect.client.schemas.objects import StateType
from prefect.states import Cancelling, Paused, Pending, Running, Scheduled

from pmo.runtime.resumer import CLAIM_PREFIX, Child, Resumer
from pmo.runtime.serve import resumer_in_subprocess, served_in_subprocess
from tests.deployed import approve, wait_for_mails, wait_for_state
from tests.gate_mail import latest_code
from tests.runtime.test_resumer import NEVER, SPONSOR, start_project
from tests.tcp_proxy import tcp_proxy

pytestmark = pytest.mark.integration


@pytest.fixture
def served(prefect_api, smtp_server, store_url, tmp_path):
    """The deployments registered (no polling runner); the test starts its resumers."""
    with served_in_subprocess(prefect_api, tmp_path / "serve.log", poll_seconds=NEVER):
        yield smtp_server


def history(run_id: str) -> Counter:
    """The run's states by type: each Scheduled (the start, each resume) must be followed
    by exactly one Pending claim and one Running."""
    with get_client(sync_client=True) as client:
        return Counter(s.type for s in client.read_flow_run_states(UUID(run_id)))


def child_pid(log: Path, run_id: str, timeout: float = 30) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := re.search(rf"\({run_id}\) in process (\d+)", log.read_text()):
            return int(found.group(1))
        time.sleep(0.05)
    raise AssertionError(f"the resumer did not start {run_id}; see {log}")


def starts(logs: list[Path], run_id: str) -> int:
    return sum(log.read_text().count(f"({run_id}) in process") for log in logs)


def test_a_child_killed_mid_run_leaves_its_run_crashed(served, prefect_api, tmp_path):
    log = tmp_path / "resumer.log"
    with resumer_in_subprocess(prefect_api, log):
        run_id = start_project(tmp_path, "KILLED")
        pid = child_pid(log, run_id)
        wait_for_state(run_id, "Running")
        os.kill(pid, signal.SIGKILL)
        assert wait_for_state(run_id, "Crashed") == "Crashed"
    assert "exited with status -9" in log.read_text()


def test_a_cancelled_run_has_its_child_killed_and_ends_cancelled(served, prefect_api, tmp_path):
    log = tmp_path / "resumer.log"
    with resumer_in_subprocess(prefect_api, log):
        run_id = start_project(tmp_path, "CANCELLED")
        pid = child_pid(log, run_id)
        wait_for_state(run_id, "Running")
        with get_client(sync_client=True) as client:
            client.set_flow_run_state(UUID(run_id), Cancelling(), force=True)
        assert wait_for_state(run_id, "Cancelled") == "Cancelled"
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)  # reaped: the run holds no process


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_a_claim_left_by_a_resumer_killed_mid_claim_is_released(served, prefect_api, tmp_path):
    # What a resumer killed between its Pending claim and starting the run's process
    # leaves behind: the run Pending, claimed by a process that no longer exists.
    run_id = start_project(tmp_path, "CLAIMED")
    claim = f"{CLAIM_PREFIX} on {socket.gethostname()}, pid {dead_pid()}"
    with get_client(sync_client=True) as client:
        client.set_flow_run_state(UUID(run_id), Pending(message=claim))
    log = tmp_path / "resumer.log"
    with resumer_in_subprocess(prefect_api, log):
        assert wait_for_state(run_id, "Suspended", timeout=60) == "Suspended"
    assert "Released" in log.read_text()
    states = history(run_id)
    assert states[StateType.RUNNING] == 1 and starts([log], run_id) == 1


def test_a_resumer_killed_mid_run_lets_the_run_reach_its_gate(served, prefect_api, tmp_path):
    smtp = served
    first, second = tmp_path / "first.log", tmp_path / "second.log"
    with resumer_in_subprocess(prefect_api, first) as resumer:
        run_id = start_project(tmp_path, "ORPHAN")
        child_pid(first, run_id)
        resumer.kill()  # kill -9 of the resumer alone; its child is already running
        resumer.wait()
    assert wait_for_state(run_id, "Suspended") == "Suspended"

    with resumer_in_subprocess(prefect_api, second):
        wait_for_mails(smtp, 2)
        code = latest_code(smtp.messages, "ORPHAN/initiation/1/charter-approval/1", SPONSOR)
        assert approve(run_id, SPONSOR, "kill", code).exit_code == 0
        assert wait_for_state(run_id, "Completed") == "Completed"
    states = history(run_id)
    assert states[StateType.SCHEDULED] == states[StateType.RUNNING] == 2
    assert starts([first, second], run_id) == 2


def test_with_its_event_stream_dropped_the_resumer_polls(served, prefect_api, tmp_path):
    smtp = served
    api = re.match(r"http://([\d.]+):(\d+)(/.*)", prefect_api)
    log = tmp_path / "resumer.log"
    with tcp_proxy(api.group(1), int(api.group(2))) as proxy:
        through_proxy = f"http://127.0.0.1:{proxy.port}{api.group(3)}"
        with resumer_in_subprocess(through_proxy, log):
            proxy.refuse(b"/events/out")  # the stream drops and cannot come back
            run_id = start_project(tmp_path, "POLLED")
            assert wait_for_state(run_id, "Suspended") == "Suspended"
            wait_for_mails(smtp, 2)
            code = latest_code(smtp.messages, "POLLED/initiation/1/charter-approval/1", SPONSOR)
            assert approve(run_id, SPONSOR, "kill", code).exit_code == 0
            assert wait_for_state(run_id, "Completed") == "Completed"
    assert "Event stream lost" in log.read_text()
    states = history(run_id)
    assert states[StateType.SCHEDULED] == states[StateType.RUNNING] == starts([log], run_id) == 2


def test_two_resumers_on_one_deployment_run_each_start_once(served, prefect_api, tmp_path):
    smtp = served
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    keys = ["TWIN-A", "TWIN-B", "TWIN-C", "TWIN-D"]
    with (
        resumer_in_subprocess(prefect_api, logs[0]),
        resumer_in_subprocess(prefect_api, logs[1]),
    ):
        runs = {key: start_project(tmp_path, key) for key in keys}
        for run_id in runs.values():
            assert wait_for_state(run_id, "Suspended") == "Suspended"
        wait_for_mails(smtp, 2 * len(keys))
        for key, run_id in runs.items():
            code = latest_code(smtp.messages, f"{key}/initiation/1/charter-approval/1", SPONSOR)
            assert approve(run_id, SPONSOR, "kill", code).exit_code == 0
        for run_id in runs.values():
            assert wait_for_state(run_id, "Completed") == "Completed"
    for run_id in runs.values():
        states = history(run_id)
        assert states[StateType.SCHEDULED] == states[StateType.RUNNING] == 2
        assert states[StateType.PENDING] == 2  # one claim won per start; the other refused
        assert starts(logs, run_id) == 2


@flow
def a_lifecycle() -> None:
    """Stands in for a lifecycle whose states the test sets by hand."""


@dataclass
class ExitedProcess:
    exitcode: int = 0


def settle_after(states: list, claimed_at: int) -> str:
    """Give a new run `states` in order, then settle it as the resumer does once the
    child it started with the claim `states[claimed_at]` has exited cleanly."""
    with get_client(sync_client=True) as client:
        run = client.create_flow_run(a_lifecycle, state=Scheduled())
        ids = [client.set_flow_run_state(run.id, s, force=True).state.id for s in states]
        child = Child(run.id, ExitedProcess(), claim_id=ids[claimed_at])
        Resumer(slots=1)._settle(client, child)
        return client.read_flow_run(run.id).state.name


def test_a_child_that_suspended_its_run_leaves_the_runner_that_took_it_next_alone(prefect_api):
    # Two answers a second apart, two resumers: A's child suspends the run, B claims it
    # on the second answer, and only then does A see its child gone. The Running state
    # A reads is B's child's, which must go on (bench/scale_out.py saw it marked Crashed).
    claim = f"{CLAIM_PREFIX} on {socket.gethostname()}, pid 1"
    taken_again = [
        Pending(message=claim),
        Running(),
        Paused(),
        Scheduled(name="Resuming"),
        Pending(message=claim.replace("pid 1", "pid 2")),
        Running(),
    ]
    assert settle_after(taken_again, claimed_at=0) == "Running"
    # its own child gone without ending the run: Crashed, as before
    assert settle_after([Pending(message=claim), Running()], claimed_at=0) == "Crashed"
