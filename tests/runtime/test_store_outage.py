"""PostgreSQL goes away for a few seconds while a deployed lifecycle writes its documents:
the tasks that lost it run again and the run goes on, with nothing half written and
nothing written twice. A TCP proxy between the store and PostgreSQL is cut, then restored."""

import json
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from uuid import UUID

import pytest
from prefect import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from pmo.cli import app
from pmo.runtime.serve import served_in_subprocess
from pmo.settings import get_settings
from pmo.store import session_scope
from pmo.store.engine import StoreUnavailable, engine_for
from pmo.store.ledger_verify import verify_ledger
from pmo.store.models import DocumentRecord, Notification
from pmo.store.records import get_project
from tests.conftest import POSTGRES_URL
from tests.deployed import wait_for_mails, wait_for_state
from tests.factories import brief_data, slow_stakeholder_register, write_brief
from tests.gate_mail import code_mails
from tests.tcp_proxy import TcpProxy, tcp_proxy

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

INITIATION_DOCUMENTS = {"charter", "stakeholder-register", "raid-log"}
OUTAGE_SECONDS = 5


@pytest.fixture
def store_through_proxy(monkeypatch) -> Iterator[tuple[str, TcpProxy]]:
    """A database of this test's own, reached by the store through a proxy; yields its
    direct URL (for the test's own checks) and the proxy."""
    if not POSTGRES_URL:
        pytest.skip("PMO_TEST_POSTGRES_URL is not set")
    admin_url = make_url(POSTGRES_URL).set(drivername="postgresql+psycopg")
    name = f"pmo_outage_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    direct = admin_url.set(database=name)
    try:
        with tcp_proxy(direct.host or "127.0.0.1", direct.port or 5432) as proxy:
            through = direct.set(host="127.0.0.1", port=proxy.port)
            monkeypatch.setenv("PMO_DATABASE_URL", through.render_as_string(hide_password=False))
            get_settings.cache_clear()
            yield direct.render_as_string(hide_password=False), proxy
    finally:
        engine_for.cache_clear()
        get_settings.cache_clear()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _documents(url: str, key: str) -> list[str]:
    with session_scope(url) as session:
        if (project := get_project(session, key=key)) is None:
            return []
        query = select(DocumentRecord.document_key).where(DocumentRecord.project_id == project.id)
        return list(session.scalars(query))


def test_a_store_unavailable_for_seconds_mid_run_is_retried_and_the_run_goes_on(
    store_through_proxy, prefect_api, smtp_server, tmp_path, monkeypatch
):
    direct, proxy = store_through_proxy
    monkeypatch.setenv("PMO_TEMPLATES_DIR", str(slow_stakeholder_register(tmp_path / "tpl")))
    brief = write_brief(tmp_path, brief_data(key="ORION"))
    with served_in_subprocess(prefect_api, tmp_path / "serve.log"):
        started = CliRunner().invoke(app, ["start", str(brief), "--json"])
        assert started.exit_code == 0, started.output
        run_id = json.loads(started.output)["run_id"]
        deadline = time.monotonic() + 120
        while "charter" not in _documents(direct, "ORION"):
            assert time.monotonic() < deadline, "the charter was never written"
            time.sleep(0.05)

        # the stakeholder register is being written: the store goes away under it
        proxy.cut()
        with pytest.raises(StoreUnavailable), session_scope() as session:  # everyone sees it
            session.execute(text("select 1"))
        time.sleep(OUTAGE_SECONDS)
        assert _documents(direct, "ORION") == ["charter"]  # nothing half written
        proxy.restore()

        assert wait_for_state(run_id, "Suspended", timeout=180) == "Suspended"
        wait_for_mails(smtp_server, 2)

    assert proxy.dropped >= 1
    with session_scope(direct) as session:
        project = get_project(session, key="ORION")
        assert project.current_stage == "initiation"
        documents = session.scalars(
            select(DocumentRecord).where(DocumentRecord.project_id == project.id)
        ).all()
        notifications = session.scalars(select(Notification.idempotency_key)).all()
        assert [str(problem) for problem in verify_ledger(session)] == []
    written = Counter(row.document_key for row in documents)
    assert written == dict.fromkeys([*INITIATION_DOCUMENTS, "gate-review-charter-approval"], 1)
    assert len(notifications) == len(set(notifications)) == 2
    assert Counter((m.gate, m.approver) for m in code_mails(smtp_server.messages)) == {
        ("ORION/initiation/1/charter-approval/1", "dana.reyes@example.com"): 1,
        ("ORION/initiation/1/charter-approval/1", "pmo@example.com"): 1,
    }
    # the task that lost the store ran again (Prefect's retry), not the whole run
    with get_client(sync_client=True) as client:
        flow_run = client.read_flow_run(UUID(run_id))
        tasks = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run.id]))
        )
    retried = {task.name for task in tasks if task.run_count > 1}
    assert any(name.startswith("render stakeholder-register") for name in retried), retried
