"""`pmo portfolio` on projects recorded in the store (SQLite and PostgreSQL): the ranking,
the funding line, the what-if, the review written to disk and opened back, and every bad
what-if refused in one line with nothing changed."""

import json
from datetime import date

import pytest
from docx import Document
from typer.testing import CliRunner

from pmo.cli import app
from pmo.gates.answers import record_answer
from pmo.gates.rules import Answer
from pmo.store import session_scope
from pmo.store.models import Gate, Project, utcnow
from pmo.store.records import mark_decided
from tests.factories import make_brief
from tests.gates.test_gate_rules import PMO, SPONSOR, open_gate
from tests.project_record import LIFECYCLE, at_gate, baselined

pytestmark = pytest.mark.integration

YEAR = {"start_date": date(2027, 1, 4), "target_end_date": date(2027, 12, 17)}


def portfolio_of_three() -> None:
    """APOLLO scored 6.2 and funded; LAW mandatory and unscored; SMALL unscored, and its
    100,000 would take 2027 past the bundled policy's envelope of 400,000 (150,000 +
    250,000 before it)."""
    apollo = make_brief(benefits=600000, strategic_objectives=["customer-experience"])
    run_id, gate_id, stage, brief, codes = open_gate(brief=apollo)
    for approver, scores in ((SPONSOR, (8, 6)), (PMO, (6, 4))):
        with session_scope() as session:
            record_answer(
                session,
                gate_id=gate_id,
                definition=stage.gate,
                brief=brief,
                response_key=approver,
                answer=Answer(
                    approver,
                    "go",
                    codes[approver],
                    scores={"strategic-fit": scores[0], "risk-exposure": scores[1]},
                ),
                channel="cli",
                flow_run_id=run_id,
            )
    with session_scope() as session:
        gate = session.get(Gate, gate_id)
        stage_run = gate.stage_run_id
        from pmo.store.models import StageRun

        mark_decided(
            session,
            gate=gate,
            stage_run=session.get(StageRun, stage_run),
            round=1,
            outcome="go",
            at=utcnow(),
        )
    open_gate(brief=make_brief(key="LAW", category="mandatory", budget=150000, **YEAR), key="LAW")
    open_gate(brief=make_brief(key="SMALL", budget=100000, benefits=20000, **YEAR), key="SMALL")


def run(*args):
    return CliRunner().invoke(app, ["portfolio", *args])


def test_ranking_funding_line_and_what_if(store_url, tmp_path):
    portfolio_of_three()
    data = json.loads(run("--json").output)
    projects = {p["key"]: p for p in data["projects"]}
    assert [p["key"] for p in data["projects"]] == ["LAW", "APOLLO", "SMALL"]
    assert projects["APOLLO"]["score"] == 6.2
    assert projects["APOLLO"]["status"] == "active"  # through its funding gate
    assert projects["LAW"]["status"] == "proposed"
    assert [p["above_funding_line"] for p in data["projects"]] == [True, True, False]
    assert [p["cumulative_budget"] for p in data["projects"]] == [150000, 400000, 500000]
    assert data["funding"] | {"years": None} == {
        "envelope": 400000,
        "committed": 400000,
        "years": None,
    }
    assert data["capacity"] == []  # no approved plan yet: no demand on people is known
    growth = {a["objective"]: a for a in data["alignment"]}
    # APOLLO's 250,000 and LAW's 150,000 (its brief, the example's, names the objective too)
    assert growth["customer-experience"]["budget"] == 400000

    # Without LAW, SMALL fits; moved a year later, it fits 2028's envelope.
    without = json.loads(run("--json", "--without", "LAW").output)
    assert [p["above_funding_line"] for p in without["projects"]] == [True, True]
    moved = json.loads(run("--json", "--delay", "SMALL=12").output)
    assert all(p["above_funding_line"] for p in moved["projects"])
    assert moved["what_if"] == "SMALL 12 month(s) later"
    # ... and nothing changed
    with session_scope() as session:
        assert session.query(Project).count() == 3
    assert json.loads(run("--json").output) == data | {"what_if": ""}

    out = tmp_path / "review"
    result = run("--out", str(out))
    assert result.exit_code == 0, result.output
    assert "LAW" in result.output and "BELOW" in result.output
    (docx,) = out.glob("*.docx")
    text = "\n".join(p.text for p in Document(str(docx)).paragraphs)
    assert "Portfolio review" in text and "funding line" in text
    tables = Document(str(docx)).tables
    ranking = [[cell.text for cell in row.cells] for row in tables[0].rows]
    assert ranking[1][1].startswith("LAW") and ranking[3][9] == "below the line"
    assert {p.name.rsplit("-", 1)[-1] for p in out.glob("*.png")} >= {
        "line.png",
        "alignment.png",
        "bubbles.png",
    }


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["--without", "NOPE"], "error: --without: no open project has the key 'NOPE'"),
        (["--delay", "APOLLO"], "error: --delay: 'APOLLO' is not KEY=VALUE"),
        (
            ["--delay", "APOLLO=soon"],
            "error: --delay: APOLLO=soon: give whole months, e.g. APOLLO=3",
        ),
        (["--delay", "NOPE=2"], "error: --delay: no open project has the key 'NOPE'"),
    ],
)
def test_a_bad_what_if_is_one_line(store_url, args, line):
    open_gate()
    result = run(*args)
    assert result.exit_code == 2
    assert result.output.strip() == line


def test_capacity_and_spend_come_from_the_approved_baselines(store_url):
    """Two projects on the bundled plan (86.66 developer-days in March 2027 each, against
    160): March is over-allocated, and each project's spend follows its plan month by month,
    not its budget spread evenly over its dates."""
    for key in ("APOLLO", "HERMES"):
        with session_scope() as session:
            project, _, _ = at_gate(session, make_brief(key=key), LIFECYCLE.lifecycle.stages[1])
            baselined(session, project)
    data = json.loads(run("--json").output)
    march = next(
        row for row in data["capacity"] if (row["role"], row["month"]) == ("developer", "2027-03")
    )
    assert march == {
        "role": "developer",
        "month": "2027-03",
        "demand": 173.32,  # 86.66 each: the plan rounds effort to hundredths of a day
        "capacity": 160.0,
        "over": True,
        "projects": ["APOLLO", "HERMES"],
    }
    assert all(p["basis"].startswith("baseline 1 (plan ") for p in data["projects"])
    # each commits its 250,000: the plan's 239,000 by month and the 11,000 reserve in its
    # last month; two are more than 2027's 400,000, so the second is below the line
    assert data["funding"]["committed"] == 250000
    assert [p["budget"] for p in data["projects"]] == [250000, 250000]
    assert "management reserve (11,000)" in data["projects"][0]["basis"]
