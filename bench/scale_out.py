"""The shape beyond one machine, measured: a Prefect server on PostgreSQL, a process work
pool with two workers and a `pmo resumer` beside each (separate processes standing in for
two machines), one `pmo record-states`, the store on PostgreSQL; N lifecycles taken to
their first gate, M of them answered through to closure, then the PMO's audit.

Run by hand: `python bench/scale_out.py [--projects 1000] [--answer 200]`, with PostgreSQL
at PMO_BENCH_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/postgres). It
creates (and drops first) the databases `pmo_bench_prefect` and `pmo_bench_store`, deploys
`prefect.yaml` as the README says (`prefect work-pool create`, `prefect deploy --all`),
starts the workers with `prefect worker start` and a `pmo resumer` beside each, and talks
to the runs as people do: `pmo start`'s function to start them, `pmo approve`'s and `pmo
status`'s to answer them (codes read from the approval emails in the outbox), `pmo audit`
as a command. The baseline, in the same run before the others: one lifecycle alone on the
same processes, to its first gate and answered to closure. It reports throughput against
it, the resident memory (RSS) of the server, of each worker and resumer with the runs it
started, the processes held while every run waits at its gate, and the audit's time.
"""

import argparse
import email
import email.policy
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from uuid import UUID

import psutil
import yaml
from prefect import get_client
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterId,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import StateType
from prefect.settings import PREFECT_API_URL, temporary_settings
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from pmo.brief import EXAMPLE_BRIEF, load_brief
from pmo.errors import PmoInputError
from pmo.gates.rules import Answer
from pmo.runtime.answering import submit_answer, submit_status_update
from pmo.runtime.approver_bot import next_status_turn, next_turn
from pmo.runtime.demo import ProjectManager
from pmo.runtime.runs import start_lifecycle
from pmo.runtime.server import child_process, local_prefect_server
from pmo.settings import get_settings
from process_library.loader import load_lifecycle

ROOT = Path(__file__).resolve().parents[1]
PREFECT = [sys.executable, "-m", "prefect"]
PMO = str(Path(sys.executable).with_name("pmo"))
LIFECYCLE = "pmbok-waterfall"
REPORTING = tuple(s.key for s in load_lifecycle(LIFECYCLE).lifecycle.stages if s.reporting)
PAGE = 200


def fresh_database(admin_url: str, name: str) -> str:
    admin = create_engine(
        make_url(admin_url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def tree_rss(process: psutil.Process) -> tuple[int, int]:
    """Resident bytes of a process and every process under it, and how many there are."""
    try:
        tree = [process, *process.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0, 0
    total = 0
    for member in tree:
        with suppress(psutil.NoSuchProcess):
            total += member.memory_info().rss
    return total, len(tree)


def run_processes(process: psutil.Process) -> int:
    """Flow-run processes under a worker (its children) or a resumer (the children of its
    forkserver, which itself holds no run)."""
    try:
        children = process.children()
        if "resumer" in " ".join(process.cmdline()):
            return sum(len(child.children()) for child in children)
        return len(children)
    except psutil.NoSuchProcess:
        return 0


@dataclass
class MemorySampler:
    """Samples the RSS of each named process tree every second; keeps the peak."""

    processes: dict[str, psutil.Process]
    peak: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    _stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(1):
            for name, process in self.processes.items():
                self.peak[name] = max(self.peak[name], tree_rss(process)[0])

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


class Outbox:
    """The approval emails, read once each as they arrive, by project."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.seen = folder, set()
        self.by_project: dict[str, list[EmailMessage]] = defaultdict(list)

    def refresh(self) -> None:
        if not self.folder.exists():
            return
        for entry in sorted(os.scandir(self.folder), key=lambda e: e.stat().st_mtime):
            if not entry.name.endswith(".eml") or entry.name in self.seen:
                continue
            self.seen.add(entry.name)
            with open(entry.path, "rb") as file:
                message = email.message_from_binary_file(file, policy=email.policy.default)
            if gate := message["X-PMO-Gate"]:
                self.by_project[str(gate).split("/")[0]].append(message)

    def mailbox(self, key: str):  # noqa: ANN201
        return lambda: self.by_project[key]


def write_brief(folder: Path, key: str) -> Path:
    brief = yaml.safe_load(EXAMPLE_BRIEF.read_text(encoding="utf-8"))
    brief["key"] = key
    path = folder / f"{key}.yaml"
    path.write_text(yaml.safe_dump(brief, sort_keys=False), encoding="utf-8")
    return path


def read_states(client, run_ids: list[str]) -> dict[str, str]:
    states = {}
    for start in range(0, len(run_ids), PAGE):
        ids = [UUID(r) for r in run_ids[start : start + PAGE]]
        for run in client.read_flow_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=ids)), limit=PAGE
        ):
            states[str(run.id)] = run.state_type.value if run.state_type else ""
    return states


def count_paused(client) -> int:
    paused = FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.PAUSED]))
    return client.count_flow_runs(flow_run_filter=FlowRunFilter(state=paused))


def wait_until(predicate, timeout: float, what: str, every: float = 1.0):  # noqa: ANN001, ANN201
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(every)
    raise TimeoutError(f"gave up waiting for {what}")


def answer_to_closure(
    client, runs: dict[str, str], outbox: Outbox, briefs: Path, timeout: float
) -> dict:
    """Answer every gate and status update of `runs` (key -> run id) until each ends."""
    managers = {}
    reported: set[tuple] = set()
    answered = updates = refused = 0
    ended: dict[str, str] = {}
    deadline = time.monotonic() + timeout
    while len(ended) < len(runs) and time.monotonic() < deadline:
        outbox.refresh()
        states = read_states(client, [r for k, r in runs.items() if k not in ended])
        acted = False
        for key, run_id in runs.items():
            state = states.get(run_id)
            if key in ended or state is None:
                continue
            if state in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED"):
                ended[key] = state
                if state != "COMPLETED":
                    print(f"  {key}: {state}: {client.read_flow_run(UUID(run_id)).state.message}")
                continue
            if state != "PAUSED":
                continue
            turn = next_turn(run_id, outbox.mailbox(key))
            try:
                if turn is not None:
                    answer = Answer(turn.approver, "go", turn.code, "Benchmark: criteria met.")
                    submit_answer(run_id, answer)
                    answered += 1
                    acted = True
                elif (status := next_status_turn(run_id)) is not None and (
                    turn_key := (run_id, status.stage_key, status.attempt, status.number)
                ) not in reported:
                    if key not in managers:
                        brief = load_brief(briefs / f"{key}.yaml")
                        managers[key] = ProjectManager(brief, REPORTING)
                    submit_status_update(run_id, managers[key](status))
                    reported.add(turn_key)
                    updates += 1
                    acted = True
            except PmoInputError as refusal:  # raced a run that moved on: try next sweep
                refused += 1
                print(f"  {key}: {refusal}")
        if not acted:
            time.sleep(0.5)
    return {"ended": ended, "answers": answered, "updates": updates, "refused": refused}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=1000, help="lifecycles started")
    parser.add_argument("--answer", type=int, default=200, help="of them, answered to closure")
    parser.add_argument(
        "--worker-limit", type=int, default=8, help="flow runs each worker runs at once"
    )
    parser.add_argument("--logs", type=Path, help="a folder to keep the processes' logs in")
    parser.add_argument(
        "--resumer-slots", type=int, default=4, help="runs each resumer runs at once"
    )
    parser.add_argument("--timeout", type=float, default=7200, help="seconds for each phase")
    args = parser.parse_args()
    admin_url = os.environ.get(
        "PMO_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
    )
    prefect_db = fresh_database(admin_url, "pmo_bench_prefect")
    store_db = fresh_database(admin_url, "pmo_bench_store")
    prefect_db_url = make_url(prefect_db).set(drivername="postgresql+asyncpg")

    with tempfile.TemporaryDirectory(prefix="pmo-scale-") as scratch, ExitStack() as stack:
        home = Path(scratch)
        os.environ.update(
            PMO_HOME=str(home), PMO_DATABASE_URL=store_db, PMO_SMTP_HOST="", PMO_FLOWS_DIR=str(ROOT)
        )
        get_settings.cache_clear()
        server_url = stack.enter_context(
            local_prefect_server(
                home / "prefect",
                ui=False,
                database_url=prefect_db_url.render_as_string(hide_password=False),
                timeout=180,
            )
        )
        stack.enter_context(temporary_settings(updates={PREFECT_API_URL: server_url}))
        env = {**os.environ, "PREFECT_API_URL": server_url, "PREFECT_WORKER_QUERY_SECONDS": "1"}
        print(
            f"server on PostgreSQL ({make_url(prefect_db).database}), store on PostgreSQL "
            f"({make_url(store_db).database}); {args.projects} lifecycles, {args.answer} "
            f"answered to closure; 2 workers (at most {args.worker_limit} runs each) and a "
            f"resumer beside each (at most {args.resumer_slots})"
        )
        for command in (
            [*PREFECT, "work-pool", "create", "pmo", "--type", "process"],
            [*PREFECT, "--no-prompt", "deploy", "--all"],
        ):
            subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True)
        server = psutil.Process(
            next(c.pid for c in psutil.Process().children() if "server" in " ".join(c.cmdline()))
        )
        runners = {}
        for number in (1, 2):
            worker = [*PREFECT, "worker", "start", "--pool", "pmo", "--name", f"worker-{number}"]
            for name, command in (
                (f"worker-{number}", [*worker, "--limit", str(args.worker_limit)]),
                (f"resumer-{number}", [PMO, "resumer", "--slots", str(args.resumer_slots)]),
            ):
                process = stack.enter_context(
                    child_process(command, env, home / f"{name}.log", stop_seconds=30)
                )
                runners[name] = psutil.Process(process.pid)
        recorder = stack.enter_context(
            child_process([PMO, "record-states"], env, home / "recorder.log", stop_seconds=30)
        )
        watched = {"server": server, **runners, "recorder": psutil.Process(recorder.pid)}
        with get_client(sync_client=True) as client:
            wait_until(
                lambda: (
                    sum(w.status == "ONLINE" for w in client.read_workers_for_work_pool("pmo")) == 2
                ),
                120,
                "both workers to come online",
            )
        wait_until(
            lambda: all(
                "listening" in (home / f"resumer-{n}.log").read_text(errors="replace")
                for n in (1, 2)
            ),
            120,
            "both resumers to listen",
        )
        sampler = MemorySampler(watched)
        idle = {name: tree_rss(p)[0] for name, p in watched.items()}
        briefs = home / "briefs"
        briefs.mkdir()
        outbox = Outbox(get_settings().outbox_dir)

        # The baseline: one lifecycle alone on the same processes.
        with get_client(sync_client=True) as client:
            began = time.perf_counter()
            alone = {"B0000": start_lifecycle(write_brief(briefs, "B0000"), LIFECYCLE).run_id}
            wait_until(lambda: count_paused(client) >= 1, 600, "the baseline's first gate")
            alone_first_gate = time.perf_counter() - began
            began = time.perf_counter()
            alone_result = answer_to_closure(client, alone, outbox, briefs, 1800)
            alone_closure = time.perf_counter() - began
        print(
            f"baseline, one lifecycle alone: first gate after {alone_first_gate:.1f} s, "
            f"answered to closure in {alone_closure:.1f} s ({alone_result['ended']})",
            flush=True,
        )

        keys = [f"S{number:04d}" for number in range(args.projects)]
        started = time.perf_counter()
        runs = {key: start_lifecycle(write_brief(briefs, key), LIFECYCLE).run_id for key in keys}
        start_seconds = time.perf_counter() - started
        print(f"  started {args.projects} in {start_seconds:.1f} s", flush=True)
        with get_client(sync_client=True) as client:
            wait_until(
                lambda: count_paused(client) >= args.projects,
                args.timeout,
                "every run to wait at its first gate",
            )
            first_gate = time.perf_counter() - started
            print(f"  all at their first gate after {first_gate:.1f} s", flush=True)
            # a suspended run's process exits once it has sent its logs and events
            released = time.perf_counter()
            wait_until(
                lambda: all(run_processes(p) == 0 for p in runners.values()),
                120,
                "the suspended runs' processes to exit",
                every=0.5,
            )
            released = time.perf_counter() - released
            held = {name: run_processes(p) for name, p in runners.items()}
            waiting_rss = {name: tree_rss(p)[0] for name, p in watched.items()}

            answering = dict(list(runs.items())[: args.answer])
            began = time.perf_counter()
            result = answer_to_closure(client, answering, outbox, briefs, args.timeout)
            closure = time.perf_counter() - began
        sampler.stop()
        started_by_resumers = {
            name: (home / f"{name}.log").read_text(errors="replace").count("Started ")
            for name in runners
            if name.startswith("resumer")
        }

        audit_started = time.perf_counter()
        audit = subprocess.run(
            [PMO, "audit", "--out", str(home / "audit")], env=env, capture_output=True, text=True
        )
        audit_seconds = time.perf_counter() - audit_started
        if args.logs:
            args.logs.mkdir(parents=True, exist_ok=True)
            for log in home.glob("*.log"):
                shutil.copy(log, args.logs / log.name)

    mb = 1024 * 1024
    completed = sum(1 for state in result["ended"].values() if state == "COMPLETED")
    gate_rate, alone_rate = args.projects / first_gate, 1 / alone_first_gate
    print(
        f"started {args.projects} lifecycles in {start_seconds:.1f} s "
        f"({args.projects / start_seconds:.1f}/s from the client)"
    )
    print(
        f"all {args.projects} waiting at their first gate after {first_gate:.1f} s: "
        f"{gate_rate * 60:.0f} lifecycles/min to the first gate, {gate_rate / alone_rate:.1f}x "
        f"one alone ({alone_first_gate:.1f} s)"
    )
    print(
        f"processes held while every run waits: {held} (flow-run processes; the last "
        f"suspended runs' processes exited {released:.1f} s after the last suspension)"
    )
    print(
        f"answered {len(answering)} through to closure in {closure:.1f} s: {completed} "
        f"completed, others {sorted(set(result['ended'].values()) - {'COMPLETED'})}, "
        f"{result['answers']} gate answers and {result['updates']} status updates "
        f"({(result['answers'] + result['updates']) / max(closure, 1e-9) * 60:.0f}/min), "
        f"{result['refused']} refused; {len(answering) * alone_closure / closure:.1f}x one "
        f"alone ({alone_closure:.1f} s)"
    )
    print(f"runs started by the resumers (the rest by the workers): {started_by_resumers}")
    for name in watched:
        print(
            f"{name:<9} RSS idle {idle[name] / mb:7.0f} MB  all waiting "
            f"{waiting_rss[name] / mb:7.0f} MB  peak {sampler.peak[name] / mb:7.0f} MB"
        )
    print(
        f"pmo audit over {args.projects + 1} projects: {audit_seconds:.1f} s, exit "
        f"{audit.returncode}"
        + (f": {audit.stderr.strip().splitlines()[-1]}" if audit.returncode else "")
    )


if __name__ == "__main__":
    main()
