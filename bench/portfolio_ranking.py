"""How long `pmo portfolio --json` takes on a large portfolio, against reading the same rows.

Run by hand: `python bench/portfolio_ranking.py [--projects 2000] [--postgres URL]`.

Fills a fresh store (SQLite in a temporary folder, or a fresh PostgreSQL database) with N
open projects, each with the bundled plan (a dozen work packages, seven roles) approved as
its baseline, started 0 to 23 months apart, a third of them scored at their funding gate.
Then, each as a new process, as a PMO runs them (median of --repeat runs):
- baseline: a process that imports the store and reads the rows the portfolio reads
  (`pmo.portfolio.rows`: the open projects' brief fields, their lifecycles' funding gates,
  the funding gates' answers and scores, the latest earned value, the baselines' figures);
- `pmo portfolio --json`: the same rows, plus every schedule, ranking, funding line,
  capacity by role and month, and the JSON printed.
Goal: at most 3 s for 2,000 projects, and growing linearly (run with --projects 1000 too).
"""

import argparse
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

# The same rows `pmo portfolio` reads (pmo.portfolio.rows), alone: nothing computed.
READ_ROWS = """
from pmo.portfolio.rows import read_portfolio_rows
from pmo.store import session_scope
with session_scope() as session:
    rows = read_portfolio_rows(session)
print(len(rows.projects), len(rows.baselines))
"""


def fresh_postgres(admin_url: str) -> str:
    name = f"pmo_bench_portfolio_{os.getpid()}"
    admin = create_engine(
        make_url(admin_url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def fill(count: int) -> None:
    from pmo.brief import EXAMPLE_BRIEF, load_brief
    from pmo.store import session_scope
    from pmo.store.models import Gate, GateDecision, GateScore, StageRun
    from pmo.store.plans import record_baseline
    from pmo.store.records import ensure_gate, ensure_project, ensure_stage_run
    from process_library.loader import load_lifecycle

    lifecycle = load_lifecycle("pmbok-waterfall")
    initiation = lifecycle.lifecycle.stages[0]
    example = load_brief(EXAMPLE_BRIEF)
    rng = random.Random(7)
    for number in range(count):
        shift = timedelta(days=30 * rng.randrange(24))
        plan = example.plan.model_copy(update={"start": example.plan.start + shift})
        brief = example.model_copy(
            update={
                "key": f"P{number:05d}",
                "start_date": example.start_date + shift,
                "target_end_date": example.target_end_date + shift,
                "plan": plan,
                "category": rng.choice(["mandatory", "grow", "grow", "run", "transform"]),
                "benefits": Decimal(rng.randrange(100, 900) * 1000),
            }
        )
        with session_scope() as session:
            project = ensure_project(session, brief=brief, lifecycle=lifecycle, flow_run_id=None)
            stage_run = ensure_stage_run(session, project=project, stage=initiation, attempt=1)
            gate = ensure_gate(
                session,
                stage_run=stage_run,
                gate_key=initiation.gate.key,
                gate_name=initiation.gate.name,
                flow_run_id=None,
            )
            if number % 3 == 0:
                decision = GateDecision(
                    gate_id=gate.id,
                    round=1,
                    response_key=f"bench-{number}",
                    approver_email="dana.reyes@example.com",
                    decision="go",
                    accepted=True,
                    channel="cli",
                )
                session.add(decision)
                session.flush()
                for key in ("strategic-fit", "risk-exposure"):
                    session.add(
                        GateScore(
                            gate_decision_id=decision.id,
                            criterion_key=key,
                            kind="score",
                            value=rng.randrange(3, 11),
                        )
                    )
                gate.status, gate.outcome = "decided", "go"
                session.get(StageRun, stage_run.id).status = "done"
            record_baseline(
                session, project_id=project.id, plan=plan, gate_id=None, reason="Bench plan"
            )
            assert isinstance(gate, Gate)


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall seconds from start to output (what the person waits for), the CPU seconds the
    process used (what a loaded machine cannot inflate), and its output."""
    cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    used = after.ru_utime + after.ru_stime - cpu.ru_utime - cpu.ru_stime
    return wall, used, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--postgres", help="an admin URL: the store goes in a fresh database")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pmo-bench-") as home:
        url = fresh_postgres(args.postgres) if args.postgres else f"sqlite:///{home}/pmo.db"
        os.environ |= {"PMO_HOME": home, "PMO_DATABASE_URL": url}
        started = time.perf_counter()
        fill(args.projects)
        print(
            f"{args.projects:,} projects with baselines written in "
            f"{time.perf_counter() - started:.1f} s ({'PostgreSQL' if args.postgres else 'SQLite'})"
        )
        env = dict(os.environ)
        pmo = str(Path(sys.executable).with_name("pmo"))
        rows, portfolio, rows_cpu, portfolio_cpu = [], [], [], []
        for _ in range(args.repeat):
            seconds, cpu, _output = timed([sys.executable, "-c", READ_ROWS], env)
            rows.append(seconds)
            rows_cpu.append(cpu)
            seconds, cpu, output = timed([pmo, "portfolio", "--json"], env)
            portfolio.append(seconds)
            portfolio_cpu.append(cpu)
        baseline, measured = statistics.median(rows), statistics.median(portfolio)
        print(
            f"  baseline: read the same rows alone               {baseline:6.2f} s"
            f"   (cpu {statistics.median(rows_cpu):.2f} s)"
        )
        print(
            f"  pmo portfolio --json                              {measured:6.2f} s"
            f"   (cpu {statistics.median(portfolio_cpu):.2f} s)"
            f"   ratio {measured / baseline:.2f}   goal <= 3 s"
        )
        print(f"  ({len(output):,} bytes of JSON; load {os.getloadavg()[0]:.2f})")


if __name__ == "__main__":
    main()
