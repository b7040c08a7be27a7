"""`pmo demo` end to end: a real Prefect server, every gate answered through its API."""

import secrets

import pytest
from docx import Document
from typer.testing import CliRunner

from pmo.cli import app

pytestmark = pytest.mark.integration


def test_demo_runs_the_example_project_to_closure_and_writes_word_documents(tmp_path, monkeypatch):
    from prefect.settings import PREFECT_API_AUTH_STRING, temporary_settings

    from pmo.settings import get_settings

    # on a server that requires authentication: every client of the demo sends the
    # credentials (the other tests run it without)
    credentials = "demo-user:" + secrets.token_urlsafe(18)
    monkeypatch.setenv("PMO_SERVER_AUTH", "true")
    get_settings.cache_clear()
    out = tmp_path / "out"
    with temporary_settings(updates={PREFECT_API_AUTH_STRING: credentials}):
        result = CliRunner().invoke(app, ["demo", "--out", str(out)])
    get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "Project APOLLO: closed" in result.output
    # the small second project ran beside it: the portfolio review ranks both, draws the
    # funding line through 2027's envelope and flags March's developers; HERMES's sponsor
    # then stopped it at its next gate
    (review,) = out.glob("portfolio/*.docx")
    rows = [[c.text for c in row.cells] for t in Document(str(review)).tables for row in t.rows]
    ranking = [r for r in rows if r[0] in ("1", "2")]
    assert [(r[1][:6], r[9]) for r in ranking] == [
        ("APOLLO", "above the line"),
        ("HERMES", "below the line"),
    ]
    assert any(r[:2] == ["developer", "2027-03"] and r[5] == "HERMES, APOLLO" for r in rows)
    stopped = (out / "HERMES" / "HERMES-closure-report-v1.md").read_text()
    assert "Stopped at the portfolio review" in stopped
    password = credentials.partition(":")[2]
    assert password not in result.output
    assert not [p for p in out.rglob("*") if p.is_file() and password.encode() in p.read_bytes()]
    names = sorted(p.name for p in out.glob("APOLLO/*.docx"))
    assert "APOLLO-charter-v1.docx" in names
    # the demo's sponsor recycles the plan once: both versions are kept; the project
    # manager's change request in execution is the third, approved as baseline 2
    assert {f"APOLLO-plan-baseline-v{n}.docx" for n in (1, 2, 3)} <= set(names)
    assert "Baseline 1 (plan " in result.output
    assert "Baseline 2 (plan " in result.output and "The ERP vendor delivers" in result.output
    assert {"APOLLO-lessons-learned-v1.docx", "APOLLO-closure-report-v1.docx"} <= set(names)
    # every document the lifecycle names, the gate packs and decision records, new versions
    # after the recycle, a status report for each of the project manager's two updates in
    # execution, and the changed plan put to the change gate with its decision record
    assert len(names) == 29
    assert {
        "APOLLO-stakeholder-register-v1.docx",
        "APOLLO-raid-log-v1.docx",
        "APOLLO-raid-log-v2.docx",
        "APOLLO-communication-plan-v2.docx",
        "APOLLO-plan-summary-v2.docx",
        "APOLLO-audit-checklist-v1.docx",
        "APOLLO-gate-review-closure-sign-off-v1.docx",
        "APOLLO-gate-decision-change-control-v1.docx",
    } <= set(names)
    assert {"APOLLO-status-report-v1.docx", "APOLLO-status-report-v3.docx"} <= set(names)
    assert len(list(out.glob("APOLLO/*.md"))) == 29
    # the charter's decision record: each gatekeeper's scores, the mean, the weighted score
    record = (out / "APOLLO" / "APOLLO-gate-decision-charter-approval-v1.md").read_text()
    assert (
        "| The project supports a current strategic objective. | 3 | 8 | 6 | 7.00 | 2 |" in record
    )
    assert "**Weighted score: 7.40** of 10" in record
    # one grid, a timeline per plan summary, a Gantt chart, cost curve and effort chart per
    # plan baseline, an SPI/CPI trend and an S-curve per status report
    assert len(list(out.glob("APOLLO/*.png"))) == 1 + 2 + 3 * 3 + 3 * 2
    report = Document(str(out / "APOLLO" / "APOLLO-status-report-v1.docx"))
    headings = [p.text for p in report.paragraphs if p.style.name.startswith("Heading")]
    assert "Overall status: AMBER" in headings and "Earned value against baseline 2" in headings
    changed = Document(str(out / "APOLLO" / "APOLLO-plan-baseline-v3.docx"))
    headings = [p.text for p in changed.paragraphs if p.style.name.startswith("Heading")]
    assert "Baseline 2 (proposed: its gate's go approves it)" in headings
    assert len(changed.inline_shapes) == 3  # Gantt, cumulative PV, effort
    rows = [[c.text for c in row.cells] for t in changed.tables for row in t.rows]
    assert next(r for r in rows if r[0] == "2.3")[1] == "ERP order API integration (critical)"
    register = Document(str(out / "APOLLO" / "APOLLO-stakeholder-register-v1.docx"))
    assert len(register.inline_shapes) == 1
    charter = Document(str(out / "APOLLO" / "APOLLO-charter-v1.docx"))
    headings = [p.text for p in charter.paragraphs if p.style.name.startswith("Heading")]
    assert "Measurable objectives and success criteria" in headings
    assert "Approvals on record" in headings
    closure = Document(str(out / "APOLLO" / "APOLLO-closure-report-v1.docx"))
    # approvals on record when it was written: the 8 answers before its own gate
    assert len(closure.tables[-1].rows) == 1 + 8
    # 2 + 2 (plan, attempt 1) + 2 (plan, attempt 2) + 2 (change) + 1 (acceptance) +
    # 2 (closure), and each status report to the two "Manage closely" stakeholders
    assert len(list((out / "outbox").glob("*-apollo-*.eml"))) == 11 + 4


def test_demo_runs_prince2_with_its_board_its_management_stages_and_an_exception(tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["demo", "--out", str(out), "--lifecycle", "prince2"])
    assert result.exit_code == 0, result.output
    assert "Project APOLLO: closed" in result.output
    names = {p.name for p in out.glob("APOLLO/*.docx")}
    assert {
        "APOLLO-project-brief-v1.docx",
        "APOLLO-project-initiation-documentation-v2.docx",  # the board recycled it once
        "APOLLO-stage-plan-v4.docx",  # at initiation (twice) and at each stage boundary
        "APOLLO-end-stage-report-v2.docx",  # one per management stage
        "APOLLO-exception-report-v1.docx",  # the last stage forecast an overrun
        "APOLLO-gate-review-end-stage-assessment-2-v1.docx",
        "APOLLO-closure-report-v1.docx",
    } <= names
    pid = Document(str(out / "APOLLO" / "APOLLO-project-initiation-documentation-v2.docx"))
    cells = [cell.text for table in pid.tables for row in table.rows for cell in row.cells]
    assert "high-risk-closer-control" in cells  # what was tailored, and why
    assert "Management stage 2: Roll-out" in cells
    report = Document(str(out / "APOLLO" / "APOLLO-end-stage-report-v2.docx"))
    text = "\n".join(p.text for p in report.paragraphs)
    assert "Goal of Roll-out: Every business customer can log in" in text
    assert "Exception report v1" in text


def test_demo_with_a_bad_brief_exits_2_with_one_line(tmp_path):
    brief = tmp_path / "brief.yaml"
    brief.write_text("key: X\nname: X\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["demo", "--out", str(tmp_path / "o"), "--brief", str(brief)])
    assert result.exit_code == 2
    errors = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert errors == [f"error: {brief}: purpose: Field required"]
    assert "Traceback" not in result.output


def test_library_validate_reports_each_lifecycle_and_refuses_a_broken_one(tmp_path):
    result = CliRunner().invoke(app, ["library", "validate"])
    assert result.exit_code == 0 and "ok  pmbok-waterfall" in result.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\ntitle: B\ndescription: d\nstages: []\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["library", "validate", str(bad)])
    assert result.exit_code == 2
    assert (
        result.output.strip()
        == f"error: {bad}: stages: Tuple should have at least 1 item after validation, not 0"
    )
