"""How long the PMO's audit takes on a large portfolio, and how it grows with the runs.

Run by hand: `python bench/audit_scale.py [--sizes 1000,5000,10000] [--postgres URL]`.
A Prefect server and a store on PostgreSQL (`pmo_bench_audit_prefect`, `pmo_bench_audit_store`,
dropped and created afresh; not the scale-out bench's databases) are
filled step by step up to each size with lifecycle runs like a project waiting at its plan
gate: two answered gate rounds, eight states in Prefect, two accepted answers with their
codes, the documents of both stages with their files, every store row on the audit ledger.

The run-state recorder that `pmo up` runs is stood in for by recording every state into the
store as it would have (`record_run_states`, source "event", so each is on the ledger too).

At each size it prints, in one process:
- baseline: reading the same rows alone: paging every lifecycle run through Prefect's API
  and reading the recorded states from the store (the least any audit reads);
- first: the whole audit, no earlier audit's ledger head, every history in the store;
- daily: a day later, a tenth of the runs having moved through a gate round (three states
  each, recorded) and a hundredth having moved while the recorder was down (asked for);
- (history): the part of each audit spent reading the run histories;
and each audit's ratio to the baseline. The target: at most 5 s for both at 10,000 runs.

The Prefect history is written straight into the server's database with Prefect's own
table definitions, because creating 80,000 states through the API takes most of an hour
here; the audit then pages the runs through the API like any other.
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

from scratch_databases import fresh_database
from sqlalchemy.engine import make_url

POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
SPONSOR, PMO = "dana.reyes@example.com", "pmo@example.com"


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
        self.runs: dict[int, uuid.UUID] = {}

    def grow_to(self, size: int) -> None:
        batch = range(self.size + 1, size + 1)
        runs = {number: uuid.uuid4() for number in batch}
        start = datetime(2026, 1, 1, tzinfo=UTC)
        times = {number: start + timedelta(minutes=number) for number in batch}
        for chunk in _chunks(list(batch), 500):
            self._store_rows(chunk, runs, times)
        states = asyncio.run(self._prefect_rows(list(batch), runs, times))
        record(states)
        self.runs.update(runs)
        self.size = size

    def move(self, numbers: list[int], *, recorded: bool) -> None:
        """A day later, these runs went through another gate round: Resuming, Running,
        Suspended; the recorder saw it, or was down and did not."""
        states = asyncio.run(self._next_round(numbers))
        if recorded:
            record(states)

    async def _next_round(self, numbers: list[int]) -> list:
        from prefect.server.database import provide_database_interface
        from prefect.server.schemas.states import StateDetails, StateType
        from sqlalchemy import insert, update

        db = provide_database_interface()
        day = datetime.now(UTC) - timedelta(hours=1)
        shape = [
            (0, StateType.SCHEDULED, "Resuming"),
            (0.1, StateType.RUNNING, "Running"),
            (1, StateType.PAUSED, "Suspended"),
        ]
        seen = []
        async with db.session_context(begin_transaction=True) as session:
            rows = []
            for number in numbers:
                states = [
                    {
                        "id": uuid.uuid4(),
                        "flow_run_id": self.runs[number],
                        "type": kind,
                        "name": name,
                        "timestamp": day + timedelta(minutes=minutes + number / 1000),
                        "message": "",
                        "state_details": StateDetails(pause_reschedule=kind == StateType.PAUSED),
                    }
                    for minutes, kind, name in shape
                ]
                rows += states
                seen += [_seen(state, f"P{number:05d}") for state in states]
            await session.execute(insert(db.FlowRunState), rows)
            for last in rows[2::3]:
                await session.execute(
                    update(db.FlowRun)
                    .where(db.FlowRun.id == last["flow_run_id"])
                    .values(
                        state_id=last["id"],
                        state_type=last["type"],
                        state_name=last["name"],
                        state_timestamp=last["timestamp"],
                    )
                )
        return seen

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

    async def _prefect_rows(self, numbers: list[int], runs: dict, times: dict) -> list:
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
        seen = []
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
                            "created": t0,
                            "run_count": 1,
                        }
                    )
                    state_rows += states
                    seen += [_seen(state, key) for state in states]
                    current.append({"run": runs[number], "state": last["id"]})
                await session.execute(insert(db.FlowRun), run_rows)
                await session.execute(insert(db.FlowRunState), state_rows)
                for row in current:
                    await session.execute(
                        update(db.FlowRun)
                        .where(db.FlowRun.id == row["run"])
                        .values(state_id=row["state"])
                    )
        return seen


def _seen(state: dict, key: str):
    from pmo.store.run_states import SeenState

    return SeenState(
        state_id=str(state["id"]),
        flow_run_id=str(state["flow_run_id"]),
        type=state["type"].value,
        name=state["name"],
        message=state["message"],
        occurred_at=state["timestamp"],
        project_key=key,
    )


def record(states: list) -> None:
    """As the run-state recorder would have, in its batches."""
    from pmo.store.run_states import record_run_states

    for chunk in _chunks(states, 2000):
        record_run_states(states=chunk, source="event")


def _chunks(items: list, size: int) -> list[list]:
    return [items[start : start + size] for start in range(0, len(items), size)]


def read_rows_only() -> int:
    """The baseline: every lifecycle run paged through Prefect's API, and the recorded
    states read from the store; nothing else."""
    from pmo.audit.run_history import RunSelection, _page_runs
    from pmo.store import session_scope
    from pmo.store.run_states import recorded_states

    async def page() -> int:
        from prefect.client.orchestration import get_client

        async with get_client() as client:
            return len(await _page_runs(client, RunSelection()))

    listed = asyncio.run(page())
    with session_scope() as session:
        recorded_states(session)
    return listed


class HistoryTimer:
    """Times the audit's own reading of the run histories (paging the runs, the recorded
    states, asking Prefect for what is missing): the part the run-state recorder changed."""

    def __init__(self) -> None:
        import pmo.audit.portfolio as portfolio

        self.portfolio, self.read, self.seconds = portfolio, portfolio.read_lifecycle_runs, 0.0
        portfolio.read_lifecycle_runs = self

    def __call__(self, *args, **kwargs):
        started = time.perf_counter()
        try:
            return self.read(*args, **kwargs)
        finally:
            self.seconds = time.perf_counter() - started


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
    prefect_url = make_url(fresh_database(args.postgres, "pmo_bench_audit_prefect")).set(
        drivername="postgresql+asyncpg"
    )
    prefect_db = prefect_url.render_as_string(hide_password=False)
    os.environ["PMO_HOME"] = str(home)
    os.environ["PMO_DATABASE_URL"] = fresh_database(args.postgres, "pmo_bench_audit_store")
    os.environ["PREFECT_SERVER_DATABASE_CONNECTION_URL"] = prefect_db

    from prefect.settings import PREFECT_API_URL, temporary_settings

    from pmo.audit.portfolio import audit_portfolio
    from pmo.audit.run_history import RunSelection
    from pmo.runtime.server import local_prefect_server

    portfolio = Portfolio(home / "documents")
    print(f"audit of N lifecycle runs; Prefect server and store on PostgreSQL ({home})")
    history = HistoryTimer()
    print(f"{'runs':>6} {'build s':>8} {'baseline s':>11} {'first s':>8} {'(history)':>10} "
          f"{'daily s':>8} {'(history)':>10} {'asked':>6} {'first/base':>11} "
          f"{'daily/base':>11} {'findings':>9}")  # fmt: skip
    server = local_prefect_server(home / "prefect", ui=False, database_url=prefect_db)
    with server as api, temporary_settings(updates={PREFECT_API_URL: api}):
        for size in sizes:
            build, _ = timed(lambda: portfolio.grow_to(size))  # noqa: B023
            baseline, listed = timed(read_rows_only)
            first, audit = timed(lambda: audit_portfolio(RunSelection()))
            assert listed == audit.runs_read == size, (listed, audit.runs_read, size)
            assert audit.histories_fetched == 0, audit.histories_fetched
            assert not audit.tampered, audit.ledger_problems[:3]
            head, first_history = audit.ledger_head, history.seconds
            moved = list(range(1, size + 1, 10))
            portfolio.move(moved, recorded=True)
            missed = list(range(5, size + 1, 100))
            portfolio.move(missed, recorded=False)
            daily, audit = timed(
                lambda: audit_portfolio(RunSelection(), previous_head=head)  # noqa: B023
            )
            assert audit.histories_fetched == len(missed), audit.histories_fetched
            assert not audit.tampered, audit.ledger_problems[:3]
            print(
                f"{size:>6} {build:>8.1f} {baseline:>11.2f} {first:>8.2f} {first_history:>10.2f} "
                f"{daily:>8.2f} {history.seconds:>10.2f} "
                f"{audit.histories_fetched:>6} {first / baseline:>10.1f}x "
                f"{daily / baseline:>10.1f}x {len(audit.findings):>9}"
            )
    print("target: first and daily <= 5 s at 10,000 runs")


if __name__ == "__main__":
    main()
