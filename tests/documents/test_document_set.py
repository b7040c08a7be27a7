"""Every document a lifecycle names, rendered from a recorded project and read back from Word.

A project is recorded in the store as the lifecycle flow would (stages, documents, gate
decisions with a recycle), without a Prefect server; each .docx is opened with python-docx
and checked for its structure and its content, not only for existing.
"""

import docx
import pytest
from docx.document import Document

from pmo import templating
from pmo.brief import ProjectBrief
from pmo.documents.versions import write_document_version
from pmo.errors import TemplateProblem
from pmo.gates.criteria import scorecard
from pmo.gates.rules import gate_approvers
from pmo.settings import get_settings
from pmo.store import session_scope
from pmo.store.models import DocumentRecord
from process_library.loader import load_lifecycle
from process_library.schema import DOCUMENT_TITLES, Stage
from tests.factories import brief_data, make_brief
from tests.project_record import LIFECYCLE, decide, register, run_documents, write

pytestmark = pytest.mark.integration

HOSTILE = [
    "{{ 7*7 }}",
    "a | b",
    "<script>alert(1)</script>",
    "**not bold**",
    "東京の会議",
    "Привет",
]


def headings(document: Document) -> list[str]:
    return [p.text for p in document.paragraphs if p.style.name.startswith("Heading")]


def header_line(document: Document) -> str:
    return " ".join(p.text for p in document.sections[0].header.paragraphs)


def cells(document: Document) -> list[str]:
    return [cell.text for table in document.tables for row in table.rows for cell in row.cells]


@pytest.fixture
def documents(store_url: str) -> dict[str, Document]:
    return {key: docx.Document(str(path)) for key, path in run_documents(make_brief()).items()}


EXPECTED_HEADINGS = {
    "charter": [
        "Purpose and justification",
        "Measurable objectives and success criteria",
        "High-level description, boundaries and key deliverables",
        "High-level requirements",
        "High-level risks",
        "Summary milestones",
        "Summary budget",
        "Key stakeholders",
        "Approval requirements",
        "Assigned project manager and authority level",
        "Sponsor",
        "Assumptions and constraints",
    ],
    "stakeholder-register": ["Register", "Power/interest grid", "Accountable people"],
    "communication-plan": ["Approach by quadrant", "Who gets what", "Sender and escalation"],
    "raid-log": ["Risks", "Assumptions", "Issues", "Dependencies"],
    "plan-summary": ["Milestone timeline", "Stages", "Budget and constraints"],
    "audit-checklist": ["1. Authorisation", "10. Closeout", "Findings", "Left for the auditor"],
    "lessons-learned": ["Summary", "What went well", "What went wrong", "Recommendations"],
    "closure-report": [
        "Objectives against outcomes",
        "Budget: planned against actual",
        "Decisions taken",
        "Open items handed over",
    ],
}


def test_every_document_of_the_lifecycle_is_written_with_its_sections(documents):
    named = {d.key for stage in LIFECYCLE.lifecycle.stages for d in stage.documents}
    assert set(documents) == named
    for key, document in documents.items():
        title = document.paragraphs[0]
        assert title.style.name == "Title", key
        assert title.text.startswith(DOCUMENT_TITLES[key].split()[0]), key
        found = headings(document)
        assert [h for h in EXPECTED_HEADINGS.get(key, []) if h not in found] == [], key
        assert found[-1] == "Approvals on record", key  # the signatures end every document
        line = header_line(document)
        for part in ("APOLLO · Apollo customer portal", DOCUMENT_TITLES[key], "Stage: "):
            assert part in line, (key, line)
        assert f"pmbok-waterfall @ {LIFECYCLE.version}" in line
        assert document.tables, key


def test_charts_are_embedded_in_word_and_referenced_from_the_markdown(documents, pmo_home):
    folder = pmo_home / "documents" / "APOLLO"
    for key, chart in (
        ("stakeholder-register", "power-interest-grid"),
        ("plan-summary", "milestone-timeline"),
    ):
        assert len(documents[key].inline_shapes) == 1, key
        version = 2 if key == "plan-summary" else 1  # planning was recycled once
        png = folder / f"APOLLO-{key}-v{version}-{chart}.png"
        assert png.read_bytes().startswith(b"\x89PNG")
        markdown = (folder / f"APOLLO-{key}-v{version}.md").read_text(encoding="utf-8")
        assert f"]({png.name})" in markdown
    assert sum(len(d.inline_shapes) for d in documents.values()) == 2


def test_the_charter_holds_what_the_brief_says_and_approvals_last(documents):
    charter = documents["charter"]
    text = "\n".join(p.text for p in charter.paragraphs) + "\n".join(cells(charter))
    brief = make_brief()
    for fact in (*brief.objectives, *brief.requirements, *brief.assumptions, *brief.constraints):
        assert fact in text
    assert "USD 250,000" in text and "Sam Okafor" in text
    assert "dana.reyes@example.com; pmo@example.com" in cells(charter)  # approvers of gate 1
    # written before any gate was decided, it says so under its approvals
    assert headings(charter)[-1] == "Approvals on record"
    assert charter.paragraphs[-1].text == "No gate decision has been recorded for this project yet."
    closure = documents["closure-report"]
    approvals = [[c.text for c in row.cells] for row in closure.tables[-1].rows]
    assert approvals[0][:3] == ["Stage", "Gate", "Attempt"]
    assert [row[5] for row in approvals[1:]] == ["GO", "RECYCLE", "GO", "GO"]


def test_the_stakeholder_register_and_communication_plan_follow_the_quadrants(documents):
    register = documents["stakeholder-register"].tables[0]
    rows = {row.cells[1].text: row.cells[6].text for row in register.rows[1:]}
    assert rows["Dana Reyes"] == "Manage closely"
    assert rows["Priya Natarajan"] == "Keep satisfied"
    assert rows["Tomás Silva"] == "Keep informed"
    plan = documents["communication-plan"].tables[1]
    lines = [[c.text for c in row.cells] for row in plan.rows[1:]]
    tomas = [line for line in lines if line[0] == "Tomás Silva"]
    assert [line[2] for line in tomas] == [
        "Project newsletter",
        "Demonstrations of the deliverables",
    ]
    gates = [line for line in lines if line[1].startswith("Gate approver")]
    assert {line[0] for line in gates} == {"Dana Reyes", "pmo@example.com"}


def test_the_raid_log_has_all_four_registers_with_owners_and_the_recycle_as_issue(documents):
    raid = documents["raid-log"]
    risks, assumptions, issues, dependencies = raid.tables[:4]
    assert [c.text for c in risks.rows[0].cells] == [
        "#",
        "Risk",
        "Owner",
        "Probability",
        "Impact",
        "Rating",
        "Response",
    ]
    assert risks.rows[1].cells[5].text == "High (6)"
    assert len(assumptions.rows) == 1 + 2
    assert "No contingency; re-plan." in issues.rows[1].cells[1].text
    assert issues.rows[1].cells[6].text == "Stage run again as attempt 2"
    assert dependencies.rows[2].cells[3].text == "No date given"


def test_the_audit_checklist_answers_from_evidence_and_leaves_the_rest(documents):
    audit = documents["audit-checklist"]
    areas = [h for h in headings(audit) if h[0].isdigit()]
    assert len(areas) == 10
    answers = [row.cells[3].text for table in audit.tables[:10] for row in table.rows[1:]]
    assert "☒ Yes ☐ No ☐ N/A" in answers and "☐ Yes ☐ No ☐ N/A" in answers
    findings = audit.tables[10]
    assert [row.cells[2].text for row in findings.rows[1:]] == ["delivery risk"]
    assert "Single sign-on" in findings.rows[1].cells[3].text
    assert any(p.text.startswith("☐ ") for p in audit.paragraphs)  # left for the auditor


def test_typed_text_comes_out_literally_and_never_breaks_a_table(store_url):
    data = brief_data(
        name="Atlas {{ 7*7 }} | <script>",
        purpose="**Why** | <script>alert(1)</script>\n\nSecond {% raw %} paragraph",
        objectives=HOSTILE,
        assumptions=HOSTILE,
        requirements=HOSTILE,
    )
    data["stakeholders"] = [
        {"name": name, "email": f"p{n}@example.com", "role": name, "influence": "high"}
        for n, name in enumerate(HOSTILE)
    ]
    data["risks"] = [
        {"description": text, "owner": "sam.okafor@example.com", "response": text}
        for text in HOSTILE
    ]
    brief = ProjectBrief.model_validate(data)
    for key, path in run_documents(brief).items():
        document = docx.Document(str(path))
        assert document.paragraphs[0].text.endswith("Atlas {{ 7*7 }} | <script>"), key
        for table in document.tables:
            width = len(table.rows[0].cells)
            assert all(len(row.cells) == width for row in table.rows), key
        seen = cells(document) + [p.text for p in document.paragraphs]
        if key in ("charter", "raid-log", "stakeholder-register"):
            for typed in HOSTILE:
                assert any(typed in text for text in seen), (key, typed)
        assert not any("Atlas 49" in text for text in seen), key


def test_a_pmo_template_and_reference_docx_replace_the_bundled_ones(
    store_url, tmp_path, monkeypatch
):
    own = tmp_path / "pmo-templates"
    own.mkdir()
    (own / "charter.md.j2").write_text(
        "# ACME charter: {{ brief.name }}\n\n## Sponsor\n\n{{ brief.sponsor.name }}\n",
        encoding="utf-8",
    )
    corporate = docx.Document()
    corporate.styles["Normal"].font.name = "Georgia"
    corporate.sections[0].header.paragraphs[0].text = "ACME PMO"
    corporate.save(str(tmp_path / "acme.docx"))
    monkeypatch.setenv("PMO_TEMPLATES_DIR", str(own))
    monkeypatch.setenv("PMO_REFERENCE_DOCX", str(tmp_path / "acme.docx"))
    get_settings.cache_clear()
    templating._environment.cache_clear()
    try:
        written = run_documents(make_brief())
    finally:
        templating._environment.cache_clear()
    charter = docx.Document(str(written["charter"]))
    assert [p.text for p in charter.paragraphs] == [
        "ACME charter: Apollo customer portal",
        "Sponsor",
        "Dana Reyes",
    ]
    assert charter.styles["Normal"].font.name == "Georgia"
    assert header_line(charter).startswith("ACME PMO APOLLO · Apollo customer portal")
    register = docx.Document(str(written["stakeholder-register"]))  # still the bundled one
    assert "Power/interest grid" in headings(register)
    assert register.styles["Normal"].font.name == "Georgia"


def test_a_broken_pmo_template_names_file_line_and_problem(store_url, tmp_path, monkeypatch):
    own = tmp_path / "pmo-templates"
    own.mkdir()
    broken = own / "raid-log.md.j2"
    broken.write_text("# RAID\n\n{% for r in risks %}\n{{ r.risk.descripton }}\n", "utf-8")
    monkeypatch.setenv("PMO_TEMPLATES_DIR", str(own))
    get_settings.cache_clear()
    templating._environment.cache_clear()
    try:
        with pytest.raises(TemplateProblem) as raised:
            run_documents(make_brief())
    finally:
        templating._environment.cache_clear()
    assert str(raised.value).startswith(f"{broken}:")
    assert "endfor" in str(raised.value) and "\n" not in str(raised.value)


def test_the_stage_gate_lifecycle_writes_its_documents_too(store_url):
    stage_gate = load_lifecycle("stage-gate")
    written = run_documents(make_brief(), stage_gate, recycle="business-case")
    named = {d.key for stage in stage_gate.lifecycle.stages for d in stage.documents}
    assert set(written) == named
    for key, path in written.items():
        document = docx.Document(str(path))
        assert f"stage-gate @ {stage_gate.version}" in header_line(document), key
        assert headings(document)[-1] == "Approvals on record", key


def test_a_killed_project_still_gets_its_closing_documents(store_url):
    brief = make_brief()
    register(brief)
    initiation, planning = LIFECYCLE.lifecycle.stages[:2]
    write(brief, initiation, 1, "charter")
    decide(brief, initiation, 1, "go")
    decide(brief, planning, 1, "kill", comment="The business case no longer holds.")
    closing = {
        key: docx.Document(str(write(brief, planning, 1, key).docx_path))
        for key in LIFECYCLE.lifecycle.cancellation_documents
    }
    assert set(closing) == {"lessons-learned", "closure-report", "audit-checklist"}
    decisions = [p.text for p in closing["closure-report"].paragraphs]
    assert any("KILL" in text and "no longer holds" in text for text in decisions)
    audit = closing["audit-checklist"]
    areas = audit.tables[:10]
    answers = {row.cells[1].text: row.cells[3].text for table in areas for row in table.rows}
    assert answers["Is there a project charter on record?"] == "☒ Yes ☐ No ☐ N/A"
    assert answers["Was every recycle, hold or kill explained by the approver who decided it?"] == (
        "☒ Yes ☐ No ☐ N/A"
    )
    assert answers["Is a schedule baseline with milestones documented?"] == "☐ Yes ☒ No ☐ N/A"
    findings = [[c.text for c in row.cells] for row in audit.tables[10].rows[1:]]
    assert ["Schedule", "evidence gap"] in [[f[0], f[2]] for f in findings]


def gate_pack(brief: ProjectBrief, stage: Stage, produced: list[DocumentRecord]) -> Document:
    """The gate review pack as the gate renders it: scorecard, approvers, stage documents."""
    with session_scope() as session:
        record, _ = write_document_version(
            session,
            brief=brief,
            lifecycle=LIFECYCLE,
            stage=stage,
            attempt=1,
            document_key=f"gate-review-{stage.gate.key}",
            template="gate-review",
            title=f"Gate review: {stage.gate.name}",
            idempotency_key=f"pack/{stage.key}",
            extra={
                "gate": stage.gate,
                "scorecard": scorecard(stage.gate, brief, {d.document_key for d in produced}),
                "stage_documents": produced,
                "approvers": gate_approvers(stage.gate, brief),
            },
        )
        return docx.Document(record.docx_path)


def test_the_gate_pack_scores_must_meet_pass_fail_and_should_meet_by_weight(store_url):
    brief = make_brief()
    register(brief)
    initiation = LIFECYCLE.lifecycle.stages[0]
    passing = gate_pack(brief, initiation, [write(brief, initiation, 1, "charter")])
    text = [p.text for p in passing.paragraphs]
    assert "Decision requested" in headings(passing)
    assert any(
        t.startswith("The approvers are asked to decide: GO / KILL / HOLD / RECYCLE") for t in text
    )
    assert any(
        t.startswith("Must-meet: 2 of 3 met on the evidence; 1 for the approvers") for t in text
    )
    assert any(t.startswith("Should-meet weighted score: 0 of 5 on the evidence") for t in text)
    must = [[c.text for c in row.cells] for row in passing.tables[1].rows[1:]]
    assert [row[1] for row in must] == ["☒ Pass", "☒ Pass", "☐ Pass ☐ Fail"]
    should = [[c.text for c in row.cells] for row in passing.tables[2].rows]
    assert should[0][:4] == ["Criterion", "Weight", "Met", "Weighted score"]
    assert [row[1] for row in should[1:]] == ["3", "2", "5"]  # the weights and their total
    assert "Gate review: Charter approval" in header_line(passing)

    failing = gate_pack(brief, LIFECYCLE.lifecycle.stages[1], [])  # no plan baseline written
    assert any(p.text.startswith("Must-meet: FAIL.") for p in failing.paragraphs)
    assert "☒ FAIL" in cells(failing)
