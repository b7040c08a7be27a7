"""How long the PMO's audit takes on a large portfolio, and how it grows with the runs.

Run by hand: `python bench/audit_scale.py [--sizes 1000,5000,10000] [--postgres URL]`.
A Prefect server backed by PostgreSQL (a fresh database) and a store on PostgreSQL are
filled step by step up to each size with lifecycle runs like a project waiting at its plan
gate: two answered gate rounds, eight states in Prefect, two accepted answers with their
codes, the documents of both stages with their files, every store row on the audit ledger.

At each size it prints, in one process:
- baseline: paging every lifecycle run through Prefect's API (the least any audit reads);
- cold: the whole audit with no cached run histories (every run's states read);
- warm: the whole audit again, histories of unchanged runs taken from the cache;
and the warm audit's ratio to the baseline. The target: at most 30 s at 10,000 runs, and
a per-run cost that stays flat as the portfolio grows.

The Prefect history is written straight into the server's database with Prefect's own
table definitions, because creating 80,000 states through the API takes most of an hour
here; the audit then reads it through the API like any other history.
"""

import argparse
import asyncio
import os
import secrets
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
SPONSOR, PMO = "dana.reyes@example.com", "pmo@example.com"


def fresh_database(admin_url: str, name: str) -> str:
    admin = create_engine(
        make_url(admin_url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


class Portfolio:
    """Projects added to the store and to Prefect's history, numbered from 1."""

    def __init__(self, documents_dir: Path) -> None:
        from pmo.brief import EXAMPLE_BRIEF, load_brief
        from process_library.loader import load_lifecycle

        self.documents_dir = documents_dir
        self.example = load_brief(EXAMPLE_BRIEF).model_dump(mode="json")
        loaded = load_lifecycle("pmbok-waterfall")
        self.version = loaded.version
        self.lifecycle = loaded.lifecycle.tailored_for("medium")
        self.definition = self.lifecycle.model_dump(mode="json")
        self.size = 0
        self.flow_id: uuid.UUID | None = None

    def grow_to(self, size: int) -> None:
        batch = range(self.size + 1, size + 1)
        runs = {number: uuid.uuid4() for number in batch}
        start = datetime(2026, 1, 1, tzinfo=UTC)
        times = {number: start + timedelta(minutes=number) for number in batch}
        for chunk in _chunks(list(batch), 500):
            self._store_rows(chunk, runs, times)
        asyncio.run(self._prefect_rows(list(batch), runs, times))
        self.size = size

    def _store_rows(self, numbers: list[int], runs: dict, times: dict) -> None:
        from pmo.store import session_scope
        from pmo.store.models import (
            ApprovalCode,
            Gate,
            GateDecision,
            Project,
            StageRun,
        )

        initiation, planning = self.lifecycle.stages[0], self.lifecycle.stages[1]
        with session_scope() as session:
            for number in numbers:
                key, t0 = f"P{number:05d}", times[number]
                brief = {**self.example, "key": key}
                project = Project(
                    key=key,
                    name=f"Project {number}",
                    lifecycle=self.lifecycle.name,
                    lifecycle_version=self.version,
                    lifecycle_definition=self.definition,
                    tier="medium",
                    status="active",
                    current_stage=planning.key,
                    budget=brief["budget"],
                    currency=brief["currency"],
                    project_manager_email=brief["project_manager"]["email"],
                    brief=brief,
                    flow_run_id=str(runs[number]),
                    created_at=t0,
                )
                session.add(project)
                session.flush()
                first = StageRun(
                    project_id=project.id,
                    stage_key=initiation.key,
                    stage_name=initiation.name,
                    status="passed",
                    started_at=t0,
                    finished_at=t0 + timedelta(hours=2, seconds=30),
                )
                second = StageRun(
                    project_id=project.id,
                    stage_key=planning.key,
                    stage_name=planning.name,
                    status="at-gate",
                    started_at=t0 + timedelta(hours=2, seconds=31),
                )
                session.add_all([first, second])
                session.flush()
                charter = Gate(
                    stage_run_id=first.id,
                    project_id=project.id,
                    gate_key=initiation.gate.key,
                    gate_name=initiation.gate.name,
                    status="decided",
                    outcome="go",
                    flow_run_id=str(runs[number]),
                    opened_at=t0 + timedelta(minutes=1),
                    round_opened_at=t0 + timedelta(minutes=1),
                    decided_at=t0 + timedelta(hours=2, seconds=30),
                )
                plan = Gate(
                    stage_run_id=second.id,
                    project_id=project.id,
                    gate_key=planning.gate.key,
                    gate_name=planning.gate.name,
                    flow_run_id=str(runs[number]),
                    opened_at=t0 + timedelta(hours=2, minutes=1),
                    round_opened_at=t0 + timedelta(hours=2, minutes=1),
                )
                session.add_all([charter, plan])
                session.flush()
                for hour, (who, role) in enumerate([(SPONSOR, "sponsor"), (PMO, "pmo")], 1):
                    answered = t0 + timedelta(hours=hour, seconds=30)
                    session.add(
                        ApprovalCode(
                            gate_id=charter.id,
                            round=1,
                            approver_email=who,
                            code_hash=secrets.token_hex(32),
                            issued_at=t0 + timedelta(minutes=1),
                            used_at=answered,
                        )
                    )
                    session.add(
                        GateDecision(
                            gate_id=charter.id,
                            round=1,
                            response_key=f"initiation-1-1-{hour}",
                            approver_email=who,
                            roles=role,
                            decision="go",
                            comment="Reviewed.",
                            accepted=True,
                            channel="prefect",
                            flow_run_id=str(runs[number]),
                            received_at=answered,
                        )
                    )
                # Each stage writes its documents before its gate opens.
                for stage, stage_run in ((initiation, first), (planning, second)):
                    for document in stage.documents:
                        session.add(self._document(project, stage_run, key, document.key, t0))

    def _document(self, project, stage_run, key: str, document_key: str, at: datetime):
        import hashlib

        from pmo.store.models import DocumentRecord

        folder = self.documents_dir / key
        folder.mkdir(parents=True, exist_ok=True)
        paths = {}
        for suffix in (".docx", ".md"):
            path = folder / f"{key}-{document_key}-v1{suffix}"
            content = secrets.token_bytes(2048)
            path.write_bytes(content)
            paths[suffix] = (path, hashlib.sha256(content).hexdigest())
        return DocumentRecord(
            project_id=project.id,
            stage_run_id=stage_run.id,
            idempotency_key=f"{key}/{stage_run.stage_key}/1/{document_key}",
            document_key=document_key,
            title=document_key.replace("-", " ").capitalize(),
            version=1,
            markdown_path=str(paths[".md"][0]),
            docx_path=str(paths[".docx"][0]),
            sha256=paths[".docx"][1],
            markdown_sha256=paths[".md"][1],
            artifact_key=f"{key.lower()}-{document_key}",
            created_at=at,
        )

    async def _prefect_rows(self, numbers: list[int], runs: dict, times: dict) -> None:
        from prefect.server.database import provide_database_interface
        from prefect.server.schemas.core import FlowRunPolicy
        from prefect.server.schemas.states import StateDetails, StateType
        from sqlalchemy import insert, update

        db = provide_database_interface()
        # Running, then at each gate round: Suspended, Resuming, Running; waiting at the
        # plan gate at the end. Answers were recorded 30 s after each resume.
        shape = [
            (0, StateType.RUNNING, "Running"),
            (1, StateType.PAUSED, "Suspended"),
            (60, StateType.SCHEDULED, "Resuming"),
            (60.1, StateType.RUNNING, "Running"),
            (61, StateType.PAUSED, "Suspended"),
            (120, StateType.SCHEDULED, "Resuming"),
            (120.1, StateType.RUNNING, "Running"),
            (121, StateType.PAUSED, "Suspended"),
        ]
        async with db.session_context(begin_transaction=True) as session:
            if self.flow_id is None:
                self.flow_id = uuid.uuid4()
                await session.execute(
                    insert(db.Flow).values(id=self.flow_id, name="project-lifecycle")
                )
            for chunk in _chunks(numbers, 1000):
                run_rows, state_rows, current = [], [], []
                for number in chunk:
                    key, t0 = f"P{number:05d}", times[number]
                    states = [
                        {
                            "id": uuid.uuid4(),
                            "flow_run_id": runs[number],
                            "type": kind,
                            "name": name,
                            "timestamp": t0 + timedelta(minutes=minutes),
                            "message": "",
                            "state_details": StateDetails(
                                pause_reschedule=kind == StateType.PAUSED
                            ),
                        }
                        for minutes, kind, name in shape
                    ]
                    last = states[-1]
                    run_rows.append(
                        {
                            "id": runs[number],
                            "flow_id": self.flow_id,
                            "name": f"{key} · pmbok-waterfall",
                            "tags": [f"project:{key}", "lifecycle:pmbok-waterfall"],
                            "parameters": {"brief": {"key": key}},
                            "empirical_policy": FlowRunPolicy(),
                            "state_type": last["type"],
                            "state_name": last["name"],
                            "state_timestamp": last["timestamp"],
                            "expected_start_time": t0,
                            "start_time": t0,
                            "run_count": 1,
                        }
                    )
                    state_rows += states
                    current.append({"run": runs[number], "state": last["id"]})
                await session.execute(insert(db.FlowRun), run_rows)
                await session.execute(insert(db.FlowRunState), state_rows)
                for row in current:
                    await session.execute(
                        update(db.FlowRun)
                        .where(db.FlowRun.id == row["run"])
                        .values(state_id=row["state"])
                    )


def _chunks(items: list, size: int) -> list[list]:
    return [items[start : start + size] for start in range(0, len(items), size)]


def page_runs_only() -> int:
    """The baseline: every lifecycle run, paged through Prefect's API, nothing else."""
    from pmo.audit.run_history import RunSelection, _page_runs

    async def page() -> int:
        from prefect.client.orchestration import get_client

        async with get_client() as client:
            return len(await _page_runs(client, RunSelection()))

    return asyncio.run(page())


def timed(call):
    started = time.perf_counter()
    result = call()
    return time.perf_counter() - started, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,5000,10000")
    parser.add_argument("--postgres", default=os.environ.get("PMO_TEST_POSTGRES_URL", POSTGRES))
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    home = Path(tempfile.mkdtemp(prefix="pmo-audit-bench-"))
    prefect_url = make_url(fresh_database(args.postgres, "pmo_bench_prefect")).set(
        drivername="postgresql+asyncpg"
    )
    prefect_db = prefect_url.render_as_string(hide_password=False)
    os.environ["PMO_HOME"] = str(home)
    os.environ["PMO_DATABASE_URL"] = fresh_database(args.postgres, "pmo_bench_store")
    os.environ["PREFECT_SERVER_DATABASE_CONNECTION_URL"] = prefect_db

    from prefect.settings import PREFECT_API_URL, temporary_settings

    from pmo.audit.portfolio import audit_portfolio
    from pmo.audit.run_history import RunSelection
    from pmo.runtime.server import local_prefect_server

    cache = home / "audit" / "run-states.json"
    portfolio = Portfolio(home / "documents")
    print(f"audit of N lifecycle runs; Prefect server and store on PostgreSQL ({home})")
    print(f"{'runs':>6} {'build s':>8} {'baseline s':>11} {'cold s':>7} {'warm s':>7} "
          f"{'warm ms/run':>12} {'warm/baseline':>14} {'findings':>9}")  # fmt: skip
    server = local_prefect_server(home / "prefect", ui=False, database_url=prefect_db)
    with server as api, temporary_settings(updates={PREFECT_API_URL: api}):
        for size in sizes:
            build, _ = timed(lambda: portfolio.grow_to(size))  # noqa: B023
            baseline, listed = timed(page_runs_only)
            cache.unlink(missing_ok=True)
            cold, audit = timed(lambda: audit_portfolio(RunSelection(), cache_file=cache))
            warm, audit = timed(lambda: audit_portfolio(RunSelection(), cache_file=cache))
            assert listed == audit.runs_read == size, (listed, audit.runs_read, size)
            assert not audit.tampered, audit.ledger_problems[:3]
            print(
                f"{size:>6} {build:>8.1f} {baseline:>11.2f} {cold:>7.2f} {warm:>7.2f} "
                f"{warm / size * 1000:>12.2f} {warm / baseline:>13.1f}x "
                f"{len(audit.findings):>9}"
            )
    print("target: warm and cold <= 30 s at 10,000 runs; ms/run flat as N grows")


if __name__ == "__main__":
    main()
