"""Serving the pages: the access log's token redaction, and `pmo web` refusing in one line
when the Prefect API it must wake runs through is not there."""

import logging
import socket

import pytest
from typer.testing import CliRunner

from pmo.cli import app
from pmo.web.serving import TokenRedactor, redact

pytestmark = pytest.mark.unit

TOKEN = "Qm9vX2FzZGZhc2RmYXNkZmFzZGZhc2RmYXNkZmFzZGY"


def test_tokens_are_taken_out_of_request_lines():
    assert redact(f"/review/{TOKEN}") == "/review/…"
    assert redact(f"/inbox/{TOKEN}/gates/7/documents/3.md") == "/inbox/…/gates/7/documents/3.md"
    assert redact(f'"POST /review/{TOKEN}?x=1 HTTP/1.1" 200') == '"POST /review/…?x=1 HTTP/1.1" 200'
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", f"/review/{TOKEN}", "1.1", 200),
        None,
    )
    assert TokenRedactor().filter(record)
    assert TOKEN not in record.getMessage() and "/review/…" in record.getMessage()


def test_pmo_web_without_a_prefect_api_is_one_line(monkeypatch):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("PREFECT_API_URL", f"http://127.0.0.1:{port}/api")
    result = CliRunner().invoke(app, ["web", "--port", str(port)])
    assert result.exit_code == 1, result.output
    assert result.output.count("\n") == 1 and "cannot reach the Prefect API" in result.output
