"""The store on SQLite and PostgreSQL: migrations, natural keys, one answer per key."""

import pytest
from sqlalchemy import event, inspect, select

from pmo.errors import BriefError
from pmo.gates.answers import record_answer, send_approval_request
from pmo.gates.rules import Answer
from pmo.mail import MailDeliveryError, compose_message
from pmo.settings import get_settings
from pmo.store import session_scope
from pmo.store.engine import engine_for
from pmo.store.models import ApprovalCode, GateDecision, Notification, Project, utcnow
from pmo.store.records import gate_for_run, mark_decided
from process_library.loader import load_lifecycle
from tests.factories import make_brief
from tests.project_record import at_gate
from tests.smtp_server import running_smtp_server

pytestmark = pytest.mark.integration

LIFECYCLE = load_lifecycle("pmbok-waterfall")
STAGE = LIFECYCLE.lifecycle.stages[0]


def test_the_migration_creates_every_table(store_url):
    tables = set(inspect(engine_for(store_url)).get_table_names())
    assert {
        "projects",
        "stage_runs",
        "activities",
        "gates",
        "approval_codes",
        "gate_decisions",
        "documents",
        "notifications",
        "alembic_version",
    } <= tables


def open_first_gate(session, brief, run_id="run-1"):
    return at_gate(session, brief, STAGE, lifecycle=LIFECYCLE, run_id=run_id)


def test_ensure_functions_find_what_a_replayed_flow_already_wrote(store_url):
    brief = make_brief()
    with session_scope() as session:
        first = [row.id for row in open_first_gate(session, brief)]
    with session_scope() as session:
        again = [row.id for row in open_first_gate(session, brief)]
        project = session.get(Project, first[0])
        assert project.lifecycle_version == LIFECYCLE.version
        assert project.lifecycle_definition["name"] == "pmbok-waterfall"
    assert first == again


def test_a_second_lifecycle_run_for_the_same_key_is_refused_and_writes_nothing(store_url):
    brief = make_brief()
    with session_scope() as session:
        open_first_gate(session, brief, run_id="run-1")
    with (
        pytest.raises(BriefError, match="project 'APOLLO' already exists"),
        session_scope() as session,
    ):
        open_first_gate(session, brief, run_id="run-2")
    with session_scope() as session:
        assert session.scalar(select(Project).where(Project.key == "APOLLO")).flow_run_id == "run-1"


def test_a_runs_gate_is_found_without_loading_every_project_waiting(store_url):
    with session_scope() as session:
        for number in range(5):
            open_first_gate(session, make_brief(key=f"WAIT{number}"), run_id=f"run-{number}")
    loaded = []
    with session_scope() as session:
        event.listen(session, "loaded_as_persistent", lambda _, row: loaded.append(row))
        project, _, gate = gate_for_run(session, flow_run_id="run-3")
        assert (project.key, gate.flow_run_id) == ("WAIT3", "run-3")
        assert gate_for_run(session, flow_run_id="run-9") is None
    # an answer's cost does not grow with the projects waiting elsewhere
    assert sorted(type(row).__name__ for row in loaded) == ["Gate", "Project", "StageRun"]


def send_request(session, gate, approver, sent):
    def compose(code, links=None):
        sent.append(code)
        return compose_message(
            to=[approver],
            subject="Decide",
            body=f"Approval code: {code}",
            message_id_key=f"test/{gate.id}/{approver}",
        )

    return send_approval_request(session, gate=gate, round=1, approver=approver, compose=compose)


def test_a_code_is_mailed_once_kept_only_as_a_hash_and_counts_once(store_url):
    brief = make_brief()
    sent: list[str] = []
    with session_scope() as session:
        _, _, gate = open_first_gate(session, brief)
        assert send_request(session, gate, "dana.reyes@example.com", sent) is not None
        assert send_request(session, gate, "dana.reyes@example.com", sent) is None
    assert len(sent) == 1
    code = sent[0]
    with session_scope() as session:
        stored = session.scalar(select(ApprovalCode))
        assert code.replace("-", "") not in stored.code_hash
        assert session.scalar(select(Notification)).status == "sent"

    answer = Answer("dana.reyes@example.com", "go", code, "Fine")
    with session_scope() as session:

        def record(response_key: str):
            return record_answer(
                session,
                gate_id=gate.id,
                definition=STAGE.gate,
                brief=brief,
                response_key=response_key,
                answer=answer,
                channel="test",
                flow_run_id="run-1",
            )

        row = record("k1")
        assert row.accepted and session.get(GateDecision, row.decision_id).roles == "sponsor"
        assert record("k1").decision_id == row.decision_id  # a replay: the same row
        reuse = record("k2")
        assert not reuse.accepted and reuse.refusal.message == "the approval code was already used"
    with session_scope() as session:
        assert session.query(GateDecision).count() == 2


def test_a_refused_delivery_leaves_no_code_and_no_notification(store_url, monkeypatch):
    # (a server that is down is another matter: the request waits in the mail queue)
    brief = make_brief()
    with session_scope() as session:
        _, _, gate = open_first_gate(session, brief)
    with running_smtp_server(refuse=["dana.reyes@example.com"]) as server:
        monkeypatch.setenv("PMO_SMTP_HOST", server.host)
        monkeypatch.setenv("PMO_SMTP_PORT", str(server.port))
        get_settings.cache_clear()
        with pytest.raises(MailDeliveryError, match="refused"), session_scope() as session:
            send_request(session, session.merge(gate), "dana.reyes@example.com", [])
    with session_scope() as session:
        assert session.query(ApprovalCode).count() == 0
        assert session.query(Notification).count() == 0


def test_a_hold_reopens_the_gate_for_a_new_round(store_url):
    with session_scope() as session:
        _, stage_run, gate = open_first_gate(session, make_brief())
        mark_decided(session, gate=gate, stage_run=stage_run, round=1, outcome="hold", at=utcnow())
        assert (gate.status, gate.round) == ("on-hold", 2)
        mark_decided(session, gate=gate, stage_run=stage_run, round=1, outcome="hold", at=utcnow())
        assert gate.round == 2  # replaying round 1 changes nothing
        mark_decided(session, gate=gate, stage_run=stage_run, round=2, outcome="go", at=utcnow())
        assert (gate.status, gate.outcome, stage_run.status) == ("decided", "go", "passed")


def _refusal(url: str) -> str:
    from pmo.store.engine import StoreUnavailable

    with pytest.raises(StoreUnavailable) as error, session_scope(url):
        pass
    message = str(error.value)
    assert "Db-Secret-42" not in message and "\n" not in message
    return message


def test_a_store_nobody_answers_at_is_one_line_without_its_password():
    from tests.smtp_server import free_port

    port = free_port()  # nothing listens there
    message = _refusal(f"postgresql://pmo:Db-Secret-42@127.0.0.1:{port}/pmo")
    assert message.startswith(
        f"cannot open the store at postgresql://pmo:***@127.0.0.1:{port}/pmo: "
    )


@pytest.mark.postgres
def test_a_store_that_refuses_us_is_one_line_without_its_password(postgres_database):
    from sqlalchemy.engine import make_url

    url = make_url(postgres_database).set(username="no_such_role", password="Db-Secret-42")
    message = _refusal(url.render_as_string(hide_password=False))
    assert message.startswith("cannot open the store at postgresql+psycopg://no_such_role:***@")
    assert message.endswith('role "no_such_role" does not exist')
