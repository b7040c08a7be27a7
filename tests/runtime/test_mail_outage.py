"""SMTP down while a deployed lifecycle opens a gate: the approval requests wait in the
outbox queue; once the server is back the gate-sla deployment sends each once, `pmo mail
flush` finds nothing more to send, and the codes they carry decide the gate."""

import json
from collections import Counter

import pytest
from prefect.deployments import run_deployment
from typer.testing import CliRunner

from pmo.cli import app
from pmo.runtime.serve import served_in_subprocess
from pmo.settings import get_settings
from pmo.store import session_scope
from pmo.store.models import Notification
from tests.deployed import approve, wait_for_mails, wait_for_state
from tests.factories import brief_data, write_brief
from tests.gate_mail import code_mails, latest_code
from tests.smtp_server import free_port, running_smtp_server

pytestmark = pytest.mark.integration

SPONSOR, PMO = "dana.reyes@example.com", "pmo@example.com"
CHARTER_GATE = "LUNA/initiation/1/charter-approval/1"
PLAN_GATE = "LUNA/planning/1/plan-approval/1"


def _notifications() -> Counter:
    with session_scope() as session:
        return Counter(note.status for note in session.query(Notification))


def test_gate_mail_waits_while_smtp_is_down_and_goes_once_when_it_is_back(
    prefect_api, tmp_path, monkeypatch
):
    port = free_port()  # nothing listens here yet: the SMTP server is down
    monkeypatch.setenv("PMO_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("PMO_SMTP_PORT", str(port))
    get_settings.cache_clear()
    brief = write_brief(tmp_path, brief_data(key="LUNA"))
    with served_in_subprocess(prefect_api, tmp_path / "serve.log"):
        started = CliRunner().invoke(app, ["start", str(brief), "--json"])
        assert started.exit_code == 0, started.output
        run_id = json.loads(started.output)["run_id"]
        assert wait_for_state(run_id, "Suspended", timeout=120) == "Suspended"
        assert _notifications() == {"queued": 2}
        assert len(list(get_settings().mail_queue_dir.glob("*.eml"))) == 2
        still_down = CliRunner().invoke(app, ["mail", "flush"])
        assert still_down.exit_code == 1
        assert "0 queued message(s) sent, 2 still waiting" in still_down.output

        with running_smtp_server(port=port) as smtp:
            sla = run_deployment("gate-sla/gate-sla", timeout=120)
            assert sla.state_name == "Completed", sla.state
            assert len(code_mails(smtp.messages)) == 2
            flushed = CliRunner().invoke(app, ["mail", "flush"])
            assert flushed.exit_code == 0, flushed.output
            assert "0 queued message(s) sent." in flushed.output
            assert _notifications() == {"sent": 2}
            assert list(get_settings().mail_queue_dir.glob("*.eml")) == []

            for approver in (SPONSOR, PMO):
                code = latest_code(smtp.messages, CHARTER_GATE, approver)
                result = approve(run_id, approver, "go", code)
                assert result.exit_code == 0, result.output
            wait_for_mails(smtp, 4, timeout=120)
            assert wait_for_state(run_id, "Suspended", timeout=120) == "Suspended"

    sent = Counter((mail.gate, mail.approver) for mail in code_mails(smtp.messages))
    assert sent == {
        (CHARTER_GATE, SPONSOR): 1,
        (CHARTER_GATE, PMO): 1,
        (PLAN_GATE, SPONSOR): 1,
        (PLAN_GATE, PMO): 1,
    }
    assert _notifications() == {"sent": 4}
