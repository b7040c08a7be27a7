"""`pmo approve` and `pmo status`, run as a person runs them (a fresh interpreter), record
through the store, post the gate's events and wake the run over Prefect's REST API, and
never import Prefect (its import alone takes seconds).

Real parts: a Prefect server, a run paused at the gate's pause key, the store on SQLite
and PostgreSQL.
"""

import contextvars
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from datetime import date

import httpx
import pytest
from prefect import flow
from prefect.context import get_run_context

from flows.gate import answer_form
from flows.waiting import wait_for_input
from pmo.gates.answers import begin_wait, send_approval_request
from pmo.mail import compose_message
from pmo.store import session_scope
from pmo.store.models import EvmSnapshot, Gate, GateDecision, Project, StatusUpdateRecord
from pmo.store.records import ensure_project, ensure_stage_run
from tests.factories import make_brief
from tests.project_record import LIFECYCLE, at_gate, baselined

pytestmark = pytest.mark.integration

SPONSOR, PMO = "dana.reyes@example.com", "pmo@example.com"
CHARTER = LIFECYCLE.lifecycle.stages[0]  # charter approval: quorum all, two approvers
EXECUTION = LIFECYCLE.lifecycle.stage("execution")
# The command line in a fresh interpreter; reports its result and the Prefect modules loaded.
SCRIPT = """
import json, sys
from typer.testing import CliRunner
from pmo.cli import app
result = CliRunner().invoke(app, json.loads(sys.argv[1]))
loaded = sorted(m for m in sys.modules if m.split(".")[0] == "prefect")
print(json.dumps({"exit": result.exit_code, "output": result.output, "prefect": loaded}))
"""


def pmo(args: list[str], api_url: str) -> dict:
    """Run `pmo ARGS` as a person would, pointed at the API by the environment only."""
    environment = {**os.environ, "PREFECT_API_URL": api_url}
    completed = subprocess.run(
        [sys.executable, "-c", SCRIPT, json.dumps(args)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env=environment,
    )
    return json.loads(completed.stdout)


@flow(name="waits-at-the-charter-gate")
def waits_at_the_gate(gate_id: int, key: str) -> list[str]:
    """Wait for the gate's round to be decided as the gate does (paused in-process)."""
    brief = make_brief(key=key)
    with session_scope() as session:
        run_id = str(get_run_context().flow_run.id)
        session.get(Gate, gate_id).flow_run_id = run_id
        session.get(Project, session.get(Gate, gate_id).project_id).flow_run_id = run_id
    seen = []
    while True:
        with session_scope() as session:
            wait = begin_wait(
                session,
                gate_id=gate_id,
                definition=CHARTER.gate,
                brief=brief,
                round=1,
                prefix="initiation-1",
            )
        seen.append(wait.key or f"decided:{wait.outcome}")
        if wait.outcome is not None:
            return seen
        wait_for_input(answer_form(CHARTER.gate, [SPONSOR, PMO], "Decide"), wait.key)


def test_pmo_approve_records_posts_events_and_wakes_the_run_without_prefect(store_url, prefect_api):
    brief = make_brief(key=f"FAST-{uuid.uuid4().hex[:8]}")  # its own events on the server
    codes: dict[str, str] = {}
    with session_scope() as session:
        _, _, gate = at_gate(session, brief, CHARTER, run_id=str(uuid.uuid4()))
        for approver in (SPONSOR, PMO):

            def compose(code, approver=approver, links=None):
                codes[approver] = code
                return compose_message(
                    to=[approver], subject="Decide", body=code, message_id_key=f"f/{approver}"
                )

            send_approval_request(session, gate=gate, round=1, approver=approver, compose=compose)
        gate_id = gate.id
    outcome: dict[str, object] = {}
    context = contextvars.copy_context()  # points Prefect at the test server
    waiter = threading.Thread(
        target=context.run,
        args=(lambda: outcome.update(seen=waits_at_the_gate(gate_id, brief.key)),),
        daemon=True,
    )
    waiter.start()
    run_id = _paused_run(prefect_api, gate_id)

    def approve(approver: str, code: str) -> dict:
        args = ["approve", run_id, "--as", approver, "--decision", "go", "--code", code]
        return pmo([*args, "--comment", "Fine"], prefect_api)

    wrong = approve(SPONSOR, "WRONG-CODE-0000")
    first = approve(SPONSOR, codes[SPONSOR])
    second = approve(PMO, codes[PMO])

    assert wrong["exit"] == 2 and wrong["output"].count("\n") == 1, wrong
    assert "answer refused" in wrong["output"]
    assert first["exit"] == 0 and f"still waiting for {PMO}" in first["output"], first
    assert (
        second["exit"] == 0
        and "the gate is decided (go) and the run acts on it" in (second["output"])
    ), second
    assert wrong["prefect"] == first["prefect"] == second["prefect"] == []
    waiter.join(timeout=60)
    assert outcome["seen"] == ["initiation-1-1-1", "decided:go"]  # woken, found it decided
    with session_scope() as session:
        rows = session.query(GateDecision).order_by(GateDecision.id).all()
        assert [(r.approver_email, r.accepted, r.channel) for r in rows] == [
            (SPONSOR, False, "cli"),
            (SPONSOR, True, "cli"),
            (PMO, True, "cli"),
        ]
    events = _gate_events(prefect_api, brief.key)
    assert sorted(events) == ["pmo.gate.answered", "pmo.gate.answered", "pmo.gate.refused"]


def test_pmo_status_prints_the_figures_recorded_without_prefect(store_url, prefect_api):
    brief = make_brief()
    run_id = str(uuid.uuid4())
    with session_scope() as session:
        project = ensure_project(session, brief=brief, lifecycle=LIFECYCLE, flow_run_id=run_id)
        baselined(session, project)
        project.status, project.current_stage = "active", EXECUTION.name
        stage_run = ensure_stage_run(session, project=project, stage=EXECUTION, attempt=1)
        stage_run.status = "reporting"
    progress = {"1.1": 100, "1.2": 100, "2.1": 100, "2.2": 100, "2.4": 100, "3.2": 100}
    args = ["status", run_id, "--as-of", date(2027, 6, 30).isoformat()]
    args += [f"--progress={key}={value}" for key, value in {**progress, "2.3": 80}.items()]
    args += ["--progress=3.1=30", "--actual-cost", "215000", "--forecast-finish", "2027-11-05"]
    args += ["--forecast-cost", "255000", "--json"]

    result = pmo(args, prefect_api)

    assert result["exit"] == 0 and result["prefect"] == [], result
    printed = json.loads(result["output"])
    with session_scope() as session:
        row = session.query(StatusUpdateRecord).one()
        figures = session.query(EvmSnapshot).one()
        assert (row.accepted, row.channel) == (True, "cli")
        # what it printed is what the store computed when it recorded the update
        assert printed["spi"] == float(figures.spi) and printed["cpi"] == float(figures.cpi)
        assert printed["overall"] == figures.overall and printed["update"] == 1


def _paused_run(api_url: str, gate_id: int) -> str:
    """The run, once it is paused at the gate's pause key."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with session_scope() as session:
            gate = session.get(Gate, gate_id)
            run_id, key = gate.flow_run_id, gate.waiting_key
        if run_id and key:
            state = httpx.get(f"{api_url}/flow_runs/{run_id}").json()["state"]
            if state["type"] == "PAUSED" and state["state_details"]["pause_key"] == key:
                return run_id
        time.sleep(0.05)
    raise AssertionError("the run never paused at the gate")


def _gate_events(api_url: str, project_key: str) -> list[str]:
    """The `pmo.gate.*` events Prefect stored about the project (they arrive shortly)."""
    body = {
        "filter": {
            "event": {"prefix": ["pmo.gate."]},
            "related": {"resources_in_roles": [[f"pmo.project.{project_key}", "project"]]},
        },
        "limit": 50,
    }
    found: list[str] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        response = httpx.post(f"{api_url}/events/filter", json=body)
        found = [event["event"] for event in response.raise_for_status().json()["events"]]
        if len(found) >= 3:
            break
        time.sleep(0.2)
    return found
