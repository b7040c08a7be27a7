"""The Prefect server restarts while lifecycle runs wait at their gates: answers given
afterwards are taken, and the runs go on."""

import json
from collections import Counter
from contextlib import ExitStack

import pytest
from prefect.settings import PREFECT_API_URL, temporary_settings
from typer.testing import CliRunner

from pmo.cli import app
from pmo.runtime.serve import served_in_subprocess
from pmo.runtime.server import free_port, local_prefect_server
from pmo.store import session_scope
from pmo.store.records import get_project
from tests.deployed import approve, wait_for_mails, wait_for_state
from tests.factories import brief_data, write_brief
from tests.gate_mail import code_mails, latest_code

pytestmark = pytest.mark.integration

SPONSOR, PMO = "dana.reyes@example.com", "pmo@example.com"
KEYS = ("VEGA", "LYRA")


def test_answers_given_after_a_server_restart_are_taken(smtp_server, tmp_path):
    home, port = tmp_path / "prefect", free_port()  # its SQLite database persists in home
    api = {PREFECT_API_URL: f"http://127.0.0.1:{port}/api"}
    with temporary_settings(updates=api), ExitStack() as first_server:
        api_url = first_server.enter_context(local_prefect_server(home, port, ui=False))
        # the runner (a worker, on another machine) lives through the server's restart
        with served_in_subprocess(api_url, tmp_path / "serve.log"):
            runs = {}
            for key in KEYS:
                brief = write_brief(tmp_path, brief_data(key=key), f"{key}.yaml")
                started = CliRunner().invoke(app, ["start", str(brief), "--json"])
                assert started.exit_code == 0, started.output
                runs[key] = json.loads(started.output)["run_id"]
            for run_id in runs.values():
                assert wait_for_state(run_id, "Suspended", timeout=120) == "Suspended"
            wait_for_mails(smtp_server, 4)
            first_server.close()  # runs wait at their gates, no process held

            with local_prefect_server(home, port, ui=False):
                for key, run_id in runs.items():
                    assert wait_for_state(run_id, "Suspended") == "Suspended"
                    gate = f"{key}/initiation/1/charter-approval/1"
                    for approver in (SPONSOR, PMO):
                        code = latest_code(smtp_server.messages, gate, approver)
                        result = approve(run_id, approver, "go", code)
                        assert result.exit_code == 0, result.output
                        assert "recorded" in result.output
                wait_for_mails(smtp_server, 8, timeout=120)
                for run_id in runs.values():
                    assert wait_for_state(run_id, "Suspended", timeout=120) == "Suspended"

    with session_scope() as session:
        for key in KEYS:
            assert get_project(session, key=key).current_stage == "planning"
    sent = Counter((mail.gate, mail.approver) for mail in code_mails(smtp_server.messages))
    assert set(sent.values()) == {1}
    assert {gate.split("/")[1] for gate, _ in sent} == {"initiation", "planning"}
    assert len(sent) == 8
