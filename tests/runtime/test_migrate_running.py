"""A project suspended at a gate, moved onto a new version of its lifecycle with `pmo
library migrate`: the gate it waits at is decided by the rules it opened with, then the
run goes on under the new version (a stage the new version adds, its gate, its rules)."""

import json
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from pmo.cli import app
from pmo.runtime.serve import served_in_subprocess
from pmo.store import session_scope
from pmo.store.models import DocumentRecord, LedgerEntry, ProjectLifecycle
from pmo.store.records import get_project, project_stage_runs
from process_library.loader import load_lifecycle, load_lifecycle_file
from tests.deployed import approve, wait_for_mails, wait_for_state
from tests.factories import brief_data, feasibility_added, write_brief, write_lifecycle
from tests.gate_mail import latest_code

pytestmark = pytest.mark.integration

SPONSOR, PMO, OFFICE = "dana.reyes@example.com", "pmo@example.com", "pmo-office@example.com"


@pytest.fixture
def deployed(prefect_api, smtp_server, store_url, tmp_path):
    with served_in_subprocess(prefect_api, tmp_path / "serve.log"):
        yield smtp_server


def next_version(tmp_path):
    folder = tmp_path / "library-v2"
    folder.mkdir()
    return write_lifecycle(folder, feasibility_added())


def test_a_suspended_project_moved_to_a_new_version_goes_on_under_it(deployed, tmp_path):
    smtp = deployed
    brief = write_brief(tmp_path, brief_data(key="DRACO"))
    started = CliRunner().invoke(app, ["start", str(brief), "--json"])
    assert started.exit_code == 0, started.output
    run_id = json.loads(started.output)["run_id"]
    assert wait_for_state(run_id, "Suspended") == "Suspended"
    wait_for_mails(smtp, 2)

    path = next_version(tmp_path)
    version_2 = load_lifecycle_file(path).version
    moved = CliRunner().invoke(
        app,
        [
            "library",
            "migrate",
            "--project",
            "DRACO",
            "--to",
            str(path),
            "--as",
            OFFICE,
            "--reason",
            "Every project checks feasibility before planning",
        ],
    )
    assert moved.exit_code == 0, moved.output
    assert "Gains ahead: Feasibility" in moved.output
    assert "Initiation finishes under pmbok-waterfall@" in moved.output

    charter = "DRACO/initiation/1/charter-approval/1"
    for approver in (SPONSOR, PMO):
        result = approve(run_id, approver, "go", latest_code(smtp.messages, charter, approver))
        assert result.exit_code == 0, result.output
    feasibility = "DRACO/feasibility/1/feasibility-review/1"
    wait_for_mails(smtp, 1, timeout=60, gate=feasibility)
    assert wait_for_state(run_id, "Suspended") == "Suspended"
    code = latest_code(smtp.messages, feasibility, SPONSOR)
    result = approve(run_id, SPONSOR, "go", code, "Feasible with the ERP vendor's commitment.")
    assert result.exit_code == 0, result.output
    plan = "DRACO/planning/1/plan-approval/1"
    wait_for_mails(smtp, 2, timeout=60, gate=plan)
    code = latest_code(smtp.messages, plan, SPONSOR)
    assert approve(run_id, SPONSOR, "kill", code, "Demonstration over.").exit_code == 0
    assert wait_for_state(run_id, "Completed") == "Completed"

    with session_scope() as session:
        project = get_project(session, key="DRACO")
        assert (project.status, project.lifecycle_version) == ("cancelled", version_2)
        runs = [
            (r.stage_key, r.lifecycle_version) for r in project_stage_runs(session, project=project)
        ]
        assert runs == [
            ("initiation", load_lifecycle("pmbok-waterfall").version),
            ("feasibility", version_2),
            ("planning", version_2),
        ]
        pack = session.scalars(
            select(DocumentRecord).where(
                DocumentRecord.document_key == "gate-review-feasibility-review"
            )
        ).one()
        # the new stage's gate pack names the version it ran under
        markdown = Path(pack.markdown_path).read_text(encoding="utf-8")
        assert f"**Lifecycle:** PMBOK waterfall {version_2}" in markdown
        pins = session.scalars(select(ProjectLifecycle).order_by(ProjectLifecycle.seq)).all()
        assert [(p.seq, p.version, p.pinned_by) for p in pins][1] == (2, version_2, OFFICE)
        entries = session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.table_name == "project_lifecycles")
            .order_by(LedgerEntry.seq)
        ).all()
        assert json.loads(entries[-1].payload)["pinned_by"] == OFFICE
