"""Check the audit ledger: is the chain whole, and do the audited rows still match it?

Reads everything in streamed batches of plain rows (no ORM objects), so a ledger of
200,000 entries is checked in seconds. Each problem is one line an auditor can act on.
"""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from pmo.store.audited import (
    AUDITED,
    TABLE_ORDER,
    TABLES,
    audited_rows,
    raw_column,
    row_payload,
)
from pmo.store.ledger import GENESIS, LEDGER, LedgerHead, entry_hash

STREAM = {"yield_per": 5000}
# What a migration that added an audited column gave the rows already there: its server default.
_MIGRATED = {
    name: {c.name: str(c.server_default.arg) for c in table.columns if c.server_default is not None}
    for name, table in TABLES.items()
}

ProblemKind = Literal[
    "entry-edited",  # a ledger entry's content no longer matches its hash
    "entry-missing",  # seq numbers skipped: entries deleted
    "chain-broken",  # an entry does not follow the one before it
    "head-missing",  # the head recorded at an earlier audit is gone or different
    "row-edited",  # an audited row differs from its last snapshot on the ledger
    "row-deleted",  # an audited row on the ledger is gone from its table
    "row-unrecorded",  # an audited row is in its table but was never on the ledger
]


@dataclass(frozen=True)
class LedgerProblem:
    kind: ProblemKind
    message: str  # one line, in an auditor's words
    seq: int | None = None
    table: str | None = None
    row_id: int | None = None
    project_key: str | None = None

    def __str__(self) -> str:
        return self.message


# The latest ledger entry of one audited row: (seq, project key, action, payload, intact).
_Snapshot = tuple[int, str | None, str, str, bool]
Snapshots = dict[str, dict[int, _Snapshot]]  # table -> row id -> its latest entry

# The ledger's columns in the order _check_chain unpacks them.
ENTRY_FIELDS = (
    "seq",
    "prev_hash",
    "project_key",
    "table_name",
    "row_id",
    "action",
    "recorded_at",
    "payload",
    "hash",
)


def verify_ledger(session: Session, *, head: LedgerHead | None = None) -> list[LedgerProblem]:
    """Every problem with the ledger and the audited rows; empty when all is in order.

    `head` is a head recorded at an earlier audit: the chain must still contain it, which
    catches entries removed from the end of the ledger. What is checked is the store as
    committed when the check starts, whatever is written meanwhile.
    """
    with _one_instant(session) as connection:
        problems, snapshots = _check_chain(connection)
        if head is not None and (problem := check_head(connection, head)) is not None:
            problems.append(problem)
        for name in sorted(AUDITED, key=TABLE_ORDER.__getitem__):
            problems.extend(_check_rows(connection, name, snapshots[name]))
    return problems


def check_head(session: Session | Connection, head: LedgerHead) -> LedgerProblem | None:
    """None if the entry `head` names is still on the ledger, unchanged."""
    stored = session.scalar(select(LEDGER.c.hash).where(LEDGER.c.seq == head.seq))
    if stored == head.hash:
        return None
    what = "is gone: entries were removed" if stored is None else "was replaced"
    return LedgerProblem(
        "head-missing",
        f"ledger entry {head.seq}, the last one at the previous audit, {what}",
        seq=head.seq,
    )


@contextmanager
def _one_instant(session: Session) -> Iterator[Connection]:
    """A connection of its own whose reads all see the store as of one instant.

    Otherwise a writer committing between reading the ledger and reading a table would
    show its new row as "not on the ledger". PostgreSQL's READ COMMITTED takes a snapshot
    per statement, so ask for REPEATABLE READ; pysqlite begins no transaction for reads, so
    begin one: in WAL mode it keeps its snapshot until it ends.
    """
    engine = session.get_bind()
    if engine.url.get_backend_name() == "sqlite" and engine.url.database in (None, "", ":memory:"):
        # One connection per thread holds an in-memory database: nobody else can write it.
        yield session.connection()
        return
    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection.execution_options(isolation_level="REPEATABLE READ")
        elif connection.dialect.name == "sqlite":
            connection.exec_driver_sql("BEGIN")
        try:
            yield connection
        finally:
            connection.rollback()


def _place(table: str, row_id: int, project_key: str | None) -> str:
    spec = AUDITED.get(table)
    if spec is None:
        return f"{table} row {row_id}" + (f" of project {project_key}" if project_key else "")
    if spec.parent is None:  # the project itself
        return f"{spec.label} {project_key or '?'} (row {row_id})"
    return f"{spec.label} {row_id}" + (f" of project {project_key}" if project_key else "")


def _check_chain(connection: Connection) -> tuple[list[LedgerProblem], Snapshots]:
    # Rows are unpacked as tuples and hashed in one tight loop: this is the 200,000 entries.
    problems: list[LedgerProblem] = []
    snapshots: Snapshots = {name: {} for name in AUDITED}
    expected, previous = 1, GENESIS
    query = select(*(raw_column(LEDGER.c[name]) for name in ENTRY_FIELDS)).order_by(LEDGER.c.seq)
    for partition in connection.execution_options(**STREAM).execute(query).partitions():
        for seq, prev_hash, key, table, row_id, action, recorded_at, payload, stored in partition:
            if seq != expected:
                gap = (
                    f"ledger entry {expected} is missing"
                    if seq == expected + 1
                    else f"ledger entries {expected} to {seq - 1} are missing"
                )
                problems.append(
                    LedgerProblem("entry-missing", f"{gap}: deleted from the ledger", seq=expected)
                )
            elif prev_hash != previous:
                problems.append(
                    LedgerProblem(
                        "chain-broken",
                        f"ledger entry {seq} ({_place(table, row_id, key)}) does not follow "
                        f"entry {seq - 1}: the ledger was rewritten from there",
                        seq,
                        table,
                        row_id,
                        key,
                    )
                )
            intact = stored == entry_hash(
                seq=seq,
                prev_hash=prev_hash,
                project_key=key,
                table_name=table,
                row_id=row_id,
                action=action,
                recorded_at=recorded_at,
                payload=payload,
            )
            if not intact:
                problems.append(
                    LedgerProblem(
                        "entry-edited",
                        f"ledger entry {seq} ({_place(table, row_id, key)}) was edited after "
                        "it was written: its content no longer matches its hash",
                        seq,
                        table,
                        row_id,
                        key,
                    )
                )
            rows = snapshots.get(table)
            if rows is None:
                rows = snapshots[table] = {}
            rows[row_id] = (seq, key, action, payload, intact)
            expected, previous = seq + 1, stored
    return problems, snapshots


def _check_rows(
    connection: Connection, name: str, snapshots: dict[int, _Snapshot]
) -> list[LedgerProblem]:
    """Compare each row of an audited table with its latest snapshot; `snapshots` is used up."""
    problems: list[LedgerProblem] = []
    for partition in (
        connection.execution_options(**STREAM).execute(audited_rows(name)).partitions()
    ):
        for row in partition:
            row_id, key = row[0], row[-1]
            snapshot = snapshots.pop(row_id, None)
            if snapshot is None or snapshot[2] == "delete":
                why = (
                    "is not on the ledger"
                    if snapshot is None
                    else f"is back in its table after ledger entry {snapshot[0]} recorded "
                    "its deletion"
                )
                problems.append(
                    LedgerProblem(
                        "row-unrecorded",
                        f"{_place(name, row_id, key)} {why}: it was written outside the "
                        "application",
                        None,
                        name,
                        row_id,
                        key,
                    )
                )
                continue
            seq, _, _, recorded, intact = snapshot
            if not intact:
                continue  # its entry was edited, already reported; nothing to compare with
            payload = row_payload(name, row[1:-1])
            if payload != recorded and (changes := _changes(name, recorded, payload)):
                problems.append(
                    LedgerProblem(
                        "row-edited",
                        f"{_place(name, row_id, key)} was edited after ledger entry {seq}: "
                        f"{changes}",
                        seq,
                        name,
                        row_id,
                        key,
                    )
                )
    for row_id, (seq, key, action, _, _) in sorted(snapshots.items()):
        if action != "delete":
            problems.append(
                LedgerProblem(
                    "row-deleted",
                    f"{_place(name, row_id, key)} was deleted; ledger entry {seq} is its last "
                    "record",
                    seq,
                    name,
                    row_id,
                    key,
                )
            )
    return problems


def _changes(table: str, recorded_payload: str, current_payload: str) -> str:
    """Which columns differ, old → new; "" if none does.

    A column dropped from `AUDITED` after a row's last entry is not a change to that row,
    and neither is one added since, as long as the row holds what the migration that added
    it gave existing rows (nothing, or the column's server default): any other value there
    came from outside the application. The snapshot itself is covered by its entry's hash,
    so no one can hide a column from this comparison unnoticed.
    """
    try:
        recorded = json.loads(recorded_payload)
    except ValueError:
        recorded = None
    if not isinstance(recorded, dict):  # an entry rewritten with a fresh hash
        return "its ledger snapshot is not readable"
    current = json.loads(current_payload)
    changed = [
        f"{column} {recorded[column]!r} → {current[column]!r}"
        for column in sorted(current.keys() & recorded.keys())
        if recorded[column] != current[column]
    ]
    added = [
        f"{column} (added to the audit later, never recorded) → {current[column]!r}"
        for column in sorted(current.keys() - recorded.keys())
        if current[column] is not None and str(current[column]) != _MIGRATED[table].get(column)
    ]
    return ", ".join(changed + added)
