"""The README's example automation, loaded with Prefect's own CLI into a real server: a
`pmo.gate.escalated` event makes the server send the notification."""

import json
import os
import re
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from prefect.blocks.notifications import CustomWebhookNotificationBlock

from pmo.gates.events import emit_gate_event
from pmo.gates.rules import GateSite
from tests.smtp_server import free_port

pytestmark = pytest.mark.integration

README = Path(__file__).parents[2] / "README.md"


def readme_automation() -> str:
    """The automation YAML the README shows."""
    found = re.search(r"```yaml\n(# gate-escalated\.yaml.*?)```", README.read_text(), re.DOTALL)
    assert found, "the README shows no gate-escalated automation"
    return found.group(1)


class _Hook(BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        length = int(self.headers["Content-Length"])
        self.received.append(json.loads(self.rfile.read(length)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def test_the_readme_automation_notifies_when_a_gate_is_escalated(prefect_api, tmp_path):
    port = free_port()
    hook = HTTPServer(("127.0.0.1", port), _Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    try:
        # a webhook block stands in for the README's Slack block: same action, local receiver
        block = CustomWebhookNotificationBlock(
            name="pmo-slack",
            url=f"http://127.0.0.1:{port}/hook",
            json_data={"text": "{{subject}}\n{{body}}"},
        )
        block_id = block.save(f"pmo-slack-{port}", overwrite=True)
        definition = tmp_path / "gate-escalated.yaml"
        definition.write_text(
            readme_automation().replace("<id of the pmo-slack block>", str(block_id))
        )
        created = subprocess.run(
            [
                sys.executable,
                "-m",
                "prefect",
                "automation",
                "create",
                "--from-file",
                str(definition),
            ],
            env={**os.environ, "PREFECT_API_URL": prefect_api},
            capture_output=True,
            text=True,
        )
        assert created.returncode == 0, created.stdout + created.stderr

        site = GateSite(
            1, "ORION", "Orion data platform", "planning", 1, "plan-approval", "Plan approval"
        )
        emit_gate_event(
            "escalated",
            site,
            once_key=f"test/{port}",
            payload={"round": 1, "waiting_for": "dana.reyes@example.com"},
        )
        deadline = time.monotonic() + 60
        while not _Hook.received and time.monotonic() < deadline:
            time.sleep(0.5)
        assert _Hook.received, "the automation sent nothing"
        text = _Hook.received[-1]["text"]
        assert "Gate overdue: Plan approval" in text
        assert "ORION: Plan approval is past its SLA; waiting for dana.reyes@example.com." in text
    finally:
        hook.shutdown()
