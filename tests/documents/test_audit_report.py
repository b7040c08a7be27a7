"""The portfolio audit report: Markdown, Word, JSON and charts from a PortfolioAudit."""

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import docx
import pytest
from docx.document import Document
from docx.table import Table

from pmo import templating
from pmo.audit.bypass import Bypass
from pmo.audit.kpis import Turnaround
from pmo.audit.portfolio import PortfolioAudit
from pmo.audit.run_history import RunSelection
from pmo.documents.audit_report import (
    LIST_EVERY_PROJECT_UP_TO,
    findings_table,
    gates_in_lifecycle_order,
    gates_table,
    kpi_table,
    write_portfolio_report,
)
from pmo.settings import get_settings
from pmo.store.ledger_verify import LedgerProblem
from tests.audit_portfolios import (
    CHARTER,
    SLA,
    gate_round,
    portfolio,
    project_audit,
    synthetic_portfolio,
)

pytestmark = pytest.mark.unit

STEM = "portfolio-audit-20270301-0605"
CHARTS = ("projects-by-stage", "gate-cycle-time", "spi-cpi", "findings-by-type")
FINDING_HEADER = ["Project", "Type", "Area", "Question", "Evidence"]
HOSTILE = "{{ 7*7 }} | a pipe {% raw %} <b>x</b> **not bold** [link](http://x) # 1. \n next line"
BYPASS = Bypass("run-orion", datetime(2027, 2, 20, 10, 0, tzinfo=UTC), "state set to Running")
EDITED = LedgerProblem(
    "row-edited",
    "gate_decisions row 4 (ORION) was edited after it was recorded: decision go -> kill",
    seq=12,
    table="gate_decisions",
    row_id=4,
    project_key="ORION",
)


def three_projects(**changes) -> PortfolioAudit:
    """APOLLO in order; ORION without a charter and moved past a gate by hand; VEGA late."""
    projects = [
        project_audit("APOLLO", rag="green", spi=1.1, cpi=0.98),
        project_audit(
            "ORION",
            no={CHARTER: "No project charter is on record"},
            rag="red",
            spi=0.8,
            cpi=0.9,
            bypasses=[BYPASS],
        ),
        project_audit("VEGA", stage="Initiation", no={SLA: "Charter approval took 60 h, SLA 48 h"}),
    ]
    rounds = [
        gate_round("APOLLO", 0, hours=10),
        gate_round("APOLLO", 1, hours=30, outcome="recycle", rounds=2),
        gate_round("ORION", 0, hours=60),
        gate_round("VEGA", 0, hours=None),
    ]
    answers = [Turnaround("sponsor", 5.0), Turnaround("sponsor", 15.0), Turnaround("pmo", 2.0)]
    options = {"gate_rounds": rounds, "turnarounds": answers, "ledger_problems": [EDITED]}
    return portfolio(projects, **(options | changes))


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The three projects' report, written once for the tests that only read it."""
    with pytest.MonkeyPatch.context() as patch:
        for name in ("PMO_TEMPLATES_DIR", "PMO_REFERENCE_DOCX"):
            patch.delenv(name, raising=False)
        get_settings.cache_clear()
        templating._environment.cache_clear()
        paths = write_portfolio_report(three_projects(), tmp_path_factory.mktemp("report"))
    get_settings.cache_clear()
    return paths


def word(path: Path) -> Document:
    return docx.Document(str(path))


def table_with_header(document: Document, header: list[str]) -> Table:
    (table,) = [t for t in document.tables if [c.text for c in t.rows[0].cells] == header]
    return table


def test_the_report_lands_as_markdown_word_json_and_charts(report):
    paths = report

    assert [p.name for p in paths[:3]] == [f"{STEM}.md", f"{STEM}.docx", f"{STEM}.json"]
    assert sorted(p.name for p in paths[3:]) == sorted(f"{STEM}-{c}.png" for c in CHARTS)
    assert all(p.parent == paths[0].parent and p.is_file() for p in paths)
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in paths[3:])


def test_the_markdown_summarises_kpis_findings_bypasses_and_the_ledger(report):
    markdown = report[0].read_text()

    assert markdown.startswith("# Portfolio audit\n")
    assert "**Generated:** 2027-03-01 06:05 UTC · **Selection:** every project" in markdown
    assert "**Lifecycle runs read from Prefect:** 3" in markdown
    # ORION's two control gaps (no charter, the bypass) make it the one non-compliant project
    assert "2 of 3 projects (67 %) have no open control-gap finding" in markdown
    assert "**Open findings:** 3: 2 control gaps, 1 delivery risk" in markdown
    assert "**Runs moved past a gate from outside it:** 1" in markdown
    assert "**Audit ledger: NOT intact.** 1 problem(s)" in markdown
    # KPIs: counts, gates (hold = rounds - 1), turnaround, earned value
    assert "| Execution | 2 |\n| Initiation | 1 |" in markdown
    assert "| Charter approval | 2 | 35.0 | 55.0 | 50 % | 2 | 0 | 0 | 0 | 1 |" in markdown
    assert "| Plan approval | 1 | 30.0 | 30.0 | 100 % | 0 | 1 | 1 | 0 | 0 |" in markdown
    assert "Share of gates decided within their SLA: 67 %." in markdown
    assert "| pmo | 1 | 2.0 | 2.0 |\n| sponsor | 2 | 10.0 | 14.0 |" in markdown
    assert "| SPI | 2 | 0.95 | 1.07 | 1 |" in markdown
    assert f"![SPI and CPI per project]({STEM}-spi-cpi.png)" in markdown
    # every finding, control gaps first, with its evidence
    assert (
        "| ORION | control gap | Authorisation | Is there a project charter on record? "
        "| No project charter is on record |" in markdown
    )
    assert markdown.index("| ORION | control gap |") < markdown.index("| VEGA | delivery risk |")
    assert "| ORION | run-orion | 2027-02-20 10:00 UTC | state set to Running |" in markdown
    assert "| row-edited | ORION | gate\\_decisions | 4 | 12 | gate\\_decisions row 4" in markdown
    assert (
        "| APOLLO | Project Apollo | Execution | active | green | 1.10 | 0.98 | yes | 0 |"
        in markdown
    )
    assert "| ORION | Project Orion | Execution | active | red | 0.80 | 0.90 | no | 2 |" in markdown


def test_the_word_file_holds_the_findings_table_and_the_charts(report):
    audit = three_projects()
    document = word(report[1])

    findings = table_with_header(document, FINDING_HEADER)
    assert len(findings.rows) == 1 + len(audit.findings) == 4
    assert [c.text for c in findings.rows[1].cells] == [
        "ORION",
        "control gap",
        "Authorisation",
        CHARTER,
        "No project charter is on record",
    ]
    assert len(document.inline_shapes) == len(CHARTS)
    assert document.paragraphs[0].text == "Portfolio audit"
    assert document.core_properties.title == "Portfolio audit"
    header = document.sections[0].header.paragraphs[-1].text
    assert header == "Portfolio: every project · Portfolio audit of 2027-03-01 06:05 UTC"


def test_the_json_has_the_documented_keys(report):
    data = json.loads(report[2].read_text(encoding="utf-8"))

    assert set(data) >= {
        "generated_at",
        "selection",
        "runs_read",
        "ledger",
        "projects",
        "findings",
        "runs_without_project",
        "kpis",
    }
    assert data["generated_at"] == "2027-03-01T06:05:00+00:00"
    assert data["ledger"]["intact"] is False
    assert data["ledger"]["problems"][0]["row_id"] == 4
    assert [p["key"] for p in data["projects"]] == ["APOLLO", "ORION", "VEGA"]
    assert len(data["findings"]) == 3
    assert set(data["findings"][0]) == {"project", "type", "area", "question", "evidence"}
    assert data["kpis"]["compliance_rate"] == pytest.approx(2 / 3)
    assert data["kpis"]["approval_turnaround_hours"]["sponsor"] == {
        "answers": 2,
        "p50": 10.0,
        "p90": 14.0,
    }


def test_an_empty_portfolio_says_so_and_draws_no_chart(tmp_path):
    paths = write_portfolio_report(portfolio([]), tmp_path)

    assert [p.suffix for p in paths] == [".md", ".docx", ".json"]
    markdown = paths[0].read_text()
    assert "No projects to audit: the store holds no project yet" in markdown
    assert "**Audit ledger:** intact (no entries yet)" in markdown
    for absent in ("## Portfolio KPIs", "## Findings", "## Per project", "| ---", "n/a", "!["):
        assert absent not in markdown
    assert word(paths[1]).paragraphs[0].text == "Portfolio audit"
    data = json.loads(paths[2].read_text())
    assert data["projects"] == [] and data["kpis"]["compliance_rate"] is None


def test_an_empty_selection_names_it(tmp_path):
    selection = RunSelection(project_key="ZED", since=datetime(2027, 2, 1, tzinfo=UTC))
    markdown = write_portfolio_report(portfolio([], selection=selection), tmp_path)[0].read_text()

    assert "**Selection:** project ZED since 1 Feb 2027" in markdown
    assert "no project that matches the selection (project ZED since 1 Feb 2027)" in markdown


def test_a_portfolio_without_gates_or_earned_value_says_so_without_empty_tables(tmp_path):
    audit = portfolio([project_audit("APOLLO", stage=None)])
    paths = write_portfolio_report(audit, tmp_path)
    markdown = paths[0].read_text()

    assert "No gate has been opened yet." in markdown
    assert "No approver has answered a gate yet." in markdown
    assert "No project has reported status with earned value yet" in markdown
    assert "The record shows no finding" in markdown
    assert "| Gate |" not in markdown and "| Index |" not in markdown
    assert "**Gates decided within their SLA:** n/a (no decided gate has an SLA yet)" in markdown
    assert "| not started | 1 |" in markdown
    assert sorted(p.name for p in paths[3:]) == [f"{STEM}-projects-by-stage.png"]


def test_typed_text_comes_out_literally(tmp_path):
    audit = portfolio(
        [project_audit("ORION", name="Orion | {{ name }}", no={CHARTER: HOSTILE}, bypasses=[])]
    )
    paths = write_portfolio_report(audit, tmp_path)
    markdown = paths[0].read_text()
    document = word(paths[1])

    assert "| {{ 7\\*7 }} \\| a pipe {% raw %} \\<b\\>x\\</b\\> \\*\\*not bold" in markdown
    literal = HOSTILE.replace(" \n ", " ")
    row = table_with_header(document, FINDING_HEADER).rows[1]
    assert [c.text for c in row.cells][-1] == literal
    projects = table_with_header(
        document, ["Key", "Name", "Stage", "Status", "RAG", "SPI", "CPI", "Compliant", "Findings"]
    )
    assert projects.rows[1].cells[1].text == "Orion | {{ name }}"
    assert len(projects.rows[1].cells) == 9


def test_a_large_portfolio_lists_every_finding_but_only_the_non_compliant_projects(tmp_path):
    audit = synthetic_portfolio(LIST_EVERY_PROJECT_UP_TO + 50)
    non_compliant = sum(not p.compliant for p in audit.projects)
    paths = write_portfolio_report(audit, tmp_path)
    markdown = paths[0].read_text()

    assert 0 < non_compliant < len(audit.projects)
    assert (
        f"{non_compliant} of {len(audit.projects)} projects are listed: those with an open "
        f"control gap. The {len(audit.projects) - non_compliant} compliant project(s)"
    ) in markdown
    document = word(paths[1])
    assert len(table_with_header(document, FINDING_HEADER).rows) == 1 + len(audit.findings)
    listed = table_with_header(
        document, ["Key", "Name", "Stage", "Status", "RAG", "SPI", "CPI", "Compliant", "Findings"]
    )
    assert len(listed.rows) == 1 + non_compliant
    assert {row.cells[7].text for row in listed.rows[1:]} == {"no"}


def test_a_pmo_template_replaces_the_bundled_one(tmp_path, monkeypatch):
    own = tmp_path / "templates"
    own.mkdir()
    (own / "portfolio-audit.md.j2").write_text(
        "# Our audit\n\n{{ kpis.projects }} projects, {{ findings | length }} findings\n"
    )
    monkeypatch.setenv("PMO_TEMPLATES_DIR", str(own))
    get_settings.cache_clear()
    templating._environment.cache_clear()
    try:
        paths = write_portfolio_report(three_projects(), tmp_path / "out")
    finally:
        templating._environment.cache_clear()

    assert paths[0].read_text() == "# Our audit\n\n3 projects, 3 findings\n"
    assert len(paths) == 3  # the template drew no chart


def test_the_artifact_tables_are_rows_a_script_can_read():
    audit = three_projects()

    assert findings_table(audit)[0] == {
        "project": "ORION",
        "type": "control gap",
        "area": "Authorisation",
        "question": CHARTER,
        "evidence": "No project charter is on record",
    }
    kpis = {(row["kpi"], row["for"]): row["value"] for row in kpi_table(audit.kpis)}
    assert kpis[("projects audited", "portfolio")] == 3
    assert kpis[("compliance rate (%)", "portfolio")] == 66.7
    assert kpis[("projects by stage", "Execution")] == 2
    assert kpis[("approval turnaround p90 (h)", "sponsor")] == 14.0
    assert kpis[("SPI p50", "portfolio")] == 0.95
    assert gates_table(gates_in_lifecycle_order(audit))[0] == {
        "gate": "charter-approval",
        "name": "Charter approval",
        "decided": 2,
        "cycle_hours_p50": 35.0,
        "cycle_hours_p90": 55.0,
        "within_sla_pct": 50.0,
        "go": 2,
        "recycle": 0,
        "hold": 0,
        "kill": 0,
        "waiting": 1,
    }


def test_gates_are_shown_in_the_lifecycle_order_not_by_key():
    audit = portfolio(
        [project_audit("APOLLO")],
        gate_rounds=[gate_round("APOLLO", gate, hours=10) for gate in (3, 2, 1, 0)]
        + [replace(gate_round("APOLLO", 0, hours=5), gate_key="zz-retired", gate_name="Retired")],
    )

    assert [g.gate_key for g in audit.kpis.gates][:2] == ["acceptance", "charter-approval"]
    assert [g.gate_key for g in gates_in_lifecycle_order(audit)] == [
        "charter-approval",
        "plan-approval",
        "acceptance",
        "closure-sign-off",
        "zz-retired",
    ]
