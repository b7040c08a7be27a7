"""The audit ledger on SQLite and PostgreSQL: the application's writes chain up, anything
done behind its back is reported with its row and project, and concurrent writers never
fork the chain."""

import multiprocessing
import threading
from collections import Counter

import pytest
from sqlalchemy import delete, func, select, text, update

from pmo.gates.answers import record_answer, send_approval_request
from pmo.gates.rules import Answer
from pmo.mail import compose_message
from pmo.store import audited, session_scope
from pmo.store.audited import Audited
from pmo.store.ledger import GENESIS, LEDGER, LedgerHead, entry_hash, ledger_head
from pmo.store.ledger_verify import verify_ledger
from pmo.store.models import DocumentRecord, Gate, GateDecision, Project, utcnow
from pmo.store.records import mark_decided
from tests.factories import make_brief
from tests.project_record import LIFECYCLE, at_gate, run_documents, write

pytestmark = pytest.mark.integration

STAGE = LIFECYCLE.lifecycle.stages[0]
SPONSOR = "dana.reyes@example.com"


def problems() -> list[str]:
    with session_scope() as session:
        return [str(p) for p in verify_ledger(session)]


def entries() -> list:
    with session_scope() as session:
        return list(session.execute(select(LEDGER).order_by(LEDGER.c.seq)))


def sql(statement: str, **parameters) -> None:
    """A write behind the application's back: plain SQL, as someone with database access."""
    with session_scope() as session:
        session.execute(text(statement), parameters)


def decide_first_gate(key: str = "APOLLO") -> dict[str, int]:
    """A project whose first gate the sponsor passed with a mailed code, and its charter."""
    brief = make_brief(key=key)
    codes: list[str] = []

    def compose(code: str, links=None):
        codes.append(code)
        return compose_message(
            to=[SPONSOR], subject="Decide", body=code, message_id_key=f"{key}/{SPONSOR}"
        )

    with session_scope() as session:
        project, stage_run, gate = at_gate(session, brief, STAGE, run_id=f"run-{key}")
        send_approval_request(session, gate=gate, round=1, approver=SPONSOR, compose=compose)
    with session_scope() as session:
        gate = session.get(Gate, gate.id)
        decision = record_answer(
            session,
            gate_id=gate.id,
            definition=STAGE.gate,
            brief=brief,
            response_key="k1",
            answer=Answer(SPONSOR, "go", codes[0], "Approved"),
            channel="test",
            flow_run_id=f"run-{key}",
        )
        mark_decided(
            session,
            gate=gate,
            stage_run=session.merge(stage_run),
            round=1,
            outcome="go",
            at=utcnow(),
        )
    document = write(brief, STAGE, 1, "charter")
    return {
        "project": project.id,
        "gate": gate.id,
        "decision": decision.decision_id,
        "doc": document.id,
    }


def test_an_empty_store_verifies_clean(store_url):
    assert problems() == []
    with session_scope() as session:
        assert ledger_head(session) is None


def test_a_projects_writes_chain_up_and_verify_clean(store_url):
    run_documents(make_brief())
    decide_first_gate("ORION")
    chain = entries()
    assert [e.seq for e in chain] == list(range(1, len(chain) + 1))
    assert [e.prev_hash for e in chain] == [GENESIS] + [e.hash for e in chain[:-1]]
    assert {e.table_name for e in chain} == {
        "projects",
        "project_lifecycles",
        "stage_runs",
        "gates",
        "gate_decisions",
        "gate_scores",  # the scores given with the go at the funding gate
        "documents",
        "approval_codes",
    }
    assert {e.project_key for e in chain} == {"APOLLO", "ORION"}
    with session_scope() as session:
        assert ledger_head(session) == LedgerHead(chain[-1].seq, chain[-1].hash)
        assert verify_ledger(session, head=ledger_head(session)) == []
    # The decision, the used code and the decided gate are each on the ledger as they stand.
    gate_entries = [e for e in chain if e.table_name == "gates" and e.project_key == "ORION"]
    assert '"outcome":"go"' in gate_entries[-1].payload
    code_entries = [e for e in chain if e.table_name == "approval_codes"]
    assert [e.action for e in code_entries] == ["insert", "update"]
    assert '"used_at":null' not in code_entries[-1].payload


def test_a_rolled_back_transaction_leaves_no_entry(store_url):
    decide_first_gate()
    before = entries()
    with pytest.raises(RuntimeError), session_scope() as session:
        session.scalar(select(Project)).status = "cancelled"
        session.flush()
        raise RuntimeError("changed my mind")
    assert entries() == before
    assert problems() == []


def test_a_change_outside_the_audited_columns_adds_no_entry(store_url):
    decide_first_gate()
    before = len(entries())
    with session_scope() as session:
        gate = session.scalar(select(Gate))
        gate.waits, gate.waiting_key = gate.waits + 1, "planning-1-1-7"  # where the run waits
    assert len(entries()) == before
    assert problems() == []


def test_an_orm_update_statement_is_on_the_ledger(store_url):
    ids = decide_first_gate()
    with session_scope() as session:
        session.execute(update(Gate).where(Gate.id == ids["gate"]).values(escalated_at=utcnow()))
    last = entries()[-1]
    assert (last.table_name, last.row_id, last.action) == ("gates", ids["gate"], "update")
    assert '"escalated_at":null' not in last.payload
    assert problems() == []


def test_rows_the_application_deletes_are_on_the_ledger_as_deleted(store_url):
    ids = decide_first_gate()
    second = write(make_brief(), STAGE, 1, "raid-log")
    with session_scope() as session:
        session.delete(session.get(DocumentRecord, ids["doc"]))
    with session_scope() as session:
        session.execute(delete(DocumentRecord).where(DocumentRecord.id == second.id))
    deleted = [e for e in entries() if e.action == "delete"]
    assert [(e.table_name, e.row_id, e.project_key) for e in deleted] == [
        ("documents", ids["doc"], "APOLLO"),
        ("documents", second.id, "APOLLO"),
    ]
    assert '"document_key":"raid-log"' in deleted[1].payload
    assert problems() == []


def audit_gates_as(monkeypatch, column_names: str) -> None:
    """Audit the gates table's `column_names`, as a store of another version would."""
    gates = audited.AUDITED["gates"]
    monkeypatch.setitem(
        audited.AUDITED, "gates", Audited(gates.label, column_names, gates.parent_link)
    )
    monkeypatch.setitem(audited._CONVERTED, "gates", audited._needs_converting("gates"))


def test_a_column_added_to_the_audit_later_is_no_change_to_rows_written_before(
    store_url, monkeypatch
):
    decide_first_gate()
    audit_gates_as(monkeypatch, f"{audited.AUDITED['gates'].column_names} waiting_key")
    assert problems() == []
    with session_scope() as session:
        session.scalar(select(Gate)).waiting_key = "planning-1-1-1"
    assert '"waiting_key":"planning-1-1-1"' in entries()[-1].payload  # covered from its next write
    sql("UPDATE gates SET waiting_key = NULL")
    (problem,) = problems()
    assert "was edited after ledger entry" in problem and "waiting_key 'planning-1-1-1'" in problem


def test_a_column_added_to_the_audit_later_and_filled_outside_the_application_is_reported(
    store_url, monkeypatch
):
    decide_first_gate()
    audit_gates_as(monkeypatch, f"{audited.AUDITED['gates'].column_names} waiting_key")
    sql("UPDATE gates SET waiting_key = 'forged'")
    (problem,) = problems()
    assert problem.endswith("waiting_key (added to the audit later, never recorded) → 'forged'")


def test_a_column_added_later_holding_the_default_its_migration_gave_is_no_change(
    store_url, monkeypatch
):
    """0005 added gates.kind, giving the gates already there its server default 'stage'."""
    with monkeypatch.context() as old_store:
        audit_gates_as(old_store, audited.AUDITED["gates"].column_names.replace(" kind", ""))
        decide_first_gate()
    assert problems() == []
    sql("UPDATE gates SET kind = 'exception'")
    (problem,) = problems()
    assert problem.endswith("kind (added to the audit later, never recorded) → 'exception'")


def test_a_decision_edited_in_the_database_is_reported_with_its_project(store_url):
    ids = decide_first_gate()
    sql("UPDATE gate_decisions SET decision = 'kill' WHERE id = :id", id=ids["decision"])
    (problem,) = problems()
    assert problem.startswith(f"gate decision {ids['decision']} of project APOLLO was edited")
    assert problem.endswith("decision 'go' → 'kill'")


def test_a_budget_raised_in_the_database_is_reported_on_its_project(store_url):
    ids = decide_first_gate()
    sql("UPDATE projects SET budget = 990000 WHERE id = :id", id=ids["project"])
    (problem,) = problems()
    assert problem.startswith(f"project APOLLO (row {ids['project']}) was edited after ledger")
    assert problem.endswith("budget '250000' → '990000'")


def test_a_brief_rewritten_in_the_database_is_reported_on_its_project(store_url):
    ids = decide_first_gate()
    sql(
        "UPDATE projects SET brief = :brief WHERE id = :id",
        brief='{"key": "APOLLO", "budget": 990000}',
        id=ids["project"],
    )
    (problem,) = problems()
    assert problem.startswith(f"project APOLLO (row {ids['project']}) was edited after ledger")
    assert "brief 'sha256:" in problem


def test_a_deleted_document_is_reported(store_url):
    ids = decide_first_gate()
    sql("DELETE FROM documents WHERE id = :id", id=ids["doc"])
    with session_scope() as session:
        (problem,) = verify_ledger(session)
    assert (problem.kind, problem.table, problem.row_id) == ("row-deleted", "documents", ids["doc"])
    assert problem.project_key == "APOLLO"
    assert str(problem).startswith(f"document {ids['doc']} of project APOLLO was deleted")


def test_a_decision_inserted_by_hand_is_reported(store_url):
    ids = decide_first_gate()
    with session_scope() as session:
        # Core, not the ORM: the way a script with database access would do it.
        result = session.connection().execute(
            GateDecision.__table__.insert().values(
                gate_id=ids["gate"],
                round=1,
                response_key="forged",
                approver_email="mallory@example.com",
                roles="sponsor",
                decision="kill",
                comment="",
                conditions="",
                accepted=True,
                channel="prefect",
                received_at=utcnow(),
            )
        )
        forged = result.inserted_primary_key[0]
    with session_scope() as session:
        (problem,) = verify_ledger(session)
    assert (problem.kind, problem.row_id, problem.project_key) == (
        "row-unrecorded",
        forged,
        "APOLLO",
    )
    assert str(problem) == (
        f"gate decision {forged} of project APOLLO is not on the ledger: "
        "it was written outside the application"
    )


def test_a_deleted_ledger_entry_is_reported(store_url):
    decide_first_gate()
    sql("DELETE FROM audit_ledger WHERE seq = 3")
    found = problems()
    assert found[0] == "ledger entry 3 is missing: deleted from the ledger"


def test_an_edited_ledger_entry_is_reported_with_its_row_and_project(store_url):
    ids = decide_first_gate()
    (seq,) = [e.seq for e in entries() if e.table_name == "gate_decisions"]
    sql(
        "UPDATE audit_ledger SET payload = replace(payload, '\"go\"', '\"kill\"') WHERE seq = :s",
        s=seq,
    )
    assert problems() == [
        f"ledger entry {seq} (gate decision {ids['decision']} of project APOLLO) was edited "
        "after it was written: its content no longer matches its hash"
    ]


def rewrite_entry(entry, payload: str) -> None:
    """Replace an entry's payload and give it the hash that matches, as a forger would."""
    fields = {c: getattr(entry, c) for c in ("seq", "prev_hash", "project_key", "table_name")}
    fields |= {"row_id": entry.row_id, "action": entry.action, "recorded_at": entry.recorded_at}
    forged = entry_hash(**fields, payload=payload)
    sql(
        "UPDATE audit_ledger SET payload = :p, hash = :h WHERE seq = :s",
        p=payload,
        h=forged,
        s=entry.seq,
    )


def test_an_entry_rewritten_with_a_fresh_hash_breaks_the_chain_after_it(store_url):
    ids = decide_first_gate()
    chain = entries()
    (decision,) = [e for e in chain if e.table_name == "gate_decisions"]
    rewrite_entry(decision, "not json")
    found = problems()
    assert any(
        p.startswith(f"ledger entry {decision.seq + 1} ")
        and f"does not follow entry {decision.seq}" in p
        for p in found
    )
    assert (
        f"gate decision {ids['decision']} of project APOLLO was edited after ledger entry "
        f"{decision.seq}: its ledger snapshot is not readable"
    ) in found


def test_a_truncated_ledger_is_caught_by_the_head_kept_at_the_last_audit(store_url):
    decide_first_gate()
    with session_scope() as session:
        head = ledger_head(session)
    sql("DELETE FROM audit_ledger WHERE seq = :s", s=head.seq)
    with session_scope() as session:
        found = [str(p) for p in verify_ledger(session, head=head)]
    assert f"ledger entry {head.seq}, the last one at the previous audit, is gone" in found[0]


def _write_projects(worker: int, projects: int, barrier) -> None:
    barrier.wait()
    for n in range(projects):
        brief = make_brief(key=f"P{worker}-{n}")
        with session_scope() as session:
            _, stage_run, gate = at_gate(session, brief, STAGE)
        for _ in range(3):
            with session_scope() as session:
                session.get(Gate, gate.id).wrong_codes += 1


def _assert_one_chain(writes: int) -> None:
    chain = entries()
    assert [e.seq for e in chain] == list(range(1, len(chain) + 1))
    assert max(Counter(e.prev_hash for e in chain).values()) == 1
    assert sum(e.table_name == "gates" and e.action == "update" for e in chain) == writes
    assert problems() == []


def test_concurrent_threads_never_fork_the_chain(store_url):
    assert problems() == []  # the store is opened (and migrated) once, before the race
    workers, projects = 6, 3
    barrier = threading.Barrier(workers)
    threads = [
        threading.Thread(target=_write_projects, args=(w, projects, barrier))
        for w in range(workers)
    ]
    for thread in threads:
        thread.start()
    # An audit while they write sees one consistent store: no false alarm.
    seen: list[str] = []
    while any(thread.is_alive() for thread in threads):
        seen += problems()
    for thread in threads:
        thread.join()
    assert seen == []
    _assert_one_chain(writes=workers * projects * 3)


def _process_worker(url: str, home: str, worker: int, barrier) -> None:
    import os

    from pmo.settings import get_settings

    os.environ["PMO_DATABASE_URL"], os.environ["PMO_HOME"] = url, home
    get_settings.cache_clear()
    _write_projects(worker, 2, barrier)


def test_concurrent_processes_never_fork_the_chain(store_url, pmo_home):
    with session_scope() as session:  # migrate once, before the processes race to do it
        assert session.scalar(select(func.count()).select_from(LEDGER)) == 0
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(4)
    processes = [
        context.Process(target=_process_worker, args=(store_url, str(pmo_home), w, barrier))
        for w in range(4)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
        assert process.exitcode == 0
    _assert_one_chain(writes=4 * 2 * 3)
