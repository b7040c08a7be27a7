"""`pmo demo`'s phases, quick start against the baseline (the server started as before:
a fresh database migrated, every service, the paused run polling every second).

Each run is a fresh process, as `pmo demo` is, so the wall time includes importing
Prefect and ours. The two configurations alternate, so both see the same load. The
database template is built before the first run (its cost is printed once).

    .venv/bin/python bench/demo_phases.py [RUNS]
"""

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ONE_RUN = """
import json, sys
from pathlib import Path
from pmo.runtime.demo import run_demo
result = run_demo(Path(sys.argv[1]), baseline=sys.argv[2] == "baseline")
assert result.status == "closed", result.status
print(json.dumps(result.seconds))
"""


def run_once(mode: str, out: Path) -> dict[str, float]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", ONE_RUN, str(out), mode], capture_output=True, text=True
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{mode} run failed:\n{done.stderr[-3000:]}")
    phases = json.loads(done.stdout.strip().splitlines()[-1])
    phases["imports and the rest"] = wall - sum(phases.values())
    phases["wall"] = wall
    return phases


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    from pmo.runtime.server import migrated_database, prefect_version
    from pmo.settings import get_settings

    cache = get_settings().resolved_home / "cache"
    had = (cache / f"prefect-{prefect_version()}.db").exists()
    started = time.perf_counter()
    migrated_database(cache)
    built = "cached already" if had else f"built in {time.perf_counter() - started:.1f} s"
    print(f"database template under {cache}: {built}")
    results: dict[str, list[dict[str, float]]] = {"quick": [], "baseline": []}
    with tempfile.TemporaryDirectory(prefix="pmo-bench-demo-") as scratch:
        for index in range(runs):
            for mode in ("quick", "baseline"):
                phases = run_once(mode, Path(scratch) / f"{mode}-{index}")
                results[mode].append(phases)
                shown = ", ".join(f"{k} {v:.1f}" for k, v in phases.items())
                print(f"run {index + 1} {mode:8}: {shown}")
    print(f"\nmedian of {runs} (s)      quick  baseline")
    for phase in results["quick"][0]:
        quick = statistics.median(r[phase] for r in results["quick"])
        base = statistics.median(r.get(phase, 0.0) for r in results["baseline"])
        print(f"{phase:22} {quick:7.1f} {base:8.1f}")


if __name__ == "__main__":
    main()
