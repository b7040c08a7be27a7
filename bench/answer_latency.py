"""How long a person waits for `pmo approve` and `pmo status`: from the command's process
start to its exit (what was recorded printed), run as a person runs it, on the embedded
default.

Run by hand: `python bench/answer_latency.py [--previous REF]` (see --help for the sizes).
One local Prefect server and the deployments served as `pmo up` serves them. Each project
is the example brief with `--pmo-people` people in its pmo role, so its charter and plan
gates (quorum all) take 1 + that many answers each, the last deciding and waking the run;
then its project manager reports status (every update wakes the run).

- idle (`--idle-projects`, `--idle-updates` each): one command at a time, each made while
  every run waits (after a command that woke a run, that run has suspended again);
- at once (`--busy-projects`, `--updates` each): the same command for every project of
  the set together, 10 at a time, then every run suspends again before the next round.

Baselines in the same run: `python -c "import prefect"` (what the commands paid before
for Prefect's import alone) and, with `--previous REF` (e.g. the commit before this
benchmark's change), that commit's `pmo approve` and `pmo status` on one more project.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from io import BytesIO
from pathlib import Path

import httpx
import yaml
from embedded import scratch_embedded_default, wait_until

from pmo.brief import EXAMPLE_BRIEF, load_brief
from pmo.control.reporting import measured_against
from pmo.gates.rules import gate_approvers
from pmo.plan.evm import planned_value
from pmo.runtime.approver_bot import code_from_outbox, next_status_turn
from pmo.runtime.demo_projects import planned_percent
from pmo.runtime.runs import start_lifecycle
from pmo.runtime.serve import served_in_subprocess
from pmo.store import session_scope
from pmo.store.records import get_project
from process_library.loader import load_lifecycle

STAGES = load_lifecycle("pmbok-waterfall").lifecycle.stages
GATED = STAGES[:2]  # charter and plan approval: two approvers each
PMO = str(Path(sys.executable).with_name("pmo"))
AT_ONCE = 10
CPU: list[float] = []  # CPU seconds of each command, in the order they ran
REPO = Path(__file__).resolve().parents[1]


@dataclass
class Project:
    key: str
    run_id: str
    brief_path: Path
    packages: list[str] | None = None  # known once it reports
    updates: int = 0


def start(keys: list[str], folder: Path, pmo_people: int) -> list[Project]:
    """The example project under each key, its `pmo` role given `pmo_people` people: the
    charter and plan gates (quorum all) then take 1 + pmo_people answers each, the last
    one deciding, so a project's few run resumes carry many answers."""
    data = yaml.safe_load(EXAMPLE_BRIEF.read_text(encoding="utf-8"))
    data["approvers"]["pmo"] = [f"pmo{n}@example.com" for n in range(1, pmo_people + 1)]
    projects = []
    for key in keys:
        path = folder / f"{key}.yaml"
        path.write_text(yaml.safe_dump({**data, "key": key}, sort_keys=False), encoding="utf-8")
        projects.append(Project(key, start_lifecycle(path, "pmbok-waterfall").run_id, path))
    return projects


def pmo(args: list[str], code: Path | None = None) -> float:
    """Seconds from starting `pmo ARGS` to its exit; a failed command stops the benchmark.
    The command's own CPU seconds go to CPU[label of the running phase]."""
    environment = dict(os.environ)
    if code is not None:  # the previous code path, ahead of the installed one
        environment["PYTHONPATH"] = str(code)
    with tempfile.TemporaryFile() as output:
        began = time.perf_counter()
        process = subprocess.Popen([PMO, *args], stdout=output, stderr=output, env=environment)
        _, status, usage = os.wait4(process.pid, 0)  # this child's own rusage
        took = time.perf_counter() - began
        process.returncode = os.waitstatus_to_exitcode(status)
        output.seek(0)
        printed = output.read().decode()
    if process.returncode != 0:
        raise RuntimeError(f"pmo {' '.join(args[:2])} failed: {printed}")
    CPU.append(usage.ru_utime + usage.ru_stime)
    return took


def suspended_since(api_url: str, run_id: str, since: datetime) -> bool:
    """The run is suspended again at a pause it reached after `since`."""
    state = httpx.get(f"{api_url}/flow_runs/{run_id}").json()["state"]
    return state["type"] == "PAUSED" and datetime.fromisoformat(state["timestamp"]) > since


def approve_args(project: Project, stage, approver: str) -> list[str]:
    ref = f"{project.key}/{stage.key}/1/{stage.gate.key}/1"
    code = wait_until(lambda: code_from_outbox(ref, approver), timeout=600)
    args = ["approve", project.run_id, "--as", approver, "--decision", "go", "--code", code]
    return [*args, "--comment", "Benchmark"]


def status_args(project: Project, total: int) -> list[str]:
    """Update n of `total`, on plan (the baseline's planned percent and value at an as-of
    date n/(total+1) through the schedule), so no exception gate interrupts the reporting."""
    if not project.packages:
        project.packages = wait_until(lambda: next_status_turn(project.run_id), 600).packages
    project.updates += 1
    with session_scope() as session:
        schedule = measured_against(session, project=get_project(session, key=project.key))
        schedule = schedule.schedule
    span = (schedule.finish - schedule.start).days
    as_of = schedule.start + timedelta(days=span * project.updates // (total + 1))
    args = ["status", project.run_id, "--as-of", as_of.isoformat()]
    args += [f"--progress={key}={value}" for key, value in planned_percent(schedule, as_of).items()]
    args += ["--actual-cost", str(planned_value(schedule, as_of))]
    budget = schedule.plan.budget()
    return [*args, "--forecast-finish", schedule.finish.isoformat(), "--forecast-cost", str(budget)]


def answer_gates(projects: list[Project], api_url: str, code: Path | None = None) -> list[float]:
    """Idle: each answer while every run waits."""
    took = []
    for project in projects:
        brief = load_brief(project.brief_path)
        for stage in GATED:
            for approver in gate_approvers(stage.gate, brief):
                args = approve_args(project, stage, approver)
                called = datetime.now().astimezone()
                took.append(pmo(args, code))
            wait_until(lambda p=project, c=called: suspended_since(api_url, p.run_id, c), 600)
    return took


def report(projects: list[Project], api_url: str, updates: int, code: Path | None = None):
    """Idle: each update while every run waits."""
    took = []
    for _ in range(updates):
        for project in projects:
            args = status_args(project, updates)
            called = datetime.now().astimezone()
            took.append(pmo(args, code))
            wait_until(lambda p=project, c=called: suspended_since(api_url, p.run_id, c), 600)
    return took


def at_once(rounds: list[list[list[str]]], projects: list[Project], api_url: str) -> list[float]:
    """Each round's commands together, AT_ONCE at a time; then every run suspends again."""
    took = []
    with ThreadPoolExecutor(AT_ONCE) as pool:
        for commands in rounds:
            called = datetime.now().astimezone()
            took += list(pool.map(pmo, commands))
            for project in projects:
                wait_until(lambda p=project, c=called: suspended_since(api_url, p.run_id, c), 600)
    return took


def gates_at_once(projects: list[Project], api_url: str) -> list[float]:
    """At once: the first approver of every project together, then the second (the
    deciding answers); then every run moves on to its next gate before that gate's round."""
    took = []
    briefs = [load_brief(p.brief_path) for p in projects]
    with ThreadPoolExecutor(AT_ONCE) as pool:
        for stage in GATED:
            approvers = list(gate_approvers(stage.gate, briefs[0]))
            for approver in approvers:
                commands = [approve_args(p, stage, approver) for p in projects]
                called = datetime.now().astimezone()
                took += list(pool.map(pmo, commands))
            for project in projects:
                wait_until(lambda p=project, c=called: suspended_since(api_url, p.run_id, c), 600)
    return took


def import_prefect(times: int) -> tuple[list[float], list[float]]:
    took, cpu = [], []
    for _ in range(times):
        began = time.perf_counter()
        process = subprocess.Popen([sys.executable, "-c", "import prefect"])
        _, _, usage = os.wait4(process.pid, 0)
        took.append(time.perf_counter() - began)
        cpu.append(usage.ru_utime + usage.ru_stime)
    return took, cpu


def previous_code(ref: str, folder: Path) -> Path:
    """The packages of commit `ref`, to run its CLI ahead of the installed code."""
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", ref, "pmo", "flows", "tasks", "process_library"]
        + ["templates"],
        check=True,
        capture_output=True,
    ).stdout
    target = folder / f"previous-{ref}"
    shutil.rmtree(target, ignore_errors=True)
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")
    return target


def percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def line(label: str, values: list[float]) -> str:
    return (
        f"{label:<34} n={len(values):>3}  p50={statistics.median(values):6.3f} s"
        f"  p95={percentile(values, 95):6.3f} s  max={max(values):6.3f} s"
    )


def load() -> str:
    return os.popen("uptime").read().strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idle-projects", type=int, default=2, help="projects answered idle")
    parser.add_argument("--busy-projects", type=int, default=10, help="projects answered at once")
    parser.add_argument(
        "--pmo-people", type=int, default=12, help="people in an idle project's pmo role"
    )
    parser.add_argument(
        "--busy-people", type=int, default=4, help="people in a busy project's pmo role"
    )
    parser.add_argument(
        "--idle-updates", type=int, default=25, help="status updates an idle project"
    )
    parser.add_argument("--updates", type=int, default=5, help="status updates a busy project")
    parser.add_argument("--previous", help="a commit whose CLI to measure as well")
    args = parser.parse_args()
    print(f"load at start: {load()}", flush=True)
    figures: dict[str, list[float]] = {}
    cpu: dict[str, list[float]] = {}
    baseline = "python -c 'import prefect'"
    figures[baseline], cpu[baseline] = import_prefect(20)
    print(f"{line(baseline, figures[baseline])}  CPU p50={statistics.median(cpu[baseline]):5.2f} s")

    def measure(label: str, phase) -> None:  # noqa: ANN001 (a call returning seconds)
        first = len(CPU)
        figures[label] = phase()
        cpu[label] = CPU[first:]
        print(f"{line(label, figures[label])}  CPU p50={statistics.median(cpu[label]):5.2f} s")
        print(f"  load: {load()}", flush=True)

    with (
        scratch_embedded_default() as (home, api_url),
        served_in_subprocess(api_url, home / "serve.log"),
    ):
        os.environ["PREFECT_API_URL"] = api_url  # the commands find the API as a person's do
        people = args.pmo_people
        idle = start([f"IDLE{i}" for i in range(args.idle_projects)], home, people)
        busy = start([f"BUSY{i}" for i in range(args.busy_projects)], home, args.busy_people)
        old = start(["OLD0"], home, 2) if args.previous else []
        measure("pmo approve, idle", lambda: answer_gates(idle, api_url))
        measure("pmo approve, 10 at once", lambda: gates_at_once(busy, api_url))
        measure("pmo status, idle", lambda: report(idle, api_url, args.idle_updates))
        rounds = [[status_args(p, args.updates) for p in busy] for _ in range(args.updates)]
        measure("pmo status, 10 at once", lambda: at_once(rounds, busy, api_url))
        if old:
            code = previous_code(args.previous, home)
            label = f"({args.previous}, before)"
            measure(f"pmo approve, idle {label}", lambda: answer_gates(old, api_url, code))
            measure(f"pmo status, idle {label}", lambda: report(old, api_url, 4, code))
    print(f"load at end: {load()}")
    for label, values in figures.items():
        print(f"{line(label, values)}  CPU p50={statistics.median(cpu[label]):5.2f} s")
    base = percentile(figures[baseline], 95)
    for label in [name for name in figures if name.startswith("pmo") and "before" not in name]:
        p95 = percentile(figures[label], 95)
        verdict = "met" if p95 <= 1 else "MISSED"
        print(f"{label:<24} p95 {p95:.3f} s = {p95 / base:.2f} x import prefect; <= 1 s: {verdict}")


if __name__ == "__main__":
    main()
