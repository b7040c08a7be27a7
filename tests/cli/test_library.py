"""`pmo library validate`, `diff` and `handbook`: five lifecycles, the changes between two
versions in a PMO's words (files, folders, git revisions), a handbook read back from Word."""

import json
import subprocess

import pytest
import yaml
from docx import Document
from typer.testing import CliRunner

from pmo.cli import app
from process_library.errors import LifecycleError
from process_library.loader import LIBRARY_DIR, content_version
from process_library.revisions import find_version, lifecycles_at
from tests.factories import brief_data, lifecycle_data, write_brief, write_lifecycle

pytestmark = pytest.mark.unit


def library(*args: str):
    return CliRunner().invoke(app, ["library", *args])


def one_line_refusal(result, expected: str) -> None:
    assert result.exit_code == 2, result.output
    assert result.output.strip().splitlines() == [expected]


def test_validate_passes_the_five_lifecycles():
    result = library("validate")
    assert result.exit_code == 0, result.output
    names = [line.split()[1] for line in result.output.splitlines() if "(version" in line]
    assert names == ["hybrid-agile", "pm2", "pmbok-waterfall", "prince2", "stage-gate"]
    assert (
        "prince2 (version" in result.output
        and "(management-stage per management_stages)" in result.output
    )
    assert "ok  project categories: mandatory, grow, run, transform" in result.output


def changed_copy(tmp_path):
    data = lifecycle_data("prince2")
    stage = data["stages"][2]
    stage["gate"]["quorum"] = "majority"
    stage["gate"]["approvers"].append("pmo")
    stage["gate"]["timing"]["sla_hours"] = 96
    stage["gate"]["must_meet"].pop(2)  # still-justified
    stage["tolerances"]["cost_percent"] = 15
    stage["documents"].append({"key": "deliverables"})
    stage["repeat"]["max"] = 6
    data["stages"].insert(
        3,
        {
            "key": "handover",
            "name": "Handover",
            "purpose": "Hand the products to operations.",
            "gate": {
                "key": "operations-acceptance",
                "name": "Operations acceptance",
                "approvers": ["senior-user"],
            },
        },
    )
    data["tailoring"].pop(0)
    folder = tmp_path / "new"
    folder.mkdir()
    return write_lifecycle(folder, data)


def test_diff_of_two_files_says_what_changed_in_a_pmos_words(tmp_path):
    new = changed_copy(tmp_path)
    result = library("diff", str(LIBRARY_DIR / "prince2.yaml"), str(new))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("prince2: ") and lines[0].endswith(", 9 changes")
    assert lines[1:] == [
        "  + New stage Handover (handover), after Management stage, closed by gate "
        "Operations acceptance (senior-user)",
        "  + Management stage now writes the Deliverables register (tiers small, medium, large)",
        "  ~ Management stage runs once per item of management_stages (1 to 6); was per item "
        "of management_stages (1 to 12)",
        "  ~ Management stage: cost tolerance 10 % → 15 %",
        "  + Gate End stage assessment: approver role pmo added",
        "  ~ Gate End stage assessment: quorum for go all → majority",
        "  ~ Gate End stage assessment: SLA 120 h → 96 h",
        "  - Gate End stage assessment: must-meet criterion removed: The business case still "
        "justifies the project.",
        "  - Tailoring rule small-project-light-paperwork removed",
    ]


def test_diff_as_json_for_scripts(tmp_path):
    new = changed_copy(tmp_path)
    result = library("diff", str(LIBRARY_DIR), str(new.parent), "--json")
    assert result.exit_code == 0, result.output
    found = {d["name"]: d for d in json.loads(result.output)["lifecycles"]}
    assert found["prince2"]["status"] == "changed"
    assert found["pmbok-waterfall"]["status"] == "removed"  # not in the new folder
    quorum = [c for c in found["prince2"]["changes"] if c["area"] == "quorum"]
    assert quorum == [
        {
            "kind": "changed",
            "area": "quorum",
            "where": "gate End stage assessment",
            "what": "Gate End stage assessment: quorum for go all → majority",
            "before": "all",
            "after": "majority",
        }
    ]


def test_a_diff_of_a_file_that_is_not_a_lifecycle_is_one_line_and_exit_2(tmp_path):
    brief = write_brief(tmp_path, brief_data())
    one_line_refusal(
        library("diff", str(brief), str(LIBRARY_DIR / "prince2.yaml")),
        f"error: {brief}: is not a lifecycle: it has no stages",
    )
    one_line_refusal(
        library("diff", "no-such-thing", str(LIBRARY_DIR)),
        "error: OLD: 'no-such-thing' is neither a lifecycle file, a folder of them, nor a git "
        "revision of the library's repository",
    )


def test_diff_of_two_git_revisions_of_the_library(tmp_path):
    repository = tmp_path / "repo"
    folder = repository / "process_library" / "lifecycles"
    folder.mkdir(parents=True)

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(repository), *args], check=True, capture_output=True, text=True
        ).stdout

    git("init", "-q")
    git("config", "user.email", "pmo@example.com")
    git("config", "user.name", "PMO")
    data = lifecycle_data()
    first = write_lifecycle(folder, data)
    git("add", ".")
    git("commit", "-q", "-m", "v1")
    version_1 = content_version(first.read_bytes())
    data["stages"][1]["gate"]["quorum"] = "majority"
    write_lifecycle(folder, data)
    git("commit", "-q", "-am", "v2")

    old = lifecycles_at("HEAD~1", "OLD", library=folder)
    new = lifecycles_at("HEAD", "NEW", library=folder)
    assert old["pmbok-waterfall"].version == version_1
    assert old["pmbok-waterfall"].lifecycle.stage("planning").gate.quorum == "all"
    assert new["pmbok-waterfall"].lifecycle.stage("planning").gate.quorum == "majority"
    at = lifecycles_at(
        "HEAD~1:process_library/lifecycles/pmbok-waterfall.yaml", "OLD", library=folder
    )
    assert at["pmbok-waterfall"].version == version_1
    # a version committed once is found again by its content hash, even once replaced
    assert find_version("pmbok-waterfall", version_1[:8], library=folder).version == version_1
    with pytest.raises(LifecycleError, match="no version 0123456 of lifecycle"):
        find_version("pmbok-waterfall", "0123456", library=folder)


def test_diff_of_a_revision_with_itself_is_unchanged():
    result = library("diff", "HEAD", "HEAD")
    assert result.exit_code == 0, result.output
    assert all(
        line.endswith(")") and ": unchanged (version" in line for line in result.output.splitlines()
    )


def test_the_handbook_is_markdown_and_word_with_a_stage_and_gate_diagram(tmp_path):
    result = library("handbook", "prince2", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    markdown = (tmp_path / "prince2-handbook.md").read_text(encoding="utf-8")
    assert "![Stages and gates of PRINCE2](prince2-handbook-stage-gate-diagram.png)" in markdown
    assert (
        "This stage runs once per item of the brief's repetitions.management\\_stages (1 to 12)"
        in markdown
    )
    assert "| high-risk-closer-control | risk high |" in markdown
    document = Document(str(tmp_path / "prince2-handbook.docx"))
    assert document.paragraphs[0].text == "PRINCE2: a handbook for project managers"
    headings = [p.text for p in document.paragraphs if p.style.name.startswith("Heading")]
    assert headings[:2] == ["At a glance", "What your brief must give"]
    assert "3. Management stage" in headings and "The gate: End stage assessment" in headings
    assert len(document.inline_shapes) == 1  # the diagram
    every = library("handbook", "--out", str(tmp_path / "all"))
    assert every.exit_code == 0, every.output
    assert len(list((tmp_path / "all").glob("*-handbook.docx"))) == 5


def test_a_handbook_of_an_unknown_lifecycle_is_refused(tmp_path):
    one_line_refusal(
        library("handbook", "prince3", "--out", str(tmp_path)),
        "error: lifecycle: unknown lifecycle 'prince3' (known: hybrid-agile, pm2, "
        "pmbok-waterfall, prince2, stage-gate)",
    )
    assert not any(tmp_path.iterdir())


def test_tailoring_rules_in_a_file_validate_like_the_library(tmp_path):
    data = lifecycle_data()
    data["tailoring"][0]["when"] = {"category": ["unheard-of"]}
    path = write_lifecycle(tmp_path, data)
    one_line_refusal(
        library("validate", str(path)),
        f"error: {path}: tailoring[mandatory-not-scored-on-fit].when.category: 'unheard-of' is "
        "not a project category (known: mandatory, grow, run, transform)",
    )
    assert yaml.safe_load(path.read_text())["name"] == "pmbok-waterfall"


def test_diff_reports_changes_to_a_stages_change_and_exception_gates(tmp_path):
    data = lifecycle_data("prince2")
    stage = next(s for s in data["stages"] if s.get("change_gate"))
    change_gate = stage.pop("change_gate")
    stage["exception_gate"]["approvers"].append("senior-user")
    without = tmp_path / "without"
    without.mkdir()
    result = library("diff", str(LIBRARY_DIR / "prince2.yaml"), str(write_lifecycle(without, data)))
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[1:] == [
        "  + Exception gate Exception assessment: approver role senior-user added",
        "  - Management stage: change gate Change authority removed",
    ]
    stage["change_gate"] = change_gate | {"timing": {"sla_hours": 72}}
    back = tmp_path / "back"
    back.mkdir()
    result = library("diff", str(without / "prince2.yaml"), str(write_lifecycle(back, data)))
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[1:] == [
        "  + Management stage: a change request now goes to Change authority (executive)",
    ]
    stage["change_gate"]["quorum"] = "majority"
    again = tmp_path / "again"
    again.mkdir()
    result = library("diff", str(back / "prince2.yaml"), str(write_lifecycle(again, data)))
    assert result.output.splitlines()[1:] == [
        "  ~ Change gate Change authority: quorum for go all → majority",
    ]
