"""Check the audit ledger: is the chain whole, and do the audited rows still match it?

Reads everything in streamed batches of plain rows (no ORM objects), so a ledger of
200,000 entries is checked in seconds. Each problem is one line an auditor can act on.
"""

import json
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from pmo.store.audited import AUDITED, TABLE_ORDER, audited_rows, canonical_payload
from pmo.store.ledger import GENESIS, LEDGER, LedgerHead, entry_hash

STREAM = {"yield_per": 5000}

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


@dataclass
class _Snapshot:
    """The latest ledger entry of one audited row."""

    seq: int
    project_key: str | None
    action: str
    payload: str
    intact: bool


def verify_ledger(session: Session, *, head: LedgerHead | None = None) -> list[LedgerProblem]:
    """Every problem with the ledger and the audited rows; empty when all is in order.

    `head` is a head recorded at an earlier audit: the chain must still contain it, which
    catches entries removed from the end of the ledger.
    """
    connection = session.connection()
    problems, snapshots = _check_chain(connection)
    if head is not None and (problem := check_head(session, head)) is not None:
        problems.append(problem)
    for name in sorted(AUDITED, key=TABLE_ORDER.__getitem__):
        problems.extend(_check_rows(connection, name, snapshots.get(name, {})))
    return problems


def check_head(session: Session, head: LedgerHead) -> LedgerProblem | None:
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


def _entry_place(entry: Any) -> str:
    label = AUDITED[entry.table_name].label if entry.table_name in AUDITED else entry.table_name
    project = f" of project {entry.project_key}" if entry.project_key else ""
    return f"{label} {entry.row_id}{project}"


Snapshots = dict[str, dict[int, _Snapshot]]  # table -> row id -> its latest entry


def _check_chain(connection: Connection) -> tuple[list[LedgerProblem], Snapshots]:
    problems: list[LedgerProblem] = []
    snapshots: Snapshots = {}
    expected_seq, prev_hash = 1, GENESIS
    query = select(LEDGER).order_by(LEDGER.c.seq)
    for entry in connection.execution_options(**STREAM).execute(query):
        if entry.seq != expected_seq:
            gap = (
                f"ledger entry {expected_seq} is missing"
                if entry.seq == expected_seq + 1
                else f"ledger entries {expected_seq} to {entry.seq - 1} are missing"
            )
            problems.append(
                LedgerProblem("entry-missing", f"{gap}: deleted from the ledger", seq=expected_seq)
            )
        elif entry.prev_hash != prev_hash:
            problems.append(
                LedgerProblem(
                    "chain-broken",
                    f"ledger entry {entry.seq} ({_entry_place(entry)}) does not follow entry "
                    f"{entry.seq - 1}: the ledger was rewritten from there",
                    seq=entry.seq,
                    table=entry.table_name,
                    row_id=entry.row_id,
                    project_key=entry.project_key,
                )
            )
        intact = entry.hash == entry_hash(
            seq=entry.seq,
            prev_hash=entry.prev_hash,
            project_key=entry.project_key,
            table_name=entry.table_name,
            row_id=entry.row_id,
            action=entry.action,
            recorded_at=entry.recorded_at,
            payload=entry.payload,
        )
        if not intact:
            problems.append(
                LedgerProblem(
                    "entry-edited",
                    f"ledger entry {entry.seq} ({_entry_place(entry)}) was edited after it was "
                    "written: its content no longer matches its hash",
                    seq=entry.seq,
                    table=entry.table_name,
                    row_id=entry.row_id,
                    project_key=entry.project_key,
                )
            )
        snapshots.setdefault(entry.table_name, {})[entry.row_id] = _Snapshot(
            entry.seq, entry.project_key, entry.action, entry.payload, intact
        )
        expected_seq, prev_hash = entry.seq + 1, entry.hash
    return problems, snapshots


def _check_rows(
    connection: Connection, name: str, snapshots: dict[int, _Snapshot]
) -> list[LedgerProblem]:
    spec = AUDITED[name]
    problems: list[LedgerProblem] = []
    seen: set[int] = set()
    for row in connection.execution_options(**STREAM).execute(audited_rows(name)):
        seen.add(row.id)
        place = f"{spec.label} {row.id}" + (
            f" of project {row.project_key}" if row.project_key else ""
        )
        snapshot = snapshots.get(row.id)
        found = {"table": name, "row_id": row.id, "project_key": row.project_key}
        if snapshot is None or snapshot.action == "delete":
            why = (
                "is not on the ledger"
                if snapshot is None
                else f"is back in its table after ledger entry {snapshot.seq} recorded its deletion"
            )
            problems.append(
                LedgerProblem(
                    "row-unrecorded",
                    f"{place} {why}: it was written outside the application",
                    **found,
                )
            )
            continue
        if not snapshot.intact:
            continue  # its entry was edited, already reported; nothing trustworthy to compare
        payload = canonical_payload(row._mapping, spec.columns)
        if payload != snapshot.payload:
            changes = _changes(json.loads(snapshot.payload), json.loads(payload))
            problems.append(
                LedgerProblem(
                    "row-edited",
                    f"{place} was edited after ledger entry {snapshot.seq}: {changes}",
                    seq=snapshot.seq,
                    **found,
                )
            )
    for row_id, snapshot in snapshots.items():
        if row_id not in seen and snapshot.action != "delete":
            project = f" of project {snapshot.project_key}" if snapshot.project_key else ""
            problems.append(
                LedgerProblem(
                    "row-deleted",
                    f"{spec.label} {row_id}{project} was deleted; ledger entry {snapshot.seq} "
                    "is its last record",
                    seq=snapshot.seq,
                    table=name,
                    row_id=row_id,
                    project_key=snapshot.project_key,
                )
            )
    return problems


def _changes(recorded: dict[str, Any], current: dict[str, Any]) -> str:
    return ", ".join(
        f"{column} {recorded.get(column)!r} → {current.get(column)!r}"
        for column in sorted(current.keys() | recorded.keys())
        if recorded.get(column) != current.get(column)
    )
