"""The run-state recorder against a real Prefect server: lifecycle runs' state changes go
into the store and onto the ledger once each, through a stream that drops; the audit then
reads them there, and asks Prefect only for what the recorder did not see."""

import asyncio
import os
import signal
import subprocess
import threading
import time
import uuid
from urllib.parse import urlsplit
from uuid import UUID

import pytest
from prefect import flow
from prefect.client.orchestration import SyncPrefectClient
from prefect.settings import PREFECT_API_URL, temporary_settings
from prefect.states import Completed, Running, Scheduled, Suspended
from sqlalchemy import func, select

from pmo.audit.portfolio import audit_portfolio
from pmo.audit.run_history import RunSelection
from pmo.audit.state_recorder import StateRecorder, catch_up
from pmo.runtime.recorder import recorder_in_thread
from pmo.store import session_scope
from pmo.store.models import LedgerEntry, RunState
from tests.factories import make_brief
from tests.processes import PMO, wait_for_log
from tests.project_record import LIFECYCLE, at_gate
from tests.tcp_proxy import tcp_proxy

pytestmark = pytest.mark.integration


@flow(name="project-lifecycle")
def lifecycle() -> None:
    """Stands in for the lifecycle: the tests set its runs' states by hand."""


@flow(name="something-else")
def other() -> None:
    """A flow that is no lifecycle: its runs are none of the recorder's business."""


def new_key() -> str:
    # The Prefect server is the session's: each test's projects are its own.
    return f"REC-{uuid.uuid4().hex[:8].upper()}"


def create_run(client: SyncPrefectClient, key: str, which=lifecycle) -> str:
    run = client.create_flow_run(which, tags=[f"project:{key}"])
    return str(run.id)


def prefect_states(client: SyncPrefectClient, run_id: str) -> list[str]:
    return sorted(str(s.id) for s in client.read_flow_run_states(UUID(run_id)))


def recorded(run_id: str) -> list[RunState]:
    with session_scope() as session:
        rows = session.scalars(select(RunState).where(RunState.flow_run_id == run_id)).all()
        session.expunge_all()
        return sorted(rows, key=lambda r: r.occurred_at)


def wait_until_recorded(client: SyncPrefectClient, run_id: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sorted(r.event_id for r in recorded(run_id)) == prefect_states(client, run_id):
            return
        time.sleep(0.2)
    raise AssertionError(
        f"recorded {[r.state_name for r in recorded(run_id)]}, "
        f"Prefect has {len(prefect_states(client, run_id))} states"
    )


def wait_until_following(recorder: StateRecorder, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not recorder.following.is_set():
        assert time.monotonic() < deadline, "the recorder never subscribed"
        time.sleep(0.1)


def bypass(client: SyncPrefectClient, run_id: str) -> None:
    """A run suspended at its gate, resumed by hand with nothing recorded, then marked
    Completed by hand: what the UI's "Change state" does."""
    client.set_flow_run_state(UUID(run_id), Running(), force=True)
    client.set_flow_run_state(UUID(run_id), Suspended(timeout=3600), force=True)
    client.set_flow_run_state(UUID(run_id), Scheduled(name="Resuming"), force=True)
    client.set_flow_run_state(UUID(run_id), Running(), force=True)
    client.set_flow_run_state(UUID(run_id), Suspended(timeout=3600), force=True)
    client.set_flow_run_state(UUID(run_id), Completed(message="Closed by hand"), force=True)


def waiting_at_charter(key: str, run_id: str) -> None:
    with session_scope() as session:
        at_gate(session, make_brief(key=key), LIFECYCLE.lifecycle.stages[0], run_id=run_id)


def test_state_changes_are_recorded_once_each_through_a_stream_that_drops(
    prefect_server, store_url
):
    key = new_key()
    address = urlsplit(prefect_server)
    direct = SyncPrefectClient(prefect_server)
    with (
        direct as client,
        tcp_proxy(address.hostname, address.port) as proxy,
        temporary_settings(
            updates={PREFECT_API_URL: f"http://127.0.0.1:{proxy.port}{address.path}"}
        ),
    ):
        # States set before the recorder starts are caught up on when it does.
        early = create_run(client, key)
        client.set_flow_run_state(UUID(early), Running(), force=True)
        elsewhere = create_run(client, key, which=other)
        client.set_flow_run_state(UUID(elsewhere), Running(), force=True)
        recorder = StateRecorder(retry_seconds=0.5, reconnection_attempts=1, sweep_seconds=1)
        with recorder_in_thread(recorder):
            wait_until_following(recorder)
            wait_until_recorded(client, early)
            run_id = create_run(client, key)
            client.set_flow_run_state(UUID(run_id), Running(), force=True)
            client.set_flow_run_state(UUID(run_id), Suspended(timeout=3600), force=True)
            wait_until_recorded(client, run_id)

            # The stream drops, and stays down longer than the subscriber retries: the
            # changes made meanwhile come from the events API once Prefect is back.
            proxy.cut()
            deadline = time.monotonic() + 20
            while recorder.following.is_set():
                assert time.monotonic() < deadline, "the recorder did not see the drop"
                time.sleep(0.1)
            client.set_flow_run_state(UUID(run_id), Scheduled(name="Resuming"), force=True)
            client.set_flow_run_state(UUID(run_id), Completed(message="Closed by hand"), force=True)
            time.sleep(1.5)
            assert [r.state_name for r in recorded(run_id)] == ["Pending", "Running", "Suspended"]
            proxy.restore()
            wait_until_recorded(client, run_id)
            wait_until_following(recorder)
        assert proxy.dropped >= 1
        # It stops with the block, as with `pmo up`.
        assert not any(t.name == "pmo-run-states" for t in threading.enumerate())

        rows = recorded(run_id)
        names = [r.state_name for r in rows]
        assert names == ["Pending", "Running", "Suspended", "Resuming", "Completed"]
        assert rows[-1].message == "Closed by hand" and rows[-1].state_type == "COMPLETED"
        assert {r.source for r in rows} == {"event"}
        assert recorded(elsewhere) == []
        # Every event again (a replay, or the stream's backfill) writes nothing.
        assert asyncio.run(catch_up()) == 0
        with session_scope() as session:
            ids = [r.id for r in rows]
            on_ledger = session.scalar(
                select(func.count())
                .select_from(LedgerEntry)
                .where(LedgerEntry.table_name == "run_states", LedgerEntry.row_id.in_(ids))
            )
        assert on_ledger == len(rows)


def test_the_audit_finds_a_bypass_the_recorder_saw_without_asking_prefect_per_run(
    prefect_server, prefect_api, store_url
):
    key = new_key()
    with SyncPrefectClient(prefect_server) as client:
        recorder = StateRecorder(retry_seconds=0.5, sweep_seconds=1)
        with recorder_in_thread(recorder):
            wait_until_following(recorder)
            run_id = create_run(client, key)
            waiting_at_charter(key, run_id)
            bypass(client, run_id)
            wait_until_recorded(client, run_id)

    audit = audit_portfolio(RunSelection(project_key=key))
    assert audit.histories_fetched == 0
    assert_bypassed(audit, run_id)


def test_the_audit_asks_prefect_for_what_the_recorder_missed_and_records_it(
    prefect_server, prefect_api, store_url
):
    key = new_key()
    with SyncPrefectClient(prefect_server) as client:
        run_id = create_run(client, key)
        waiting_at_charter(key, run_id)
        bypass(client, run_id)
        first = audit_portfolio(RunSelection(project_key=key))
        assert first.histories_fetched == 1
        assert_bypassed(first, run_id)
        rows = recorded(run_id)
        assert sorted(r.event_id for r in rows) == prefect_states(client, run_id)
        assert {r.source for r in rows} == {"api"} and rows[0].project_id is not None

        # Recorded now: the next audit reads the store; a later change is asked for again.
        again = audit_portfolio(RunSelection(project_key=key))
        assert again.histories_fetched == 0
        assert_bypassed(again, run_id)
        client.set_flow_run_state(UUID(run_id), Running(), force=True)
        assert audit_portfolio(RunSelection(project_key=key)).histories_fetched == 1


def assert_bypassed(audit, run_id: str) -> None:
    (project,) = audit.projects
    assert project.run_id == run_id and not project.compliant
    found = [b.what for b in project.bypasses]
    assert any("left its pause" in w and "Resuming" in w for w in found), found
    assert any(
        w.startswith("marked Completed ('Closed by hand') while the project waited at")
        for w in found
    ), found


def test_a_fresh_audit_asks_prefect_for_every_history(prefect_server, prefect_api, store_url):
    key = new_key()
    with SyncPrefectClient(prefect_server) as client:
        run_id = create_run(client, key)
        waiting_at_charter(key, run_id)
        bypass(client, run_id)
        assert audit_portfolio(RunSelection(project_key=key)).histories_fetched == 1
        fresh = audit_portfolio(RunSelection(project_key=key), fresh=True)
        assert fresh.histories_fetched == 1
        assert_bypassed(fresh, run_id)
        # Asked again, nothing is recorded twice.
        assert sorted(r.event_id for r in recorded(run_id)) == prefect_states(client, run_id)


def test_pmo_record_states_records_beside_workers_and_stops_on_ctrl_c(
    prefect_server, store_url, tmp_path
):
    key = new_key()
    log_path = tmp_path / "record-states.log"
    env = {**os.environ, "PREFECT_API_URL": prefect_server}
    with log_path.open("ab") as log:
        recorder = subprocess.Popen(
            [PMO, "record-states"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        wait_for_log(recorder, log_path, "Ctrl-C stops", timeout=60)
        with SyncPrefectClient(prefect_server) as client:
            run_id = create_run(client, key)
            client.set_flow_run_state(UUID(run_id), Running(), force=True)
            wait_until_recorded(client, run_id)
    finally:
        recorder.send_signal(signal.SIGINT)
        returncode = recorder.wait(timeout=30)
    assert returncode == 0, log_path.read_text()
    assert "Stopped." in log_path.read_text()
