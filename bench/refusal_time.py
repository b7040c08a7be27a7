"""Benchmark: how long `pmo start` takes to refuse a bad brief, wall time from the command.

Run by hand, not by pytest:

    .venv/bin/python bench/refusal_time.py [N]

Each side starts a new Python process N times, as a person's shell would, and runs
`pmo start BAD.yaml` on a brief without a purpose (refused: exit 2, one line). "pmo start"
is the command as shipped: it reads and checks the brief before importing Prefect.
The baseline is the same command in a process that first imports `pmo.runtime.runs`, as
`pmo start` did before it checked the brief first (Prefect, the flows and the store all
load before the brief is read). Both sides alternate, so a busy machine slows both alike.
Target: the refusal well under a second.
"""

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMMAND = "import sys; from pmo.cli import main; sys.argv = ['pmo', 'start', sys.argv[1]]; main()"
BASELINE = "import pmo.runtime.runs; " + COMMAND


def timed(code: str, brief: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code, str(brief)], env=env, capture_output=True, text=True
    )
    seconds = time.perf_counter() - started
    refusal = done.stderr.strip()
    assert done.returncode == 2 and refusal.endswith("purpose: Field required"), refusal
    return seconds


def main(runs: int) -> None:
    with tempfile.TemporaryDirectory(prefix="pmo-bench-") as scratch:
        brief = Path(scratch) / "bad-brief.yaml"
        brief.write_text("key: BAD\nname: A brief without a purpose\n", encoding="utf-8")
        env = {**os.environ, "PMO_HOME": scratch, "PYTHONPATH": str(ROOT)}
        shipped, baseline = [], []
        for _ in range(runs):
            shipped.append(timed(COMMAND, brief, env))
            baseline.append(timed(BASELINE, brief, env))
    load = os.getloadavg()
    print(f"pmo start BAD.yaml, {runs} runs each (load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f})")
    for name, times in (("pmo start (shipped)", shipped), ("Prefect first (baseline)", baseline)):
        p95 = sorted(times)[max(0, round(0.95 * len(times)) - 1)]
        print(f"  {name:26} median {statistics.median(times):.2f} s  p95 {p95:.2f} s")
    ratio = statistics.median(baseline) / statistics.median(shipped)
    print(f"  the refusal is {ratio:.1f} times faster than with Prefect imported first")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10)
