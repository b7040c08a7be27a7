"""Audit ledger benchmark: how fast entries are appended, how long verifying them takes.

Run by hand:
    python bench/ledger_verify.py                      # SQLite in a temporary folder
    python bench/ledger_verify.py --url postgresql://postgres@127.0.0.1:5432/bench
    python bench/ledger_verify.py --sizes 10000 50000 200000

The store grows to each size in turn through the application's own path (ORM writes,
the ledger's listeners): gate decisions inserted, and one in five edited in a later
commit. Appending is
measured two ways: many rows per commit, and one row per commit against the same commits
on a table the ledger does not audit (notifications). Verification is compared with
reading the same rows without hashing or comparing them, in the same process.
The PostgreSQL database must be empty or hold only a previous run of this benchmark: it
is emptied first.
"""

import argparse
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pmo.store.audited import AUDITED, audited_rows
from pmo.store.engine import engine_for, open_store
from pmo.store.ledger import LEDGER
from pmo.store.ledger_verify import verify_ledger
from pmo.store.models import Base, Gate, GateDecision, Notification, Project, StageRun, utcnow

BATCH = 2000  # rows per commit while the store grows
SINGLE = 500  # commits of one row each, for the per-commit cost


def decision(gate_id: int, n: int) -> GateDecision:
    return GateDecision(
        gate_id=gate_id,
        round=1,
        response_key=f"r{n}",
        approver_email=f"approver{n % 7}@example.com",
        roles="sponsor",
        decision="go",
        comment="Looks fine.",
        conditions="",
        accepted=True,
        channel="bench",
    )


def seed(sessions) -> tuple[int, int]:
    """A project with one gate, the parent of every decision; returns (project, gate)."""
    with sessions() as session, session.begin():
        project = Project(
            key="BENCH",
            name="Ledger benchmark",
            lifecycle="pmbok-waterfall",
            lifecycle_version="bench",
            lifecycle_definition={},
            tier="small",
            budget=1000,
            currency="USD",
            project_manager_email="pm@example.com",
            brief={},
        )
        session.add(project)
        session.flush()
        stage_run = StageRun(project_id=project.id, stage_key="s", stage_name="S")
        session.add(stage_run)
        session.flush()
        gate = Gate(stage_run_id=stage_run.id, project_id=project.id, gate_key="g", gate_name="G")
        session.add(gate)
        session.flush()
        return project.id, gate.id


def entry_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(LEDGER))


def grow(sessions, gate_id: int, made: int, target_entries: int) -> tuple[int, int, float]:
    """Add decisions, and edit one in five of them later, until the ledger holds
    `target_entries`; returns the decisions made, the entries appended and the seconds."""
    with sessions() as session:
        have = entry_count(session)
    start, appended = time.perf_counter(), 0
    while have + appended < target_entries:
        with sessions() as session, session.begin():
            rows = [decision(gate_id, made + i) for i in range(BATCH)]
            session.add_all(rows)
        with sessions() as session, session.begin():
            for row in rows[::5]:
                session.add(row)
                row.comment = "Looks fine, with one condition."
        made += BATCH
        appended += BATCH + BATCH // 5
    return made, appended, time.perf_counter() - start


def one_row_commits(sessions, project_id: int, gate_id: int, made: int) -> tuple[float, float]:
    """Seconds for SINGLE commits of one audited row, and of one unaudited row."""
    start = time.perf_counter()
    for i in range(SINGLE):
        with sessions() as session, session.begin():
            session.add(decision(gate_id, made + i))
    audited = time.perf_counter() - start
    start = time.perf_counter()
    for i in range(SINGLE):
        with sessions() as session, session.begin():
            session.add(
                Notification(
                    idempotency_key=f"bench-{made + i}",
                    project_id=project_id,
                    recipient="someone@example.com",
                    subject="Benchmark",
                    created_at=utcnow(),
                )
            )
    return audited, time.perf_counter() - start


def read_everything(session: Session) -> int:
    """What verifying must read, read without hashing or comparing: the baseline."""
    connection, rows = session.connection(), 0
    stream = connection.execution_options(yield_per=5000)
    for _ in stream.execute(select(LEDGER).order_by(LEDGER.c.seq)):
        rows += 1
    for name in AUDITED:
        for _ in stream.execute(audited_rows(name)):
            rows += 1
    return rows


def timed(function, *args):
    start = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - start


def empty(url: str) -> None:
    with engine_for(url).begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="store URL (default: SQLite in a temporary folder)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 50_000, 200_000])
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = options.url or f"sqlite:///{Path(folder) / 'bench.db'}"
        empty(url)
        sessions = open_store(url)
        print(f"store: {engine_for(url).dialect.name}")
        project_id, gate_id = seed(sessions)
        made = 0
        audited, plain = one_row_commits(sessions, project_id, gate_id, made)
        made += SINGLE
        print(
            f"one row per commit: {SINGLE / audited:7.0f} commits/s audited, "
            f"{SINGLE / plain:7.0f} commits/s unaudited ({audited / plain:.2f}x)"
        )
        for size in options.sizes:
            made, appended, seconds = grow(sessions, gate_id, made, size)
            with sessions() as session:
                entries = entry_count(session)
                rows, baseline = timed(read_everything, session)
                problems, verifying = timed(verify_ledger, session)
            assert problems == [], problems[:5]
            rate = f"{appended / seconds:7.0f} entries/s" if appended else "(no growth)"
            print(
                f"{entries:>7} entries: appended at {rate} ({BATCH} rows per commit); "
                f"verified in {verifying:5.2f} s, reading alone {baseline:5.2f} s "
                f"({rows} rows), ratio {verifying / baseline:.2f}"
            )


if __name__ == "__main__":
    main()
