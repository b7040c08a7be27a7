"""Benchmark: the plan baseline document of a 500-package plan, against writing its work
breakdown and Gantt chart straight with python-docx in the same run.

Run by hand, not by pytest:

    .venv/bin/python bench/plan_document.py [N]

"pmo-flows" is the product's one way: the plan recorded as proposed in a temporary SQLite
store, then `write_document_version` (dossier, sandboxed template, Markdown, the Gantt
chart, the cumulative PV and effort charts, Markdown to .docx, the version on disk and in
the store). "python-docx" schedules the same plan and writes the same work breakdown table
and the same Gantt chart into a python-docx Document, as a hand-written exporter would
(no store, no cost curve or effort chart). Goal: the document in at most 2 s.
"""

import os
import random
import statistics
import sys
import tempfile
import time
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["PMO_HOME"] = tempfile.mkdtemp(prefix="pmo-bench-")
os.environ.pop("PMO_DATABASE_URL", None)

import docx  # noqa: E402
from docx.shared import Inches  # noqa: E402

from pmo.brief import EXAMPLE_BRIEF, load_brief  # noqa: E402
from pmo.control.planning import begin_plan_wait, record_plan  # noqa: E402
from pmo.documents.plan_charts import draw_gantt  # noqa: E402
from pmo.documents.versions import write_document_version  # noqa: E402
from pmo.plan.model import parse_plan  # noqa: E402
from pmo.plan.schedule import schedule_plan  # noqa: E402
from pmo.store import session_scope  # noqa: E402
from pmo.store.records import ensure_project, ensure_stage_run  # noqa: E402
from process_library.loader import load_lifecycle  # noqa: E402

PACKAGES = 500
LIFECYCLE = load_lifecycle("pmbok-waterfall")
PLANNING = LIFECYCLE.lifecycle.stage("planning")
ROLES = ("analyst", "developer", "tester", "architect")


def generated_plan(seed: int = 7):
    """500 packages in 25 phases of 20, each depending on one to three of the phase before."""
    rng = random.Random(seed)
    packages = []
    for index in range(PACKAGES):
        phase, number = divmod(index, 20)
        before = [f"{phase}.{n}" for n in range(1, 21)] if phase else []
        packages.append(
            {
                "key": f"{phase + 1}.{number + 1}",
                "name": f"Work package {index + 1} of phase {phase + 1}",
                "owner": "sam.okafor@example.com",
                "duration_days": rng.randint(1, 15),
                "depends_on": rng.sample(before, rng.randint(1, 3)) if before else [],
                "budget": rng.randint(1, 40) * 1000,
                "effort": {rng.choice(ROLES): rng.randint(2, 30)},
            }
        )
    return parse_plan(
        {
            "start": "2027-02-01",
            "work_packages": packages,
            "milestones": [{"name": "Done", "after": [packages[-1]["key"]]}],
        }
    )


def proposed(plan, brief) -> None:
    with session_scope() as session:
        project = ensure_project(session, brief=brief, lifecycle=LIFECYCLE, flow_run_id=None)
        stage_run = ensure_stage_run(session, project=project, stage=PLANNING, attempt=1)
        begin_plan_wait(session, stage_run_id=stage_run.id, prefix="plan-planning-1")
        record_plan(
            session,
            stage_run_id=stage_run.id,
            stage=PLANNING,
            plan=plan,
            response_key="bench",
            channel="cli",
        )


def with_pmo_flows(brief, run: int) -> float:
    started = time.perf_counter()
    with session_scope() as session:
        write_document_version(
            session,
            brief=brief,
            lifecycle=LIFECYCLE,
            stage=PLANNING,
            attempt=1,
            document_key="plan-baseline",
            template="plan-baseline",
            title="Project plan baseline",
            idempotency_key=f"bench-{run}",
        )
    return time.perf_counter() - started


def with_python_docx(plan) -> float:
    started = time.perf_counter()
    schedule = schedule_plan(plan)
    document = docx.Document()
    document.add_heading("Work breakdown", level=1)
    header = ["WBS", "Work package", "Owner", "Days", "Start", "Finish", "Float", "Budget"]
    table = document.add_table(rows=1, cols=len(header))
    for cell, text in zip(table.rows[0].cells, header, strict=True):
        cell.text = text
    for p in schedule.packages.values():
        cells = table.add_row().cells
        values = [
            p.key,
            p.package.name,
            p.package.owner,
            str(p.package.duration_days),
            p.early_start.isoformat(),
            p.early_finish.isoformat(),
            str(p.total_float),
            f"{p.package.budget:,}",
        ]
        for cell, text in zip(cells, values, strict=True):
            cell.text = text
    document.add_picture(BytesIO(draw_gantt(schedule)), width=Inches(6.5))
    document.save(BytesIO())
    return time.perf_counter() - started


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    brief = load_brief(EXAMPLE_BRIEF)
    plan = generated_plan()
    proposed(plan, brief)
    with_pmo_flows(brief, -1)  # warm: imports, matplotlib's font cache
    with_python_docx(plan)
    ours = [with_pmo_flows(brief, run) for run in range(runs)]
    direct = [with_python_docx(plan) for _ in range(runs)]
    print(f"plan: {PACKAGES} work packages, {runs} runs each")
    print(
        f"pmo-flows plan baseline (Markdown + 3 charts + .docx + store): "
        f"median {statistics.median(ours):.3f} s, max {max(ours):.3f} s (goal 2 s)"
    )
    print(
        f"python-docx WBS table + Gantt chart only: median {statistics.median(direct):.3f} s, "
        f"max {max(direct):.3f} s"
    )


if __name__ == "__main__":
    main()
