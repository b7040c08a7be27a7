"""How long a status update takes on the embedded default: from `pmo status` being called
to its return (the store judged and recorded the update with its earned value, and woke the
suspended run), and to the status report being mailed (the run came back and wrote it).

Run by hand: `python bench/status_latency.py [--updates 8]`. One local Prefect server and
the deployments served as `pmo up` serves them (1 s runner poll); one project is taken
through its charter and plan gates, then its project manager reports `--updates` times.
"""

import argparse
import statistics
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import yaml
from embedded import scratch_embedded_default, wait_until

from pmo.brief import EXAMPLE_BRIEF, load_brief
from pmo.control.updates import StatusUpdate
from pmo.gates.rules import Answer, gate_approvers
from pmo.mail import read_outbox
from pmo.runtime.answering import submit_answer, submit_status_update
from pmo.runtime.approver_bot import code_from_outbox, next_status_turn
from pmo.runtime.runs import start_lifecycle
from pmo.runtime.serve import served_in_subprocess
from process_library.loader import load_lifecycle

STAGES = load_lifecycle("pmbok-waterfall").lifecycle.stages


def reports_mailed() -> int:
    return sum(1 for m in read_outbox() if "Status report" in str(m["Subject"]))


def run(folder: Path, updates: int) -> tuple[list[float], list[float]]:
    data = yaml.safe_load(EXAMPLE_BRIEF.read_text(encoding="utf-8"))
    path = folder / "brief.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    brief = load_brief(path)
    run_id = start_lifecycle(path, "pmbok-waterfall").run_id
    for stage in STAGES[:2]:
        ref = f"{brief.key}/{stage.key}/1/{stage.gate.key}/1"
        for approver in gate_approvers(stage.gate, brief):
            code = wait_until(lambda a=approver, r=ref: code_from_outbox(r, a))
            submit_answer(run_id, Answer(approver, "go", code, "Benchmark"))
    turn = wait_until(lambda: next_status_turn(run_id))
    recorded, mailed = [], []
    for number in range(1, updates + 1):
        percent = 100.0 * number / (updates + 1)
        update = StatusUpdate(
            as_of=brief.start_date + timedelta(days=120 + 3 * number),
            progress=dict.fromkeys(turn.packages, percent),
            actual_cost=Decimal(int(brief.budget) * number // (updates + 1)),
            forecast_finish=date(2027, 10, 29),
            forecast_cost=Decimal(int(brief.budget)),
        )
        before = reports_mailed()
        called = time.monotonic()
        submit_status_update(run_id, update)
        recorded.append(time.monotonic() - called)
        wait_until(lambda b=before: reports_mailed() >= b + 2, every=0.02)  # two readers
        mailed.append(time.monotonic() - called)
    return recorded, mailed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=8, help="status updates to submit")
    args = parser.parse_args()
    with (
        scratch_embedded_default() as (home, api_url),
        served_in_subprocess(api_url, home / "serve.log"),
    ):
        recorded, mailed = run(home, args.updates)
    for label, values in (("pmo status returned", recorded), ("status report mailed", mailed)):
        print(
            f"{label:<22} updates={len(values):>3}  p50={statistics.median(values):6.2f} s"
            f"  max={max(values):6.2f} s"
        )


if __name__ == "__main__":
    main()
