"""Status reporting on a deployed lifecycle: a project that passed its first gates reaches
execution, where the run waits suspended; the project manager reports with `pmo status`,
each update is written up and mailed, a forecast past tolerance opens the exception gate
for the sponsor, who decides, and the run goes on to the stage's gate; resumes repeat
nothing."""

import json
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
from docx import Document
from prefect import get_client
from prefect.deployments import run_deployment
from prefect.states import Scheduled
from typer.testing import CliRunner

from flows.deployments import LIFECYCLE_DEPLOYMENT
from flows.gate_sla import gate_sla
from pmo.brief import parse_brief
from pmo.cli import app
from pmo.runtime.serve import served_in_subprocess
from pmo.store import session_scope
from pmo.store.models import (
    EvmSnapshot,
    Gate,
    GateDecision,
    Notification,
    StatusUpdateRecord,
    utcnow,
)
from pmo.store.records import get_project, mark_decided
from tests.deployed import wait_for_mails, wait_for_state
from tests.factories import brief_data
from tests.gate_mail import latest_code
from tests.project_record import LIFECYCLE, at_gate, baselined

pytestmark = pytest.mark.integration

SPONSOR, PM = "dana.reyes@example.com", "sam.okafor@example.com"
REPORT_READERS = {"dana.reyes@example.com", "lee.park@example.com"}  # "Manage closely"


@pytest.fixture
def deployed(prefect_api, smtp_server, store_url, tmp_path):
    with served_in_subprocess(prefect_api, tmp_path / "serve.log"):
        yield smtp_server


def status(run_id: str, *args: str, **figures: str):
    """`pmo status RUN_ID` with `--progress 1=75 ...` for each of `args`, then `figures`."""
    options = [item for package in args for item in ("--progress", package)]
    for name, value in figures.items():
        options += [f"--{name.replace('_', '-')}", value] if value is not True else [f"--{name}"]
    return CliRunner().invoke(app, ["status", run_id, *options])


def reported(run_id: str, *args: str, **figures: str) -> dict:
    result = status(run_id, *args, **figures, json=True)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def wait_until_reporting(run_id: str, timeout: float = 60) -> None:
    """Until the run is suspended waiting for a status update."""
    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            state = client.read_flow_run(UUID(run_id)).state
            key = state.state_details.pause_key if state else None
            if state and state.is_paused() and (key or "").startswith("status-"):
                return
            time.sleep(0.3)
    raise AssertionError(f"run {run_id} is not waiting for a status update")


def one_line_refusal(result, expected: str) -> None:
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], result.output


def started_in_execution(data: dict) -> str:
    """A deployed lifecycle run whose project passed its charter and plan gates on record
    (the gates themselves are tested elsewhere): the run skips them and reaches execution.

    The run is created scheduled an hour ahead, the store seeded with its project and
    decided gates, then the run is rescheduled for now."""
    brief = parse_brief(data)
    with get_client(sync_client=True) as client:
        run = run_deployment(
            LIFECYCLE_DEPLOYMENT,
            parameters={"brief": brief.model_dump(mode="json")},
            scheduled_time=datetime.now(UTC) + timedelta(hours=1),
            timeout=0,
        )
        with session_scope() as session:
            # before the project is in a reporting stage, the run takes no status updates
            for stage in LIFECYCLE.lifecycle.stages[:2]:
                _, stage_run, gate = at_gate(session, brief, stage, run_id=str(run.id))
                session.add(
                    GateDecision(
                        gate_id=gate.id,
                        round=1,
                        response_key=f"{stage.key}-1-1-1",
                        approver_email=SPONSOR,
                        roles="sponsor",
                        decision="go",
                        accepted=True,
                    )
                )
                session.flush()
                mark_decided(
                    session, gate=gate, stage_run=stage_run, round=1, outcome="go", at=utcnow()
                )
            baselined(session, get_project(session, key=brief.key))  # the brief's plan
        one_line_refusal(
            status(str(run.id), "1=10", actual_cost="1", **FIGURES),
            f"error: RUN_ID: {brief.key} is not in a stage taking status updates: it is "
            "active, at Planning (passed)",
        )
        client.set_flow_run_state(run.id, Scheduled(), force=True)
    return str(run.id)


FIGURES = {"as_of": "2027-06-30", "forecast_finish": "2027-11-05", "forecast_cost": "255000"}


def test_status_updates_report_mail_and_escalate_a_breach_to_the_sponsor(deployed, tmp_path):
    smtp = deployed
    run_id = started_in_execution(brief_data(key="HELIOS"))
    wait_until_reporting(run_id)

    # the Resume form is a schema on Prefect's server: a percent field per work package
    with get_client(sync_client=True) as client:
        keyset = client.read_flow_run(UUID(run_id)).state.state_details.run_input_keyset
        schema = json.loads(client.read_flow_run_input(UUID(run_id), keyset["schema"]))
    assert schema["properties"]["wp_1"]["title"] == "1.1 Requirements and design"
    assert schema["properties"]["wp_1"]["maximum"] == 100
    assert {"actual_cost", "forecast_finish", "new_risks", "stage_complete"} <= set(
        schema["properties"]
    )

    # no update 16 days after execution started: the project manager is reminded, once
    later = datetime.now(UTC) + timedelta(days=17)
    assert any("status-reminded" in line for line in gate_sla(as_of=later))
    gate_sla(as_of=later)
    reminders = [m for m in smtp.messages if "status update overdue" in str(m["Subject"])]
    assert [str(m["To"]) for m in reminders] == [PM]

    # bad input: one line naming the field, exit 2, nothing recorded
    one_line_refusal(status(run_id, "1.1=120", actual_cost="1", **FIGURES), "is outside 0 to 100")
    one_line_refusal(
        status(run_id, "9.9=10", actual_cost="1", **FIGURES),
        "error: progress[9.9]: no work package '9.9' in the baseline",
    )
    one_line_refusal(
        status(run_id, "1.1=50", actual_cost="-5", **FIGURES), "actual_cost: -5 is negative"
    )
    one_line_refusal(
        status(run_id, "1.1=50", actual_cost="1", **(FIGURES | {"forecast_finish": "2026-01-01"})),
        "forecast_finish: 2026-01-01 is before the project's start",
    )
    with session_scope() as session:
        assert session.query(StatusUpdateRecord).count() == 0

    # a cost forecast far past tolerance: an exception for the sponsor
    breach = reported(
        run_id,
        *(f"{key}=100" for key in ("1.1", "1.2", "2.1", "2.2", "2.4", "3.2")),
        "2.3=80",
        "3.1=30",
        actual_cost="215000",
        risk="Second vendor insolvent:low:high",
        **FIGURES,
    )
    # Against baseline 1 (the brief's plan): 173,000 due by 30 June and 12 of 3.1's 25 days
    assert (breach["update"], breach["baseline"]) == (1, 1)
    assert (breach["pv"], breach["ev"]) == (185480.0, 174400.0)
    assert (breach["spi"], breach["cpi"], breach["eac"]) == (0.9403, 0.8112, 294638.76)
    assert (breach["evm"]["spi_t"], breach["evm"]["forecast_finish"]) == (0.9004, "2027-10-19")
    assert breach["breached"] and breach["rag"]["cost"] == "red" and breach["overall"] == "red"
    exception_gate = "HELIOS/execution/1/execution-exception-1/1"
    wait_for_mails(smtp, 1, gate=exception_gate)
    wait_for_state(run_id, "Suspended")
    one_line_refusal(status(run_id, "1.1=90", actual_cost="1", **FIGURES), "(at-exception-gate)")
    code = latest_code(smtp.messages, exception_gate, SPONSOR)
    decide = ["approve", run_id, "--as", SPONSOR, "--decision", "go", "--code", code]
    one_line_refusal(
        CliRunner().invoke(app, [*decide, "--conditions", "cost: lots"]), "new tolerances"
    )
    go = CliRunner().invoke(app, [*decide, "--conditions", "cost_percent: 30, time_percent: 20"])
    assert go.exit_code == 0, go.output
    wait_until_reporting(run_id)

    done = FIGURES | {"as_of": "2027-08-20", "forecast_cost": "300000"}
    one_line_refusal(
        status(run_id, "3.1=10", actual_cost="250000", **done), "went back from 30 to 10"
    )
    everything = [f"{p.key}=100" for p in parse_brief(brief_data()).plan.work_packages]
    finished = reported(run_id, *everything, actual_cost="250000", complete=True, **done)
    # 300,000 is 25.5 % over BAC 239,000, within the new 30 %; 5 Nov is 44 days past the
    # baseline's 22 Sep, 18.9 % of its 233 days, within the new 20 % (Amber)
    assert finished["complete"] and not finished["breached"]
    wait_for_mails(smtp, 1, gate="HELIOS/execution/1/acceptance/1")

    # each update written up and mailed once to the "Manage closely" stakeholders
    reports = [m for m in smtp.messages if "Status report" in str(m["Subject"])]
    assert Counter(str(m["To"]) for m in reports) == dict.fromkeys(REPORT_READERS, 2)
    attachment = next(reports[-1].iter_attachments())
    path = tmp_path / attachment.get_filename()
    path.write_bytes(attachment.get_content())
    document = Document(str(path))
    headings = [p.text for p in document.paragraphs if p.style.name.startswith("Heading")]
    assert {"Overall status: AMBER", "Progress by work package"} <= set(headings)
    assert "Earned value against baseline 1" in headings
    assert len(document.inline_shapes) == 2  # the SPI/CPI trend and the S-curve
    exception_mails = [m for m in smtp.messages if m["X-PMO-Gate"] == exception_gate]
    assert len(exception_mails) == 1
    pack = next(exception_mails[0].iter_attachments()).get_filename()
    assert pack == "HELIOS-exception-report-v1.docx"
    with session_scope() as session:
        assert session.query(EvmSnapshot).count() == 2
        assert session.query(StatusUpdateRecord).count() == 2  # refusals never reached the run
        exception = session.query(Gate).filter_by(kind="exception").one()
        assert (exception.gate_key, exception.outcome) == ("execution-exception-1", "go")
        keys = [n.idempotency_key for n in session.query(Notification)]
        assert sum("status-report" in k for k in keys) == 4

    listed = json.loads(CliRunner().invoke(app, ["projects", "--json"]).output)
    assert listed == [
        {
            "project": "HELIOS",
            "name": "Apollo customer portal",
            "lifecycle": "pmbok-waterfall",
            "stage": "Execution",
            "status": "at-gate",
            "rag": "amber",
            "spi": finished["spi"],
            "cpi": finished["cpi"],
            "as_of": "2027-08-20",
            "run_id": run_id,
            "baseline": 1,
            "evm": finished["evm"],
        }
    ]


def test_an_update_recorded_while_prefect_is_away_is_taken_after_the_sla_sweep(deployed):
    from prefect.settings import PREFECT_API_URL, temporary_settings

    run_id = started_in_execution(brief_data(key="SELENE"))
    wait_until_reporting(run_id)
    with get_client(sync_client=True) as client:
        paused_at = client.read_flow_run(UUID(run_id)).state.state_details.pause_key

    # `pmo status` cannot reach Prefect: the update is recorded with its figures all the same
    with temporary_settings(updates={PREFECT_API_URL: "http://127.0.0.1:9/api"}):
        result = status(run_id, "1.1=50", actual_cost="20000", **FIGURES)
    assert result.exit_code == 0, result.output
    assert "Update 1 recorded for SELENE" in result.output
    assert "warning: recorded all the same, but cannot reach the Prefect API" in result.output
    assert wait_for_state(run_id, "Suspended") == "Suspended"

    # the next sweep finds the run paused since before the update, and wakes it: the run
    # takes update 1 and waits for the next one
    with session_scope() as session:
        recorded_at = session.query(StatusUpdateRecord).one().received_at
    woken = [line for line in gate_sla() if "woken" in line]
    assert woken == [f"SELENE Execution: woken (recorded {recorded_at})"]
    deadline = time.monotonic() + 60
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            state = client.read_flow_run(UUID(run_id)).state
            if state.is_paused() and state.state_details.pause_key != paused_at:
                break
            time.sleep(0.3)
    assert state.is_paused() and state.state_details.pause_key != paused_at
    assert not [line for line in gate_sla() if "woken" in line]  # taken: nothing to wake
