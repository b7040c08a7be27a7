"""kill -9 of `pmo up` while a stage writes its documents, then `pmo up` again: the run is
scheduled again and goes on, with no document, row or mail twice; and `pmo recover`."""

import json
import time
from collections import Counter
from pathlib import Path

import pytest
from prefect import get_client
from prefect.client.schemas.objects import StateType
from prefect.settings import PREFECT_API_URL, temporary_settings
from prefect.states import Crashed, Failed, Running, Suspended
from sqlalchemy import func, select
from typer.testing import CliRunner

from flows.lifecycle import project_lifecycle
from pmo.cli import app
from pmo.methodology.project import prepare_lifecycle
from pmo.runtime.server import free_port, local_prefect_server
from pmo.store import session_scope
from pmo.store.models import DocumentRecord, Notification, Project
from pmo.store.records import ensure_project, get_project
from process_library.loader import load_lifecycle
from tests.deployed import approve, wait_for_mails, wait_for_state
from tests.factories import brief_data, make_brief, slow_stakeholder_register, write_brief
from tests.gate_mail import code_mails, latest_code
from tests.processes import client_env, kill_tree, pmo_up

pytestmark = pytest.mark.integration

SPONSOR, PMO = "dana.reyes@example.com", "pmo@example.com"
STORE_AWAY = (
    "Flow run encountered an exception: StoreUnavailable: the store at "
    "postgresql+psycopg://pmo@db/pmo is unavailable: connection failed"
)
INITIATION_DOCUMENTS = {"charter", "stakeholder-register", "raid-log"}


def _initiation_documents(key: str) -> list[str]:
    with session_scope() as session:
        project = get_project(session, key=key)
        if project is None:
            return []
        rows = session.scalars(
            select(DocumentRecord.document_key).where(DocumentRecord.project_id == project.id)
        )
        return list(rows)


def test_kill_9_while_documents_are_written_then_pmo_up_goes_on_writing_nothing_twice(
    smtp_server, tmp_path
):
    port = free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    log = tmp_path / "up.log"
    templates = slow_stakeholder_register(tmp_path / "pmo-templates")
    brief = write_brief(tmp_path, brief_data(key="PHOENIX"))

    with temporary_settings(updates={PREFECT_API_URL: api_url}):
        with pmo_up(port, log, client_env(PMO_TEMPLATES_DIR=str(templates))) as pid:
            started = CliRunner().invoke(app, ["start", str(brief), "--json"])
            assert started.exit_code == 0, started.output
            run_id = json.loads(started.output)["run_id"]
            deadline = time.monotonic() + 90
            while "charter" not in _initiation_documents("PHOENIX"):
                assert time.monotonic() < deadline, "the charter was never written"
                time.sleep(0.02)
            killed = kill_tree(pid)

        # the charter is written, the stakeholder register was being written: the run is
        # left Running, by processes that are all gone (the server's too)
        assert _initiation_documents("PHOENIX") == ["charter"]
        assert len(killed) >= 3  # pmo up, its Prefect server, the run's process
        assert smtp_server.messages == []

        with pmo_up(port, log, client_env()):
            recovering = f"Recovering PHOENIX · pmbok-waterfall ({run_id}): it was left Running"
            assert recovering in log.read_text()
            assert wait_for_state(run_id, "Suspended", timeout=180) == "Suspended"
            wait_for_mails(smtp_server, 2)
            charter_gate = "PHOENIX/initiation/1/charter-approval/1"
            for approver in (SPONSOR, PMO):
                code = latest_code(smtp_server.messages, charter_gate, approver)
                result = approve(run_id, approver, "go", code)
                assert result.exit_code == 0, result.output
            wait_for_mails(smtp_server, 4, timeout=120)
            assert wait_for_state(run_id, "Suspended", timeout=120) == "Suspended"

    with session_scope() as session:
        project = get_project(session, key="PHOENIX")
        assert project.flow_run_id == run_id
        assert project.current_stage == "planning"
        rows = session.scalars(
            select(DocumentRecord).where(DocumentRecord.project_id == project.id)
        ).all()
        notifications = session.scalars(select(Notification.idempotency_key)).all()
    initiation = [row for row in rows if row.document_key in INITIATION_DOCUMENTS]
    assert sorted(row.document_key for row in initiation) == sorted(INITIATION_DOCUMENTS)
    assert {row.version for row in initiation} == {1}
    assert len(notifications) == len(set(notifications))
    sent = Counter((mail.gate, mail.approver) for mail in code_mails(smtp_server.messages))
    assert sent == {
        (charter_gate, SPONSOR): 1,
        (charter_gate, PMO): 1,
        ("PHOENIX/planning/1/plan-approval/1", SPONSOR): 1,
        ("PHOENIX/planning/1/plan-approval/1", PMO): 1,
    }
    # one file per document version on disk, none written beside it by the second run
    docx = sorted(p.name for p in Path(initiation[0].docx_path).parent.glob("*.docx"))
    assert len(docx) == len(set(docx)) == len({row.docx_path for row in rows})


def _lifecycle_run(client, key: str, state):
    brief = make_brief(key=key)
    return client.create_flow_run(
        project_lifecycle,
        parameters={"brief": brief.model_dump(mode="json")},
        name=f"{key} · pmbok-waterfall",
        state=state,
    )


def _register(run, key: str, status: str = "active") -> None:
    brief = make_brief(key=key)
    with session_scope() as session:
        project = ensure_project(
            session,
            brief=brief,
            lifecycle=prepare_lifecycle(brief, load_lifecycle("pmbok-waterfall")).loaded,
            flow_run_id=str(run.id),
        )
        project.status = status


@pytest.fixture
def own_prefect_api(tmp_path):
    """A Prefect server of this test's own: recovering schedules again every dead run it
    holds, and the session's server holds other tests' runs."""
    with (
        local_prefect_server(tmp_path / "prefect", ui=False) as api_url,
        temporary_settings(updates={PREFECT_API_URL: api_url}),
    ):
        yield api_url


def test_pmo_recover_schedules_again_the_dead_runs_of_open_projects_only(own_prefect_api):
    with get_client(sync_client=True) as client:
        crashed = _lifecycle_run(client, "CRASHED", Crashed(message="process killed"))
        _register(crashed, "CRASHED")
        unregistered = _lifecycle_run(client, "EARLY", Crashed())
        closed = _lifecycle_run(client, "DONE", Crashed())
        _register(closed, "DONE", status="closed")
        running = _lifecycle_run(client, "ALIVE", Running())
        _register(running, "ALIVE")
        waiting = _lifecycle_run(client, "WAITING", Suspended())
        _register(waiting, "WAITING")
        lost_store = _lifecycle_run(client, "LOST", Failed(message=STORE_AWAY))
        _register(lost_store, "LOST")
        bug = _lifecycle_run(client, "BUG", Failed(message="Flow run encountered: KeyError"))
        _register(bug, "BUG")
        dead = {str(crashed.id), str(unregistered.id), str(lost_store.id)}

        listed = CliRunner().invoke(app, ["recover", "--dry-run", "--json"])
        assert listed.exit_code == 0, listed.output
        found = {run["run_id"]: run for run in json.loads(listed.output)}
        assert dead <= set(found)
        assert not {str(r.id) for r in (closed, running, waiting, bug)} & set(found)
        assert found[str(lost_store.id)]["why"] == "it failed while the store was unavailable"
        assert found[str(crashed.id)]["project"] == "CRASHED"
        assert found[str(unregistered.id)]["project"] is None
        assert not any(run["rescheduled"] for run in found.values())
        assert client.read_flow_run(crashed.id).state_type == StateType.CRASHED

        # a Running run whose last sign of life is older than --stale-after is dead too
        time.sleep(2)
        result = CliRunner().invoke(app, ["recover", "--stale-after", "1"])
        assert result.exit_code == 0, result.output
        assert f"{crashed.id} CRASHED · pmbok-waterfall: it crashed; scheduled again" in (
            result.output
        )
        for run in (crashed, unregistered, running, lost_store):
            assert client.read_flow_run(run.id).state_type == StateType.SCHEDULED
        assert client.read_flow_run(bug.id).state_type == StateType.FAILED
        assert client.read_flow_run(closed.id).state_type == StateType.CRASHED
        assert client.read_flow_run(waiting.id).state_type == StateType.PAUSED

        again = CliRunner().invoke(app, ["recover", "--stale-after", "1", "--json"])
        assert not {str(r.id) for r in (crashed, unregistered, running, lost_store)} & {
            run["run_id"] for run in json.loads(again.output)
        }
    with session_scope() as session:  # recovering changed nothing in the store
        assert session.scalar(select(func.count(Project.id))) == 6
