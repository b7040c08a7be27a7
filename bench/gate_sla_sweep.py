"""What the gate-sla sweep costs as gates pile up, and what it costs an approver who answers
while it runs: `pmo approve` from the command's start to its exit.

Run by hand: `python bench/gate_sla_sweep.py [--gates 1000] [--answers 10]`, with the
machine otherwise quiet. The store is a scratch database on the PostgreSQL server at
PMO_BENCH_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/postgres), the shape
where a PMO's many gates wait. Each project waits at gate 1 of `stage-gate` with a code
mailed to each gatekeeper, recorded as the lifecycle flow records it (no Prefect: the
sweep's gate checks read only the store). The sweep is `check_gate_slas` as the gate-sla
flow calls it, at the present time, so no gate is due: the common case, every few minutes.

Each answer is one gatekeeper's go, which decides nothing (majority of two or three), so
the command records it and exits without waking a run. The answers go to the gates the
sweep checks first, one after another while it runs.

Baselines in the same run: the sweep over a tenth of the gates (the cost per gate should
not grow with their number), and the same answers with no sweep running.
"""

import argparse
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from embedded import scratch_postgres_store  # noqa: E402

from pmo.gates.sla import check_gate_slas  # noqa: E402
from pmo.store.models import utcnow  # noqa: E402
from tests.gates.test_concurrency import project_at_idea_screen  # noqa: E402

PMO = str(Path(sys.executable).with_name("pmo"))


def timed_sweep() -> float:
    started = time.perf_counter()
    check_gate_slas(now=utcnow())
    return time.perf_counter() - started


def approve(run_id: str, approver: str, code: str) -> float:
    """Seconds from `pmo approve`'s start to its exit; the command must succeed."""
    started = time.perf_counter()
    done = subprocess.run(
        [PMO, "approve", run_id, "--as", approver, "--decision", "go", "--code", code],
        capture_output=True,
        text=True,
    )
    took = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"pmo approve exited {done.returncode}: {done.stderr.strip()}")
    return took


def answers_during_sweep(waiting: list[tuple[str, dict[str, str]]]) -> tuple[float, list[float]]:
    """The sweep's seconds and each answer's, answered while the sweep runs."""
    took: list[float] = []
    sweep = threading.Thread(target=lambda: took.append(timed_sweep()))
    sweep.start()
    answered = []
    for run_id, codes in waiting:
        if not sweep.is_alive():
            break
        approver, code = next(iter(codes.items()))
        answered.append(approve(run_id, approver, code))
    sweep.join()
    return took[0], answered


def figures(label: str, seconds: list[float]) -> str:
    return (
        f"{label}: {len(seconds)} answers, p50 {statistics.median(seconds):.2f} s, "
        f"max {max(seconds):.2f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gates", type=int, default=1000, help="projects waiting at a gate")
    parser.add_argument("--answers", type=int, default=10, help="answers idle and during")
    args = parser.parse_args()
    scratch_postgres_store("pmo_bench_gate_sla")

    small = max(args.gates // 10, 1)
    started = time.perf_counter()
    waiting = [project_at_idea_screen(n) for n in range(small)]
    print(f"{small} projects at their gate in {time.perf_counter() - started:.1f} s")
    sweep_small = statistics.median(timed_sweep() for _ in range(3))
    waiting += [project_at_idea_screen(n) for n in range(small, args.gates)]
    print(f"{args.gates} projects at their gate in {time.perf_counter() - started:.1f} s")
    sweep_all = statistics.median(timed_sweep() for _ in range(3))
    per_small, per_all = sweep_small / small * 1000, sweep_all / args.gates * 1000
    print(
        f"sweep over {small} gates: {sweep_small:.2f} s ({per_small:.1f} ms a gate); "
        f"over {args.gates}: {sweep_all:.2f} s ({per_all:.1f} ms a gate, "
        f"{per_all / per_small:.2f}x)"
    )

    run_id, codes = waiting[0]
    approve(run_id, *next(iter(codes.items())))  # warms the file cache for the command
    idle = [
        approve(run_id, *next(iter(codes.items())))
        for run_id, codes in waiting[1 : 1 + args.answers]
    ]
    print(figures("pmo approve, no sweep running", idle))
    rest = waiting[1 + args.answers :]
    sweep_took, during = answers_during_sweep(rest[: args.answers])
    print(f"sweep while answering: {sweep_took:.2f} s")
    if not during:
        raise SystemExit("the sweep ended before the first answer: give it more --gates")
    print(figures("pmo approve, during a sweep", during))
    print(
        f"ratio during / idle: p50 {statistics.median(during) / statistics.median(idle):.2f}x, "
        f"max {max(during) / max(idle):.2f}x"
    )


if __name__ == "__main__":
    main()
