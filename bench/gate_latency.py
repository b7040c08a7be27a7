"""How fast a decided gate moves the run on: from `pmo approve` returning (the deciding
answer) to the next stage's first task starting, on the embedded default.

Run by hand: `python bench/gate_latency.py [--projects 7]`. One local Prefect server
serves the lifecycle twice in this process: first with Prefect's default runner poll
(10 s, the baseline), then as `pmo up` serves it (1 s). Each project passes the gates that
lead to a next stage from a stage without status reporting (charter and plan approval: a
reporting stage waits for updates first, see bench/status_latency.py), so the default 7
projects measure 14 gates.
"""

import argparse
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import yaml
from embedded import scratch_embedded_default, wait_until
from prefect import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

from pmo.brief import EXAMPLE_BRIEF, load_brief
from pmo.gates.rules import Answer, gate_approvers
from pmo.runtime.answering import submit_answer
from pmo.runtime.approver_bot import code_from_outbox
from pmo.runtime.runs import start_lifecycle
from pmo.runtime.serve import RUNNER_POLL_SECONDS, served_in_subprocess
from process_library.loader import load_lifecycle

STAGES = load_lifecycle("pmbok-waterfall").lifecycle.stages
# Each gate that leads to a next stage, with the stage whose first task shows the run moved on.
GATES = [(s, n) for s, n in zip(STAGES, STAGES[1:], strict=False) if not s.reporting]


def task_started(client, run_id: str, name: str) -> float | None:
    runs = client.read_task_runs(
        flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[UUID(run_id)]))
    )
    for task_run in runs:
        if task_run.name == name and task_run.start_time:
            return task_run.start_time.timestamp()
    return None


@dataclass(frozen=True)
class Latency:
    """`approve`: seconds the deciding `pmo approve` took to return (it records the answer
    and wakes the run). Then seconds until the next stage's first task started: after it
    returned, after the run was woken (Prefect accepted the resume), and from the call."""

    approve: float
    after_return: float
    after_resume: float
    from_call: float


METRICS = ("approve", "after_return", "after_resume", "from_call")


def run_project(key: str, folder: Path) -> list[Latency]:
    """Start one project and answer the gates in GATES."""
    brief = yaml.safe_load(EXAMPLE_BRIEF.read_text(encoding="utf-8"))
    brief["key"] = key
    path = folder / f"{key}.yaml"
    path.write_text(yaml.safe_dump(brief, sort_keys=False), encoding="utf-8")
    run_id = start_lifecycle(path, "pmbok-waterfall").run_id
    approvers_brief = load_brief(path)
    latencies = []
    with get_client(sync_client=True) as client:
        for stage, next_stage in GATES:
            ref = f"{key}/{stage.key}/1/{stage.gate.key}/1"
            for approver in gate_approvers(stage.gate, approvers_brief):
                code = wait_until(lambda a=approver, r=ref: code_from_outbox(r, a))
                called = time.time()  # the last call is the deciding answer
                submit_answer(run_id, Answer(approver, "go", code, "Benchmark"))
            returned = time.time()
            started = wait_until(
                lambda n=next_stage: task_started(client, run_id, f"start {n.name} (attempt 1)"),
                every=0.02,
            )
            resumed = max(
                state.timestamp.timestamp()
                for state in client.read_flow_run_states(UUID(run_id))
                if state.is_scheduled() and state.timestamp.timestamp() < started
            )
            latencies.append(
                Latency(
                    approve=returned - called,
                    after_return=started - returned,
                    after_resume=started - resumed,
                    from_call=started - called,
                )
            )
    return latencies


def measure(label: str, api_url: str, poll: float, projects: int, home: Path) -> list[Latency]:
    latencies: list[Latency] = []
    with served_in_subprocess(api_url, home / f"serve-{poll}.log", poll_seconds=poll):
        for number in range(projects):
            latencies += run_project(f"B{int(poll)}P{number}", home)
    for name in METRICS:
        values = [getattr(latency, name) for latency in latencies]
        print(
            f"{label:<28} {name:<12} gates={len(values):>3}  p50={percentile(values, 50):6.3f} s"
            f"  p95={percentile(values, 95):6.3f} s  max={max(values):6.3f} s"
        )
    return latencies


def percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--projects", type=int, default=7, help="projects at 1 s poll (2 gates each)"
    )
    parser.add_argument("--baselines", type=int, default=1, help="projects at 10 s poll")
    args = parser.parse_args()
    with scratch_embedded_default() as (home, api_url):
        baseline = measure("prefect default (poll 10 s)", api_url, 10, args.baselines, home)
        ours = measure(
            f"pmo up (poll {RUNNER_POLL_SECONDS} s)",
            api_url,
            RUNNER_POLL_SECONDS,
            args.projects,
            home,
        )
    for name in METRICS:
        p95 = percentile([getattr(x, name) for x in ours], 95)
        base = percentile([getattr(x, name) for x in baseline], 95)
        verdict = "met" if p95 <= 2 else "MISSED"
        print(
            f"{name:<12} p95 pmo up {p95:.3f} s vs prefect default {base:.3f} s; <= 2 s: {verdict}"
        )


if __name__ == "__main__":
    main()
