"""The portfolio audit report: Markdown, Word, JSON and charts on disk; artifacts in Prefect.

Rendered through the one document path (`pmo.documents.output.write_document`: sandboxed
template `templates/portfolio-audit.md.j2`, overridable with PMO_TEMPLATES_DIR, Word styles
from the reference .docx). A portfolio of thousands of projects stays readable: every
finding is listed, but the per-project table keeps to the projects with a control gap once
there are more than LIST_EVERY_PROJECT_UP_TO of them; the JSON holds everything.
"""

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from pmo.audit.kpis import GateKpi, PortfolioKpis
from pmo.audit.portfolio import Finding, PortfolioAudit, audit_json
from pmo.documents.audit_charts import FINDING_TYPES, PortfolioCharts
from pmo.documents.docx import DocumentHeader
from pmo.documents.embed import with_embedded_images
from pmo.documents.output import write_document
from pmo.files import write_atomically
from pmo.templating import format_date, format_datetime
from process_library.errors import LifecycleError
from process_library.loader import load_lifecycle

TEMPLATE = "portfolio-audit.md.j2"
LIST_EVERY_PROJECT_UP_TO = 200
RUNS_LISTED = 50  # runs without a project named in the report; the JSON has them all
ARTIFACT_KEY = "portfolio-audit"  # Prefect keys: lowercase letters, digits and dashes only


def report_stem(audit: PortfolioAudit) -> str:
    """`portfolio-audit-20270301-0600`: the audit's time (UTC) names its files."""
    return f"portfolio-audit-{audit.generated_at:%Y%m%d-%H%M}"


def write_portfolio_report(audit: PortfolioAudit, out_dir: Path) -> list[Path]:
    """Write the report into `out_dir`: `<stem>.md`, `<stem>.docx`, `<stem>.json` and the
    charts (`<stem>-<chart>.png`); return their paths, Markdown first."""
    stem = report_stem(audit)
    charts = PortfolioCharts(
        out_dir,
        stem,
        gates=gates_in_lifecycle_order(audit),
        stage_status=[(p.stage or "not started", p.status) for p in audit.projects],
        findings=[(f.area, f.type) for f in audit.findings],
        spi_cpi=_spi_cpi_points(audit),
    )
    written = write_document(
        out_dir,
        stem,
        template=TEMPLATE,
        context=report_context(audit, charts),
        header=DocumentHeader(
            project=f"Portfolio: {selection_text(audit)}",
            document="Portfolio audit",
            version=f"of {format_datetime(audit.generated_at)}",
        ),
    )
    # orjson: the standard library's encoder is pure Python once asked to indent, twenty
    # times slower on the JSON of a 10,000-project audit (70 MB, every checklist answer).
    data = orjson.dumps(audit_json(audit), option=orjson.OPT_INDENT_2) + b"\n"
    json_path = write_atomically(out_dir / f"{stem}.json", data)
    return [written.markdown_path, written.docx_path, json_path, *charts.written]


def selection_text(audit: PortfolioAudit) -> str:
    """`every project`, `project APOLLO`, `every project since 1 Mar 2027`."""
    selection = audit.selection
    text = f"project {selection.project_key}" if selection.project_key else "every project"
    if selection.since is not None:
        text += f" since {format_date(selection.since)}"
    return text


def report_context(audit: PortfolioAudit, charts: PortfolioCharts) -> dict[str, Any]:
    """What the template reads: the audit itself, and the few sums a template should not do."""
    findings = sorted_findings(audit.findings)
    projects = sorted(audit.projects, key=lambda p: p.key)
    listed = (
        projects
        if len(projects) <= LIST_EVERY_PROJECT_UP_TO
        else [p for p in projects if not p.compliant]
    )
    types = Counter(f.type for f in findings)
    spis = [p.spi for p in projects if p.spi is not None]
    cpis = [p.cpi for p in projects if p.cpi is not None]
    return {
        "audit": audit,
        "kpis": audit.kpis,
        "charts": charts,
        "gates": gates_in_lifecycle_order(audit),
        "selection": selection_text(audit),
        "compliant": sum(p.compliant for p in projects),
        "findings": findings,
        "finding_counts": {kind: types[kind] for kind in _finding_order(types)},
        "bypasses": sorted(
            ((p.key, b) for p in projects for b in p.bypasses), key=lambda pair: pair[1].at
        ),
        "decided_gates": [g for g in audit.kpis.gates if g.cycle_hours.p50 is not None],
        "spi_below": sum(s < 1 for s in spis),
        "cpi_below": sum(c < 1 for c in cpis),
        "spi_cpi_points": bool(_spi_cpi_points(audit)),
        "questions_for_auditor": sum(
            a.answer is None for p in projects for area in p.areas for a in area.answers
        ),
        "listed": listed,
        "unlisted": len(projects) - len(listed),
        "run_limit": RUNS_LISTED,
    }


def gates_in_lifecycle_order(audit: PortfolioAudit) -> list[GateKpi]:
    """The gates as the lifecycles run them (charter approval before plan approval), not in
    the alphabetical order of their keys; gates of no lifecycle in the library come last."""
    position: dict[str, int] = {}
    for name in sorted({p.lifecycle for p in audit.projects}):
        try:
            stages = load_lifecycle(name).lifecycle.stages
        except LifecycleError:
            continue  # a lifecycle since removed from the library
        for index, stage in enumerate(stages):
            position.setdefault(stage.gate.key, index)
    last = len(position) + 1
    return sorted(audit.kpis.gates, key=lambda g: (position.get(g.gate_key, last), g.gate_key))


def sorted_findings(findings: list[Finding]) -> list[Finding]:
    """Control gaps first, then evidence gaps, then delivery risks; by project within each."""
    rank = {kind: number for number, kind in enumerate(FINDING_TYPES)}
    return sorted(findings, key=lambda f: (rank.get(f.type, len(rank)), f.project_key, f.area))


def _finding_order(types: Counter[str]) -> list[str]:
    known = [kind for kind in FINDING_TYPES if types[kind]]
    return known + sorted(kind for kind in types if kind not in FINDING_TYPES)


def _spi_cpi_points(audit: PortfolioAudit) -> list[tuple[float, float, str | None]]:
    return [
        (p.spi, p.cpi, p.rag) for p in audit.projects if p.spi is not None and p.cpi is not None
    ]


def publish_portfolio_artifacts(
    audit: PortfolioAudit, markdown: str, *, images_dir: Path | None = None
) -> None:
    """Publish the report as artifacts of the current run: the Markdown (key
    `portfolio-audit`) and tables of findings, KPIs and gates.

    `images_dir` is the report's folder: its charts go into the artifact as `data:` URIs,
    since the Prefect UI cannot read that folder. Every table is published even when
    empty, so the latest artifact of each key never shows an earlier audit's rows.
    """
    if images_dir is not None:
        markdown = with_embedded_images(markdown, images_dir)
    when = format_datetime(audit.generated_at)
    create_markdown_artifact(
        markdown=markdown,
        key=ARTIFACT_KEY,
        description=(
            f"Portfolio audit of {when} ({selection_text(audit)}): "
            f"{audit.kpis.projects} project(s), {len(audit.findings)} finding(s), "
            f"ledger {'NOT intact' if audit.tampered else 'intact'}"
        ),
    )
    create_table_artifact(
        table=findings_table(audit),
        key=f"{ARTIFACT_KEY}-findings",
        description=f"Every finding of the portfolio audit of {when}, control gaps first",
    )
    create_table_artifact(
        table=kpi_table(audit.kpis),
        key=f"{ARTIFACT_KEY}-kpis",
        description=f"Portfolio KPIs of the audit of {when} (hours; shares in %)",
    )
    create_table_artifact(
        table=gates_table(gates_in_lifecycle_order(audit)),
        key=f"{ARTIFACT_KEY}-gates",
        description=f"Per gate: cycle time, SLA and outcomes, audit of {when}",
    )


def findings_table(audit: PortfolioAudit) -> list[dict[str, Any]]:
    return [
        {
            "project": f.project_key,
            "type": f.type,
            "area": f.area,
            "question": f.question,
            "evidence": f.evidence,
        }
        for f in sorted_findings(audit.findings)
    ]


def kpi_table(kpis: PortfolioKpis) -> list[dict[str, Any]]:
    """One row per figure: what it is, what it is for (`portfolio`, a stage, a role), value."""
    rows: list[dict[str, Any]] = [
        _kpi("projects audited", "portfolio", kpis.projects),
        _kpi("compliance rate (%)", "portfolio", _percent(kpis.compliance_rate)),
        _kpi("gates decided within SLA (%)", "portfolio", _percent(kpis.within_sla_share)),
    ]
    for kpi, counts in (
        ("projects by stage", kpis.by_stage),
        ("projects by status", kpis.by_status),
        ("projects by RAG", kpis.by_rag),
    ):
        rows += [_kpi(kpi, name, count) for name, count in counts.items()]
    for role, spread in kpis.turnaround_by_role.items():
        rows += [
            _kpi("approval turnaround answers", role, spread.count),
            _kpi("approval turnaround p50 (h)", role, _round(spread.p50, 1)),
            _kpi("approval turnaround p90 (h)", role, _round(spread.p90, 1)),
        ]
    for name, spread in (("SPI", kpis.spi), ("CPI", kpis.cpi)):
        if spread.count:
            rows += [
                _kpi(f"{name} projects with data", "portfolio", spread.count),
                _kpi(f"{name} p50", "portfolio", _round(spread.p50, 2)),
                _kpi(f"{name} p90", "portfolio", _round(spread.p90, 2)),
            ]
    return rows


def gates_table(gates: Sequence[GateKpi]) -> list[dict[str, Any]]:
    return [
        {
            "gate": g.gate_key,
            "name": g.gate_name,
            "decided": g.decided,
            "cycle_hours_p50": _round(g.cycle_hours.p50, 1),
            "cycle_hours_p90": _round(g.cycle_hours.p90, 1),
            "within_sla_pct": _percent(g.within_sla_share),
            **g.outcomes,
        }
        for g in gates
    ]


def _kpi(kpi: str, of: str, value: float | int | None) -> dict[str, Any]:
    return {"kpi": kpi, "for": of, "value": value}


def _percent(share: float | None) -> float | None:
    return None if share is None else round(share * 100, 1)


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)
