"""Benchmark: render a project charter (Markdown + .docx) against writing it with python-docx.

Run by hand, not by pytest:

    /work/venv/bin/python bench/charter_render.py [N]

Both sides start from the same dossier (the example brief, recorded in a temporary SQLite
store with its first gate decided) and the same reference .docx, and both produce the
.docx bytes. "pmo-flows" is the product's one way to render (sandboxed Jinja2 template ->
Markdown -> markdown_to_docx); "python-docx" writes the same headings, lists and tables
straight into a python-docx Document, as a hand-written exporter would. Targets: median
at most 50 ms, and at most 1.5 times the direct python-docx time.
"""

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["PMO_HOME"] = tempfile.mkdtemp(prefix="pmo-bench-")
os.environ.pop("PMO_TEMPLATES_DIR", None)
os.environ.pop("PMO_REFERENCE_DOCX", None)

import docx  # noqa: E402
from docx.document import Document  # noqa: E402

from pmo.brief import EXAMPLE_BRIEF, load_brief  # noqa: E402
from pmo.documents.docx import (  # noqa: E402
    BUNDLED_REFERENCE,  # noqa: E402
    DocumentHeader,
    markdown_to_docx,
)
from pmo.documents.dossier import build_dossier  # noqa: E402
from pmo.store import session_scope  # noqa: E402
from pmo.store.models import GateDecision, utcnow  # noqa: E402
from pmo.store.records import (  # noqa: E402
    ensure_gate,
    ensure_project,
    ensure_stage_run,
    mark_decided,
)
from pmo.templating import (  # noqa: E402
    format_date,
    format_datetime,
    money,
    render_markdown,  # noqa: E402
)
from process_library.loader import load_lifecycle  # noqa: E402

HEADER = DocumentHeader(
    project="APOLLO · Apollo customer portal",
    document="Project charter",
    version="v1",
    stage="Initiation (attempt 1)",
    lifecycle="pmbok-waterfall",
)


def make_dossier() -> dict:
    """The example project, its first gate decided go by both approvers, as a charter sees it."""
    brief = load_brief(EXAMPLE_BRIEF)
    loaded = load_lifecycle("pmbok-waterfall")
    stage = loaded.lifecycle.stages[0]
    with session_scope() as session:
        project = ensure_project(session, brief=brief, lifecycle=loaded, flow_run_id=None)
        stage_run = ensure_stage_run(session, project=project, stage=stage, attempt=1)
        gate = ensure_gate(
            session,
            stage_run=stage_run,
            gate_key=stage.gate.key,
            gate_name=stage.gate.name,
            flow_run_id=None,
        )
        for number, approver in enumerate(("dana.reyes@example.com", "pmo@example.com")):
            session.add(
                GateDecision(
                    gate_id=gate.id,
                    round=1,
                    response_key=f"bench-{number}",
                    approver_email=approver,
                    roles="sponsor" if number == 0 else "pmo",
                    decision="go",
                    comment="Charter reviewed; criteria met.",
                    accepted=True,
                )
            )
        session.flush()
        mark_decided(session, gate=gate, stage_run=stage_run, round=1, outcome="go", at=utcnow())
        return build_dossier(
            session,
            project=project,
            brief=brief,
            lifecycle=loaded,
            stage=stage,
            attempt=1,
            version=1,
            charts_at=Path(os.environ["PMO_HOME"]) / "APOLLO-charter-v1",
            extra={"title": "Project charter"},
        )


def render_with_pmo_flows(dossier: dict) -> bytes:
    markdown = render_markdown("charter.md.j2", dossier)
    return markdown_to_docx(markdown, header=HEADER)


def _table(document: Document, header: list[str], rows: list[list[str]]) -> None:
    table = document.add_table(rows=1 + len(rows), cols=len(header))
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, header, strict=True):
        cell.paragraphs[0].add_run(text).bold = True
    for row, values in zip(table.rows[1:], rows, strict=True):
        for cell, text in zip(row.cells, values, strict=True):
            cell.text = text
    document.add_paragraph()


def _bullets(document: Document, items: list[str], empty: str) -> None:
    for item in items or [empty]:
        document.add_paragraph(item, style="List Bullet")


def write_with_python_docx(d: dict) -> bytes:
    """The same charter, written straight into python-docx as a hand-written exporter would."""
    brief, lifecycle = d["brief"], d["lifecycle"]
    document = docx.Document(str(BUNDLED_REFERENCE))
    body = document.element.body
    for child in list(body)[:-1]:  # keep the section properties
        body.remove(child)
    document.sections[0].header.paragraphs[0].text = HEADER.line()
    document.add_heading(f"Project charter: {brief.name}", level=0)
    document.add_paragraph(
        f"Project key: {brief.key} · Tier: {brief.tier} · Lifecycle: {lifecycle.title} "
        f"(version {d['lifecycle_version']}) · Version: {d['version']}"
    )
    document.add_heading("Purpose and justification", level=2)
    document.add_paragraph(brief.purpose)
    document.add_heading("Measurable objectives and success criteria", level=2)
    for objective in brief.objectives:
        document.add_paragraph(objective, style="List Number")
    document.add_paragraph("The project succeeds when each objective above is met.")
    document.add_heading("High-level description, boundaries and key deliverables", level=2)
    document.add_paragraph(
        f"{brief.name} is a {brief.tier}-tier project that runs through the "
        f"{len(lifecycle.stages)} stages of the {lifecycle.title} lifecycle."
    )
    document.add_heading("In scope: the key deliverables", level=3)
    _bullets(document, brief.scope_in, "No in-scope items were given in the brief.")
    document.add_heading("Out of scope", level=3)
    _bullets(document, brief.scope_out, "No exclusions were given in the brief.")
    document.add_heading("High-level requirements", level=2)
    _bullets(document, brief.requirements, "No high-level requirements were given.")
    document.add_heading("High-level risks", level=2)
    _table(
        document,
        ["Risk", "Probability", "Impact", "Rating", "Owner", "Response"],
        [
            [
                r.risk.description,
                r.risk.probability,
                r.risk.impact,
                f"{r.rating} ({r.score})",
                r.risk.owner,
                r.risk.response or "Not yet planned",
            ]
            for r in d["risks"]
        ],
    )
    document.add_heading("Summary milestones", level=2)
    _table(
        document,
        ["Milestone", "Stage", "Planned date"],
        [["Project start", lifecycle.stages[0].name, format_date(brief.start_date)]]
        + [[m.name, m.stage, format_date(m.due)] for m in d["milestones"]],
    )
    document.add_heading("Summary budget", level=2)
    _table(
        document,
        ["Item", "Amount"],
        [
            ["Approved budget", money(brief.budget, brief.currency)],
            ["Allocation to stages", "Not yet planned: the plan baseline allocates it"],
        ],
    )
    document.add_heading("Key stakeholders", level=2)
    _table(
        document,
        ["Name", "Role", "Influence", "Interest", "Engagement"],
        [
            [e.person.name, e.person.role, e.person.influence, e.person.interest, e.quadrant.name]
            for e in d["stakeholders"]
        ],
    )
    document.add_heading("Approval requirements", level=2)
    _table(
        document,
        ["Gate", "Closes stage", "Approver roles", "Approvers", "Quorum", "Decisions"],
        [
            [
                s.gate.name,
                s.name,
                ", ".join(s.gate.approvers),
                "; ".join(", ".join(brief.approvers.get(r, [])) for r in s.gate.approvers),
                str(s.gate.quorum),
                ", ".join(s.gate.decisions),
            ]
            for s in lifecycle.stages
        ],
    )
    document.add_heading("Assigned project manager and authority level", level=2)
    document.add_paragraph(
        f"{brief.project_manager.name} ({brief.project_manager.email}) is assigned as "
        "project manager."
    )
    document.add_heading("Sponsor", level=2)
    document.add_paragraph(f"{brief.sponsor.name} ({brief.sponsor.email}) is accountable.")
    document.add_heading("Assumptions and constraints", level=2)
    document.add_heading("Assumptions", level=3)
    _bullets(document, brief.assumptions, "No assumptions were given in the brief.")
    document.add_heading("Constraints", level=3)
    _bullets(
        document,
        [
            f"Schedule: start on {format_date(brief.start_date)}, finish by "
            f"{format_date(brief.target_end_date)}.",
            f"Budget: {money(brief.budget, brief.currency)} is the ceiling.",
            *brief.constraints,
        ],
        "",
    )
    document.add_heading("Approvals on record", level=2)
    _table(
        document,
        ["Stage", "Gate", "Attempt", "Approver", "Role", "Decision", "When", "Comment"],
        [
            [
                x.stage,
                x.gate,
                str(x.attempt),
                x.approver,
                x.roles,
                x.decision.upper(),
                format_datetime(x.decided_at),
                x.comment,
            ]
            for x in d["decisions"]
        ],
    )
    document.core_properties.title = HEADER.document
    output = BytesIO()
    document.save(output)
    return output.getvalue()


def measure(
    functions: list[Callable[[dict], bytes]], dossier: dict, runs: int
) -> list[list[float]]:
    """Milliseconds of each function, run in turn `runs` times, so machine noise hits all."""
    for function in functions:
        for _ in range(3):  # warm up: imports, template compilation, reference file cache
            function(dossier)
    times: list[list[float]] = [[] for _ in functions]
    for _ in range(runs):
        for function, spent in zip(functions, times, strict=True):
            started = time.perf_counter()
            function(dossier)
            spent.append((time.perf_counter() - started) * 1000)
    return times


def p95(times: list[float]) -> float:
    return statistics.quantiles(times, n=20, method="inclusive")[18]


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    dossier = make_dossier()
    ours = render_with_pmo_flows(dossier)
    direct = write_with_python_docx(dossier)
    # both are real Word files with the same body: check before timing
    for produced in (ours, direct):
        check = docx.Document(BytesIO(produced))
        assert len(check.tables) >= 6, len(check.tables)
    pmo_times, direct_times = measure(
        [render_with_pmo_flows, write_with_python_docx], dossier, runs
    )
    pmo_median, direct_median = statistics.median(pmo_times), statistics.median(direct_times)
    print(f"charter, {len(pmo_times)} renders each (Markdown + .docx vs python-docx directly)")
    print(f"  pmo-flows   median {pmo_median:6.1f} ms   p95 {p95(pmo_times):6.1f} ms")
    print(f"  python-docx median {direct_median:6.1f} ms   p95 {p95(direct_times):6.1f} ms")
    ratio = pmo_median / direct_median
    print(f"  ratio (median) {ratio:.2f}x   target: <= 50 ms and <= 1.5x")
    verdict = "PASS" if pmo_median <= 50 and ratio <= 1.5 else "MISS"
    print(f"  {verdict}")


if __name__ == "__main__":
    main()
