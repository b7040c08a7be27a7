"""The audit ledger: every committed write to an audited row, chained by hashes.

Listeners on every `Session` note each audited row (`pmo.store.audited`) a transaction
inserts, changes or deletes, through the unit of work or an ORM `insert()`, `update()` or
`delete()` statement. Just before the transaction commits, those rows are read back as
stored and one entry per row is appended to `audit_ledger` in the same transaction: no
code path can forget, and a rollback leaves no entry behind. Writes in plain SQL, outside
the ORM, are not noted; `pmo.store.ledger_verify` reports the rows they touched.

Appends are serialised: on PostgreSQL by a transaction-level advisory lock taken before
the ledger's head is read, held only from then to the commit; on SQLite by the database's
single write lock, which the transaction already holds once it has written the audited
row. `seq` is the primary key and `prev_hash` unique, so even a bug here could not fork
the chain silently.
"""

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, NamedTuple

from sqlalchemy import Connection, Select, Table, event, func, insert, select
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction, object_mapper
from sqlalchemy.orm.attributes import instance_state
from sqlalchemy.orm.exc import UnmappedInstanceError

from pmo.store.audited import (
    AUDITED,
    TABLE_ORDER,
    TABLES,
    audited_rows,
    audited_table,
    canonical_payload,
    canonical_value,
    row_payload,
)
from pmo.store.models import LedgerEntry, utcnow

Action = Literal["insert", "update", "delete"]

GENESIS = "0" * 64  # the previous hash of the first entry
# Any fixed number would do, as long as every writer takes the same lock.
ADVISORY_LOCK_KEY = 0x706D6F6C65646772  # "pmoledgr", within a signed 64-bit bigint
BATCH = 500  # rows read back per query
LEDGER: Table = LedgerEntry.__table__  # type: ignore[assignment]


class LedgerHead(NamedTuple):
    """The last entry of the ledger; an audit keeps it to check the ledger's end later."""

    seq: int
    hash: str


def entry_hash(
    *,
    seq: int,
    prev_hash: str,
    project_key: str | None,
    table_name: str,
    row_id: int,
    action: str,
    recorded_at: datetime,
    payload: str,
) -> str:
    """The hash that binds an entry's content to its place in the chain."""
    # Fields joined by a unit separator: none can hold one (JSON escapes it in the payload).
    moment = canonical_value(recorded_at)
    fields = (str(seq), prev_hash, project_key or "", table_name, str(row_id), action, moment)
    return hashlib.sha256("\x1f".join((*fields, payload)).encode()).hexdigest()


def ledger_head(session_or_connection: Session | Connection) -> LedgerHead | None:
    """The last entry's seq and hash, or None for an empty ledger."""
    row = session_or_connection.execute(
        select(LEDGER.c.seq, LEDGER.c.hash).order_by(LEDGER.c.seq.desc()).limit(1)
    ).first()
    return LedgerHead(row.seq, row.hash) if row else None


def _batches(ids: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), BATCH):
        yield ids[start : start + BATCH]


def _read_back(connection: Connection, table_name: str, ids: list[int]) -> dict[int, Any]:
    return {
        row.id: row
        for batch in _batches(sorted(ids))
        for row in connection.execute(audited_rows(table_name, batch))
    }


def _project_key_of_deleted(connection: Connection, table_name: str, payload: dict) -> str | None:
    spec = AUDITED[table_name]
    if spec.parent is None:
        return payload.get("key")
    column, parent_name = spec.parent
    if payload.get(column) is None:
        return None
    rows = _read_back(connection, parent_name, [payload[column]])
    return next((row.project_key for row in rows.values()), None)


# ---- noting the rows a transaction writes ----


@dataclass
class _Noted:
    inserted: bool = False
    deleted_payload: dict[str, Any] | None = None  # the row as it was, if it was deleted


def _noted(session: Session) -> dict[tuple[str, int], _Noted]:
    return session.info.setdefault("pmo_ledger_noted", {})


def _audited_table(instance: object) -> str | None:
    try:
        return audited_table(object_mapper(instance).local_table)
    except UnmappedInstanceError:
        return None


def _row_id(instance: object) -> int:
    state = instance_state(instance)
    return state.identity[0] if state.identity else state.dict["id"]


@event.listens_for(Session, "after_flush")
def _note_flushed_rows(session: Session, _context: UOWTransaction) -> None:
    # new/dirty/deleted and attribute history still describe this flush here.
    noted = _noted(session)
    for instance in session.new:
        if name := _audited_table(instance):
            noted.setdefault((name, _row_id(instance)), _Noted()).inserted = True
    for instance in session.dirty:
        if (name := _audited_table(instance)) and _audited_change(instance, name):
            noted.setdefault((name, _row_id(instance)), _Noted())
    for instance in session.deleted:
        if name := _audited_table(instance):
            state = instance_state(instance).dict
            payload = {c: state.get(c) for c in AUDITED[name].columns}
            noted.setdefault((name, _row_id(instance)), _Noted()).deleted_payload = payload
    if session.info.get("pmo_ledger_committing"):
        # Flushed by another before_commit hook after ours: append now or never.
        _append_noted(session)


def _audited_change(instance: object, name: str) -> bool:
    attributes = instance_state(instance).attrs
    return any(attributes[c].history.has_changes() for c in AUDITED[name].columns)


@event.listens_for(Session, "do_orm_execute")
def _note_statement_rows(state: ORMExecuteState) -> Any:
    # ORM insert()/update()/delete() statements bypass the flush; note their rows too.
    if not (state.is_insert or state.is_update or state.is_delete) or state.bind_mapper is None:
        return None
    name = audited_table(state.bind_mapper.local_table)
    if name is None:
        return None
    table = TABLES[name]
    connection = state.session.connection()
    noted = _noted(state.session)
    if state.is_insert:
        # Rows above the highest id are ours, bar another writer's committing meanwhile,
        # which at worst puts that row on the ledger twice with the same content.
        before = connection.scalar(select(func.max(table.c.id))) or 0
        result = state.invoke_statement()
        after = connection.scalars(select(table.c.id).where(table.c.id > before))
        for row_id in after:
            noted.setdefault((name, row_id), _Noted()).inserted = True
        return result
    statement = state.statement
    where = getattr(statement, "whereclause", None)
    if where is not None:
        # FOR UPDATE: no other writer changes the rows between this read and the statement.
        ids = select(table.c.id).where(where).with_for_update()
        rows_before = _read_all(connection, name, ids)
    else:  # bulk UPDATE by primary key: one parameter set per row
        parameters = state.parameters
        ids = [p["id"] for p in parameters] if isinstance(parameters, list) else []
        rows_before = _read_back(connection, name, ids)
    result = state.invoke_statement()
    rows_after = _read_back(connection, name, list(rows_before))
    columns = AUDITED[name].columns
    for row_id, row in rows_before.items():
        if row_id not in rows_after:
            payload = {c: row._mapping[c] for c in columns}
            noted.setdefault((name, row_id), _Noted()).deleted_payload = payload
        elif row_payload(name, row[1:-1]) != row_payload(name, rows_after[row_id][1:-1]):
            noted.setdefault((name, row_id), _Noted())
    return result


def _read_all(connection: Connection, name: str, ids_query: Select[Any]) -> dict[int, Any]:
    return _read_back(connection, name, list(connection.scalars(ids_query)))


@event.listens_for(Session, "before_commit")
def _append_before_commit(session: Session) -> None:
    # Commit would flush what is still pending after this hook: flush it now, so that it
    # is noted and on the ledger too. (Other applications' sessions are left alone.)
    if any(map(_audited_table, (*session.new, *session.dirty, *session.deleted))):
        session.flush()
    session.info["pmo_ledger_committing"] = True
    _append_noted(session)


def _append_noted(session: Session) -> None:
    noted = session.info.pop("pmo_ledger_noted", {})
    if noted:
        _append_entries(session.connection(), noted)


@event.listens_for(Session, "after_transaction_end")
def _forget_noted_rows(session: Session, transaction: Any) -> None:
    session.info.pop("pmo_ledger_committing", None)
    # A rolled-back transaction leaves nothing to append.
    if transaction.parent is None:
        session.info.pop("pmo_ledger_noted", None)


# ---- appending ----


def _lock_ledger(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(select(func.pg_advisory_xact_lock(ADVISORY_LOCK_KEY)))


def _append_entries(connection: Connection, noted: Mapping[tuple[str, int], _Noted]) -> None:
    """Append one entry per noted row, as the row now stands in this transaction."""
    by_table: dict[str, list[int]] = {}
    for name, row_id in noted:
        by_table.setdefault(name, []).append(row_id)
    pending: list[dict[str, Any]] = []
    for name in sorted(by_table, key=TABLE_ORDER.__getitem__):
        columns = AUDITED[name].columns
        current = _read_back(connection, name, by_table[name])
        for row_id in sorted(by_table[name]):
            note, row = noted[(name, row_id)], current.get(row_id)
            if row is not None:
                action: Action = "insert" if note.inserted else "update"
                payload = row_payload(name, row[1:-1])
                key = row.project_key
            elif note.deleted_payload is not None and not note.inserted:
                action = "delete"
                payload = canonical_payload(note.deleted_payload, columns)
                key = _project_key_of_deleted(connection, name, note.deleted_payload)
            else:  # inserted and removed again, or rolled back to a savepoint: never was
                continue
            pending.append(
                {
                    "project_key": key,
                    "table_name": name,
                    "row_id": row_id,
                    "action": action,
                    "payload": payload,
                }
            )
    if not pending:
        return
    _lock_ledger(connection)
    head = ledger_head(connection)
    seq, prev_hash = (head.seq, head.hash) if head else (0, GENESIS)
    recorded_at = utcnow()
    for entry in pending:
        seq += 1
        entry.update(seq=seq, prev_hash=prev_hash, recorded_at=recorded_at)
        entry["hash"] = prev_hash = entry_hash(**entry)
    connection.execute(insert(LEDGER), pending)
