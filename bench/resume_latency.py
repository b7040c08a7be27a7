"""How fast a resumed run's flow code runs again: from Prefect accepting the resume to the
resumed run's first task starting, with the warm resumer (as `pmo up` runs it) against the
stock runner polling every second, in the same run; and what a resume replays before it
is back at its gate, at an early gate (charter approval) and a late one (plan approval).

Run by hand: `python bench/resume_latency.py [--resumes 200] [--bursts 20]
[--baseline-resumes 30] [--baseline-bursts 3]`. Ten projects wait at gates (five at the
charter, five at the plan); each resume wakes one without an answer (as gate-sla does), so
it comes back from the top, finds nothing new and suspends again at a fresh pause. Idle:
one resume at a time; burst: all ten at once (the resumer with ten slots).
"""

import argparse
import os
import statistics
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from uuid import UUID

import yaml
from embedded import scratch_embedded_default, wait_until
from prefect import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.states import Scheduled

from pmo.brief import EXAMPLE_BRIEF, load_brief
from pmo.gates.rules import Answer, gate_approvers
from pmo.runtime.answering import submit_answer
from pmo.runtime.approver_bot import code_from_outbox
from pmo.runtime.runs import start_lifecycle
from pmo.runtime.serve import (
    RUNNER_POLL_SECONDS,
    SAFETY_NET_POLL_SECONDS,
    resumer_in_subprocess,
    served_in_subprocess,
)
from process_library.loader import load_lifecycle

PROJECTS = 10
INITIATION, PLANNING = load_lifecycle("pmbok-waterfall").lifecycle.stages[:2]


@dataclass(frozen=True)
class Resume:
    gate: str  # "early" or "late"
    latency: float  # resume accepted -> first task of the resumed run started
    replay: float  # first task started -> suspended again at its gate
    tasks: int  # task runs it went through before suspending again


def start_projects(prefix: str, folder: Path) -> dict[str, str]:
    """Ten projects at their gates: run id -> "early" (charter) or "late" (plan)."""
    runs = {}
    for number in range(PROJECTS):
        brief = yaml.safe_load(EXAMPLE_BRIEF.read_text(encoding="utf-8"))
        brief["key"] = key = f"{prefix}{number}"
        path = folder / f"{key}.yaml"
        path.write_text(yaml.safe_dump(brief, sort_keys=False), encoding="utf-8")
        runs[start_lifecycle(path, "pmbok-waterfall").run_id] = (key, path)
    gates = {run_id: "late" if number % 2 else "early" for number, run_id in enumerate(runs)}
    with get_client(sync_client=True) as client:
        for run_id in runs:
            wait_until(lambda r=run_id: suspended_after(client, r, 0), timeout=300)
        for run_id, (key, path) in runs.items():
            if gates[run_id] == "late":
                answer_gate(run_id, key, load_brief(path), INITIATION)
        for run_id, (key, path) in runs.items():
            if gates[run_id] == "late":
                plan = f"{key}/{PLANNING.key}/1/{PLANNING.gate.key}/1"
                first = next(iter(gate_approvers(PLANNING.gate, load_brief(path))))
                wait_until(lambda p=plan, a=first: code_from_outbox(p, a), timeout=300)
                wait_until(lambda r=run_id: suspended_after(client, r, 0), timeout=300)
    return gates


def answer_gate(run_id: str, key: str, brief, stage) -> None:  # noqa: ANN001
    ref = f"{key}/{stage.key}/1/{stage.gate.key}/1"
    for approver in gate_approvers(stage.gate, brief):
        code = wait_until(lambda a=approver: code_from_outbox(ref, a), timeout=300)
        submit_answer(run_id, Answer(approver, "go", code, "Benchmark"))


def suspended_after(client, run_id: str, after: float) -> float | None:  # noqa: ANN001
    state = client.read_flow_run(UUID(run_id)).state
    if state and state.is_paused() and state.timestamp.timestamp() > after:
        return state.timestamp.timestamp()
    return None


def wake(client, run_id: str) -> float:  # noqa: ANN001
    """Resume the suspended run as a channel does; when Prefect accepted it."""
    result = client.set_flow_run_state(UUID(run_id), Scheduled(name="Resuming"), force=True)
    return result.state.timestamp.timestamp()


def measured(client, run_id: str, gate: str, accepted: float) -> Resume | None:  # noqa: ANN001
    back = wait_until(lambda: suspended_after(client, run_id, accepted), every=0.05)
    tasks = client.read_task_runs(
        flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[UUID(run_id)]))
    )
    starts = [
        t.start_time.timestamp()
        for t in tasks
        if t.start_time and accepted < t.start_time.timestamp() < back
    ]
    if not starts:  # its tasks' times not recorded yet: count it, do not guess
        return None
    first = min(starts)
    return Resume(gate, first - accepted, back - first, len(starts))


def measure(label: str, gates: dict[str, str], resumes: int, bursts: int) -> dict:
    runs = list(gates)
    load = os.getloadavg()[0]
    idle, burst = [], []
    with get_client(sync_client=True) as client:
        for number in range(resumes):
            run_id = runs[number % len(runs)]
            idle.append(measured(client, run_id, gates[run_id], wake(client, run_id)))
        for _ in range(bursts):
            accepted = {run_id: wake(client, run_id) for run_id in runs}
            burst += [measured(client, r, gates[r], at) for r, at in accepted.items()]
    unmeasured = idle.count(None) + burst.count(None)
    idle, burst = [s for s in idle if s], [s for s in burst if s]
    load = f"{load:.2f} -> {os.getloadavg()[0]:.2f}"
    if unmeasured:
        print(f"{label}: {unmeasured} resumes without a task start on record, left out")
    for name, samples in (("idle", idle), ("10 at once", burst)):
        values = [s.latency for s in samples]
        print(
            f"{label:<34} {name:<10} n={len(values):>3}  p50={percentile(values, 50):6.3f} s"
            f"  p95={percentile(values, 95):6.3f} s  max={max(values):6.3f} s  (load {load})"
        )
    return {"idle": idle, "burst": burst}


def percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def replay_report(samples: list[Resume]) -> None:
    for gate in ("early", "late"):
        at = [s for s in samples if s.gate == gate]
        print(
            f"replay before the {gate} gate ({'charter' if gate == 'early' else 'plan'}): "
            f"n={len(at)} p50={statistics.median(s.replay for s in at):.3f} s "
            f"p95={percentile([s.replay for s in at], 95):.3f} s, "
            f"tasks {min(s.tasks for s in at)}..{max(s.tasks for s in at)}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resumes", type=int, default=200, help="idle resumes, resumer")
    parser.add_argument("--bursts", type=int, default=20, help="bursts of 10, resumer")
    parser.add_argument("--baseline-resumes", type=int, default=30, help="idle, stock runner")
    parser.add_argument("--baseline-bursts", type=int, default=3, help="bursts, stock runner")
    args = parser.parse_args()
    print(f"{datetime.now():%Y-%m-%d %H:%M}, {os.cpu_count()} cores")
    with scratch_embedded_default() as (home, api_url):
        with served_in_subprocess(api_url, home / "stock.log", poll_seconds=RUNNER_POLL_SECONDS):
            gates = start_projects("S", home)
            stock = measure(
                f"stock runner (poll {RUNNER_POLL_SECONDS} s)",
                gates,
                args.baseline_resumes,
                args.baseline_bursts,
            )
        with (
            served_in_subprocess(api_url, home / "net.log", poll_seconds=SAFETY_NET_POLL_SECONDS),
            resumer_in_subprocess(api_url, home / "resumer.log", slots=PROJECTS),
        ):
            gates = start_projects("W", home)
            warm = measure("warm resumer (pmo up)", gates, args.resumes, args.bursts)
            started = (home / "resumer.log").read_text().count(") in process ")
    print(f"runs the resumer started: {started} (the rest by the safety-net runner)")
    replay_report(warm["idle"] + warm["burst"])
    for name in ("idle", "burst"):
        ours = percentile([s.latency for s in warm[name]], 95)
        base = percentile([s.latency for s in stock[name]], 95)
        verdict = "met" if ours <= 0.5 else "MISSED"
        print(
            f"{name:<5} p95 warm {ours:.3f} s vs stock {base:.3f} s "
            f"({base / ours:.1f}x); <= 0.5 s: {verdict}"
        )


if __name__ == "__main__":
    main()
