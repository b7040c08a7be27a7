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

The two halves can run apart, each in less time than the whole: `--phase start --home DIR`
(new databases, the baseline, the lifecycles to their first gate, its figures kept in
DIR/started.json), then `--phase close --home DIR` (the same databases; the server, workers,
resumers and recorder brought up again, as after a restart; the runs answered to closure,
the audit).
"""

import argparse
import email
import email.policy
import json
import os
import shutil
import signal
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
from scratch_databases import database_url, fresh_database
from sqlalchemy.engine import make_url

from pmo.brief import EXAMPLE_BRIEF, load_brief
from pmo.errors import PmoInputError
from pmo.gates.rules import Answer
from pmo.runtime.answering import submit_answer, submit_status_update
from pmo.runtime.approver_bot import next_status_turn, next_turn
from pmo.runtime.demo_projects import ProjectManager
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
PROGRESS_SECONDS = 300


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
    began = time.monotonic()
    deadline, next_progress = began + timeout, began + PROGRESS_SECONDS
    while len(ended) < len(runs) and time.monotonic() < deadline:
        outbox.refresh()
        states = read_states(client, [r for k, r in runs.items() if k not in ended])
        acted = False
        for key, run_id in runs.items():
            # checked for each run: one sweep over many runs can take minutes
            if (now := time.monotonic()) >= deadline:
                break
            if now >= next_progress:  # a phase cut short still leaves figures
                next_progress += PROGRESS_SECONDS
                print(
                    f"  after {(now - began) / 60:.0f} min: {answered} gate "
                    f"answers, {updates} status updates, {refused} refused; {len(ended)} of "
                    f"{len(runs)} ended",
                    flush=True,
                )
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


@dataclass
class Shape:
    """The processes of the shape beyond one machine, up and watched."""

    home: Path
    env: dict[str, str]
    runners: dict[str, psutil.Process]  # the workers and resumers
    watched: dict[str, psutil.Process]  # those, the server and the recorder


def bring_up(stack: ExitStack, home: Path, args, prefect_db: str, store_db: str) -> Shape:  # noqa: ANN001
    """The server, both workers with a resumer beside each, and the recorder, on the
    databases given; the work pool and the deployments are made where they are not yet."""
    prefect_db_url = make_url(prefect_db).set(drivername="postgresql+asyncpg")
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
    with get_client(sync_client=True) as client:
        pools = {pool.name for pool in client.read_work_pools()}
    if "pmo" not in pools:
        subprocess.run(
            [*PREFECT, "work-pool", "create", "pmo", "--type", "process"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
    subprocess.run(
        [*PREFECT, "--no-prompt", "deploy", "--all"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
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
            log = home / f"{name}.log"
            listened = log.read_text(errors="replace").count("listening") if log.exists() else 0
            process = stack.enter_context(child_process(command, env, log, stop_seconds=30))
            runners[name] = psutil.Process(process.pid)
            if name.startswith("resumer"):
                wait_until(
                    lambda log=log, listened=listened: (
                        log.read_text(errors="replace").count("listening") > listened
                    ),
                    120,
                    f"{name} to listen",
                )
    recorder = stack.enter_context(
        child_process([PMO, "record-states"], env, home / "recorder.log", stop_seconds=30)
    )
    with get_client(sync_client=True) as client:
        wait_until(
            lambda: (
                sum(w.status == "ONLINE" for w in client.read_workers_for_work_pool("pmo")) == 2
            ),
            120,
            "both workers to come online",
        )
    watched = {"server": server, **runners, "recorder": psutil.Process(recorder.pid)}
    return Shape(home, env, runners, watched)


def start_phase(shape: Shape, args) -> dict:  # noqa: ANN001
    """The baseline (one lifecycle alone, to closure), then `args.projects` lifecycles to
    their first gate; what it measured, with the runs started."""
    sampler = MemorySampler(shape.watched)
    idle = {name: tree_rss(p)[0] for name, p in shape.watched.items()}
    briefs = shape.home / "briefs"
    briefs.mkdir(exist_ok=True)
    outbox = Outbox(get_settings().outbox_dir)
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
        lambda: all(run_processes(p) == 0 for p in shape.runners.values()),
        120,
        "the suspended runs' processes to exit",
        every=0.5,
    )
    released = time.perf_counter() - released
    sampler.stop()
    return {
        "runs": runs,
        "alone_first_gate": alone_first_gate,
        "alone_closure": alone_closure,
        "start_seconds": start_seconds,
        "first_gate": first_gate,
        "released": released,
        "held": {name: run_processes(p) for name, p in shape.runners.items()},
        "idle_rss": idle,
        "waiting_rss": {name: tree_rss(p)[0] for name, p in shape.watched.items()},
        "start_peak_rss": dict(sampler.peak),
    }


def resumer_starts(shape: Shape) -> dict[str, int]:
    """How many runs each resumer has started, as its log tells."""
    return {
        name: (shape.home / f"{name}.log").read_text(errors="replace").count("Started ")
        for name in shape.runners
        if name.startswith("resumer")
    }


def close_phase(shape: Shape, args, started: dict) -> dict:  # noqa: ANN001
    """Answer the first `args.answer` of the runs started through to closure; the audit."""
    sampler = MemorySampler(shape.watched)
    outbox = Outbox(get_settings().outbox_dir)
    answering = dict(list(started["runs"].items())[: args.answer])
    before = resumer_starts(shape)  # their logs go on from the start phase's
    with get_client(sync_client=True) as client:
        began = time.perf_counter()
        result = answer_to_closure(client, answering, outbox, shape.home / "briefs", args.timeout)
        closure = time.perf_counter() - began
    sampler.stop()
    started_by_resumers = {
        name: count - before[name] for name, count in resumer_starts(shape).items()
    }
    audit_started = time.perf_counter()
    audit = subprocess.run(
        [PMO, "audit", "--out", str(shape.home / "audit")],
        env=shape.env,
        capture_output=True,
        text=True,
    )
    return {
        "answered": len(answering),
        "result": result,
        "closure": closure,
        "started_by_resumers": started_by_resumers,
        "close_peak_rss": dict(sampler.peak),
        "audit_seconds": time.perf_counter() - audit_started,
        "audit_exit": audit.returncode,
        "audit_error": audit.stderr.strip().splitlines()[-1] if audit.returncode else "",
    }


def report_start(figures: dict) -> None:
    mb = 1024 * 1024
    projects, first_gate = len(figures["runs"]), figures["first_gate"]
    gate_rate, alone_rate = projects / first_gate, 1 / figures["alone_first_gate"]
    print(
        f"started {projects} lifecycles in {figures['start_seconds']:.1f} s "
        f"({projects / figures['start_seconds']:.1f}/s from the client)"
    )
    print(
        f"all {projects} waiting at their first gate after {first_gate:.1f} s: "
        f"{gate_rate * 60:.0f} lifecycles/min to the first gate, {gate_rate / alone_rate:.1f}x "
        f"one alone ({figures['alone_first_gate']:.1f} s)"
    )
    print(
        f"processes held while every run waits: {figures['held']} (flow-run processes; the "
        f"last suspended runs' processes exited {figures['released']:.1f} s after the last "
        "suspension)"
    )
    for name, idle in figures["idle_rss"].items():
        print(
            f"{name:<9} RSS idle {idle / mb:7.0f} MB  all waiting "
            f"{figures['waiting_rss'][name] / mb:7.0f} MB  peak while starting "
            f"{figures['start_peak_rss'][name] / mb:7.0f} MB"
        )


def report_close(started: dict, figures: dict) -> None:
    mb = 1024 * 1024
    result, closure, answered = figures["result"], figures["closure"], figures["answered"]
    completed = sum(1 for state in result["ended"].values() if state == "COMPLETED")
    if result["answers"] + result["updates"] == 0:  # a close phase run again
        print(f"the {answered} had all ended before this phase: {completed} completed")
    else:
        print(
            f"answered {answered} through to closure in {closure:.1f} s: {completed} "
            f"completed, others {sorted(set(result['ended'].values()) - {'COMPLETED'})}, "
            f"{result['answers']} gate answers and {result['updates']} status updates "
            f"({(result['answers'] + result['updates']) / max(closure, 1e-9) * 60:.0f}/min), "
            f"{result['refused']} refused; {completed * started['alone_closure'] / closure:.1f}x "
            f"one alone ({started['alone_closure']:.1f} s)"
        )
    print(
        "runs the resumers started while answering (the rest by the workers): "
        f"{figures['started_by_resumers']}"
    )
    for name, peak in figures["close_peak_rss"].items():
        print(f"{name:<9} RSS peak while answering {peak / mb:7.0f} MB")
    print(
        f"pmo audit over {len(started['runs']) + 1} projects: {figures['audit_seconds']:.1f} s, "
        f"exit {figures['audit_exit']}"
        + (f": {figures['audit_error']}" if figures["audit_exit"] else "")
    )


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
    parser.add_argument(
        "--phase",
        choices=("all", "start", "close"),
        default="all",
        help="all in one go; or `start` (new databases, the baseline, the lifecycles to "
        "their first gate), stop, and later `close` (the same databases and --home, the "
        "processes brought up again, --answer runs to closure, the audit)",
    )
    parser.add_argument(
        "--home", type=Path, help="the bench's folder (outbox, briefs, logs), kept between phases"
    )
    args = parser.parse_args()
    # stopped by `timeout` or `kill`: unwind, so the server, workers and resumers stop too
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.phase != "all" and args.home is None:
        parser.error("--phase start and close need --home, the folder the phases share")
    admin_url = os.environ.get(
        "PMO_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
    )
    # the close phase goes on with the databases the start phase made
    database = database_url if args.phase == "close" else fresh_database
    prefect_db = database(admin_url, "pmo_bench_prefect")
    store_db = database(admin_url, "pmo_bench_store")

    with ExitStack() as stack:
        if args.home is None:
            home = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="pmo-scale-")))
        else:
            home = args.home.resolve()
            home.mkdir(parents=True, exist_ok=True)
        shape = bring_up(stack, home, args, prefect_db, store_db)
        print(
            f"server on PostgreSQL ({make_url(prefect_db).database}), store on PostgreSQL "
            f"({make_url(store_db).database}); phase {args.phase}: {args.projects} lifecycles, "
            f"{args.answer} answered to closure; 2 workers (at most {args.worker_limit} runs "
            f"each) and a resumer beside each (at most {args.resumer_slots})",
            flush=True,
        )
        figures_file = home / "started.json"
        if args.phase == "close":
            started = json.loads(figures_file.read_text(encoding="utf-8"))
        else:
            started = start_phase(shape, args)
            figures_file.write_text(json.dumps(started), encoding="utf-8")
            report_start(started)
        closed = close_phase(shape, args, started) if args.phase != "start" else None
        if args.logs:
            args.logs.mkdir(parents=True, exist_ok=True)
            for log in home.glob("*.log"):
                shutil.copy(log, args.logs / log.name)
    if closed is not None:
        report_close(started, closed)


if __name__ == "__main__":
    main()
