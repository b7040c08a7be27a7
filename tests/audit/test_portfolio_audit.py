"""The PMO's audit against real runs: gates passed from outside are found in Prefect's
history, a record altered afterwards breaks the ledger, and bad input gets one line."""

import json
import time
from pathlib import Path
from uuid import UUID

import pytest
from prefect import get_client
from prefect.states import Completed
from prefect.variables import Variable
from sqlalchemy import create_engine, select, text
from typer.testing import CliRunner

from pmo.audit.ledger_anchor import anchor_name
from pmo.cli import app
from pmo.gates.rules import Answer
from pmo.runtime.serve import served_in_subprocess
from pmo.store import session_scope
from pmo.store.models import GateDecision
from tests.deployed import approve, wait_for_mails, wait_for_state
from tests.factories import brief_data, write_brief
from tests.gate_mail import latest_code

pytestmark = pytest.mark.integration

SPONSOR, PMO = "dana.reyes@example.com", "pmo@example.com"


@pytest.fixture
def audited(prefect_api, store_url):
    """A store audited for the first time (the Prefect server is shared by the session)."""
    Variable.unset(anchor_name())
    yield


@pytest.fixture
def deployed(audited, prefect_api, smtp_server, tmp_path):
    with served_in_subprocess(prefect_api, tmp_path / "serve.log"):
        yield smtp_server


def start(tmp_path, key: str) -> str:
    brief = write_brief(tmp_path, brief_data(key=key), name=f"{key}.yaml")
    started = CliRunner().invoke(app, ["start", str(brief), "--json"])
    assert started.exit_code == 0, started.output
    return json.loads(started.output)["run_id"]


def audit(*args: str):
    return CliRunner().invoke(app, ["audit", *args])


def wait_for_refusal(run_id: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with session_scope() as session:
            refused = session.scalars(
                select(GateDecision).where(
                    GateDecision.flow_run_id == run_id, GateDecision.accepted.is_(False)
                )
            ).first()
        if refused is not None:
            return
        time.sleep(0.3)
    raise AssertionError(f"run {run_id} recorded no refusal")


# The ledger's own tests run on both databases; this one drives two deployed lifecycles.
@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_the_audit_finds_gates_passed_from_outside_and_records_altered_after(
    deployed, store_url, tmp_path
):
    smtp = deployed
    alpha = start(tmp_path, "ALPHA")
    beta = start(tmp_path, "BETA")
    wait_for_mails(smtp, 4)
    for approver in (SPONSOR, PMO):
        code = latest_code(smtp.messages, "ALPHA/initiation/1/charter-approval/1", approver)
        assert approve(alpha, approver, "go", code).exit_code == 0
    code = latest_code(smtp.messages, "BETA/initiation/1/charter-approval/1", SPONSOR)
    assert approve(beta, SPONSOR, "kill", code, "No sponsor budget this year.").exit_code == 0
    assert wait_for_state(beta, "Completed") == "Completed"

    # At ALPHA's plan gate, someone with access to Prefect resumes the run with a made-up
    # code, then marks it Completed by hand, as the UI's "Change state" does.
    wait_for_mails(smtp, 6)
    assert wait_for_state(alpha, "Suspended") == "Suspended"
    forged = Answer(approver=SPONSOR, decision="go", code="1234-5678-9999", comment="ok")
    with get_client(sync_client=True) as client:
        client.resume_flow_run(UUID(alpha), run_input=forged.as_run_input())
        wait_for_refusal(alpha)
        assert wait_for_state(alpha, "Suspended") == "Suspended"
        client.set_flow_run_state(UUID(alpha), Completed(message="Closed by hand"), force=True)

    result = audit("--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    projects = {p["key"]: p for p in report["projects"]}
    assert projects["BETA"]["compliant"] is True
    assert projects["ALPHA"]["compliant"] is False
    bypasses = [b["what"] for b in projects["ALPHA"]["bypasses"]]
    assert any(
        w.startswith("resumed at Plan approval with a response the gate refused") for w in bypasses
    )
    assert any(
        w.startswith(
            "marked Completed ('Closed by hand') while the project waited at Plan approval"
        )
        for w in bypasses
    )
    gaps = [f for f in report["findings"] if f["project"] == "ALPHA" and f["type"] == "control gap"]
    assert any(alpha in f["evidence"] and "Closed by hand" in f["evidence"] for f in gaps)
    kpis = report["kpis"]
    assert kpis["compliance_rate"] == 0.5
    charter = next(g for g in kpis["gates"] if g["gate"] == "charter-approval")
    assert (charter["decided"], charter["outcomes"]["go"], charter["outcomes"]["kill"]) == (2, 1, 1)
    assert charter["cycle_hours_p50"] is not None and charter["within_sla_share"] == 1.0
    assert set(kpis["approval_turnaround_hours"]) == {"sponsor", "pmo"}
    assert report["ledger"]["intact"] is True
    # The Prefect server is the test session's: other tests' runs are read too, and are
    # listed as runs with no project in this store.
    assert {alpha, beta} <= {p["run_id"] for p in report["projects"]}
    assert report["runs_read"] == 2 + len(report["runs_without_project"])

    # The kill at BETA's gate is turned into a go in the database, behind the application
    # (as with psql or sqlite3).
    with create_engine(store_url).begin() as connection:
        connection.execute(
            text("UPDATE gate_decisions SET decision = 'go' WHERE decision = 'kill'")
        )
    result = audit()
    assert result.exit_code == 3, result.output
    assert "LEDGER: 1 problem(s)" in result.output
    assert (
        "gate decision 3 of project BETA was edited after ledger entry" in result.output
        and "decision 'kill' → 'go'" in result.output
    )


def test_bad_input_gets_one_line_and_an_empty_portfolio_is_fine(audited, prefect_api, tmp_path):
    empty = audit()
    assert empty.exit_code == 0, empty.output
    assert "No projects to audit: the portfolio is empty for this selection." in empty.output
    assert json.loads(audit("--json").output)["projects"] == []
    written = audit("--out", str(tmp_path / "report"))
    assert written.exit_code == 0, written.output
    suffixes = {p.suffix for p in (tmp_path / "report").iterdir()}
    assert {".md", ".docx", ".json"} <= suffixes
    for args, line in [
        (["--project", "NOPE"], "error: --project: no project 'NOPE' in the store or in Prefect"),
        (["--since", "2999-01-01"], "error: --since: 2999-01-01 is in the future"),
        (["--since", "last week"], "error: --since: 'last week' is not a date (YYYY-MM-DD)"),
    ]:
        result = audit(*args)
        assert (result.exit_code, result.output.strip()) == (2, line)


def test_an_unreachable_prefect_api_is_one_line_and_exit_1(audited, monkeypatch):
    from prefect.settings import (
        PREFECT_API_URL,
        PREFECT_LOGGING_TO_API_ENABLED,
        temporary_settings,
    )

    nowhere = {PREFECT_API_URL: "http://127.0.0.1:9/api", PREFECT_LOGGING_TO_API_ENABLED: False}
    with temporary_settings(updates=nowhere):
        result = audit()
    assert result.exit_code == 1
    assert result.output.startswith("error: cannot ") and len(result.output.splitlines()) == 1


def test_the_pmo_audit_flow_publishes_its_report_and_fails_on_a_tampered_record(
    audited, prefect_api, store_url, pmo_home
):
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    from flows.audit import pmo_audit
    from tests.factories import make_brief
    from tests.project_record import run_documents

    run_documents(make_brief(key="VESTA"))
    state = pmo_audit(return_state=True)
    assert state.is_completed(), state.message
    summary = state.result()
    assert (summary["projects"], summary["ledger_intact"]) == (1, True)
    written = [Path(p) for p in summary["report"]]
    assert {p.suffix for p in written} >= {".md", ".docx", ".json"}
    assert all(p.is_file() and p.parent.parent == pmo_home / "audits" for p in written)
    with get_client(sync_client=True) as client:
        keys = {
            a.key
            for a in client.read_artifacts(
                artifact_filter=ArtifactFilter(
                    key=ArtifactFilterKey(any_=["portfolio-audit", "portfolio-audit-findings"])
                )
            )
        }
    assert keys == {"portfolio-audit", "portfolio-audit-findings"}

    with create_engine(store_url).begin() as connection:
        connection.execute(text("DELETE FROM documents WHERE document_key = 'charter'"))
    state = pmo_audit(return_state=True)
    assert state.is_failed()
    assert state.message == "the record was altered: 1 ledger problem(s)"


def test_a_document_file_altered_or_removed_after_it_was_recorded_is_an_evidence_gap(
    audited, prefect_api
):
    from tests.factories import make_brief
    from tests.project_record import run_documents

    latest = run_documents(make_brief(key="CERES"))
    latest["charter"].write_bytes(latest["charter"].read_bytes() + b"edited")
    latest["raid-log"].unlink()
    report = json.loads(audit("--json").output)
    (gap,) = [
        f
        for f in report["findings"]
        if f["question"].startswith("Do the documents on record match the sha256")
    ]
    assert gap["type"] == "evidence gap" and gap["project"] == "CERES"
    assert f"the .docx file {latest['charter']} does not match its sha256" in gap["evidence"]
    assert f"the .docx file {latest['raid-log']} is missing" in gap["evidence"]
