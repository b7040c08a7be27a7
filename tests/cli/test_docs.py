"""`pmo docs KEY`: the document versions the store holds, for people and for scripts."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pmo.cli import app
from tests.factories import make_brief
from tests.project_record import LIFECYCLE, decide, register, write

pytestmark = pytest.mark.integration


@pytest.fixture
def recorded(store_url: str) -> None:
    """APOLLO with a charter, and a plan baseline written twice (the plan was recycled)."""
    brief = make_brief()
    initiation, planning = LIFECYCLE.lifecycle.stages[:2]
    register(brief)
    write(brief, initiation, 1, "charter")
    write(brief, planning, 1, "plan-baseline")
    decide(brief, planning, 1, "recycle", comment="Re-plan.")
    write(brief, planning, 2, "plan-baseline")


def test_docs_lists_every_version_with_stage_attempt_and_checksum(recorded):
    result = CliRunner().invoke(app, ["docs", "APOLLO", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [(r["document"], r["version"], r["stage"], r["attempt"]) for r in rows] == [
        ("charter", 1, "initiation", 1),
        ("plan-baseline", 1, "planning", 1),
        ("plan-baseline", 2, "planning", 2),
    ]
    for row in rows:
        assert len(row["sha256"]) == 64
        assert Path(row["docx"]).name == f"APOLLO-{row['document']}-v{row['version']}.docx"
        assert Path(row["docx"]).is_file() and Path(row["markdown"]).is_file()

    table = CliRunner().invoke(app, ["docs", "APOLLO"])
    assert table.exit_code == 0
    assert "Project plan baseline" in table.output and rows[2]["sha256"][:12] in table.output


def test_an_unknown_project_is_one_line_and_exit_2(store_url):
    result = CliRunner().invoke(app, ["docs", "NOPE"])
    assert result.exit_code == 2
    assert result.output.strip() == "error: project: no project with key 'NOPE' in the store"
