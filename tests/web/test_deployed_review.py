"""A deployed lifecycle answered from the review pages alone: each approver opens the link
in the mail the SMTP server caught, decides, and the run moves on; a kill ends it. Once
over HTTP, once in real Chromium (when Debian's chromium is installed)."""

import contextvars
import json
import re
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from typer.testing import CliRunner

from pmo.cli import app
from pmo.runtime.serve import served_in_subprocess
from pmo.settings import get_settings
from pmo.store import session_scope
from pmo.store.models import GateDecision
from pmo.store.records import get_project
from pmo.web.serving import web_in_thread
from tests.deployed import wait_for_mails, wait_for_state
from tests.factories import brief_data, write_brief
from tests.runtime.test_ui import browser, find_chromium  # noqa: F401 (a fixture)
from tests.web.pages import REVIEW_LINE, body_of, free_port

pytestmark = pytest.mark.integration

SPONSOR, PMO = "dana.reyes@example.com", "pmo@example.com"


@pytest.fixture
def deployed_with_pages(prefect_api, smtp_server, store_url, tmp_path, monkeypatch):
    """The deployments served as `pmo up` serves them, mailing links to the pages served
    here (the runner is given PMO_WEB_URL through the environment)."""
    port = free_port()
    monkeypatch.setenv("PMO_WEB_URL", f"http://127.0.0.1:{port}")
    get_settings.cache_clear()
    with (
        served_in_subprocess(prefect_api, tmp_path / "serve.log"),
        web_in_thread(port=port),
    ):
        yield smtp_server


def review_link(smtp, gate: str, approver: str) -> str:
    links = [
        REVIEW_LINE.search(body_of(m)).group(1)
        for m in smtp.messages
        if m["X-PMO-Gate"] == gate and approver in str(m["To"]).lower()
    ]
    assert links, f"no review link mailed to {approver} for {gate}"
    return links[-1]


def start(tmp_path, key: str) -> str:
    brief = write_brief(tmp_path, brief_data(key=key))
    # In a thread of its own: Playwright's sync API keeps an event loop in this one, and
    # Prefect's sync calls would then hand back coroutines instead of running.
    with ThreadPoolExecutor(1) as pool:
        invoke = contextvars.copy_context().run  # with the test's Prefect settings
        started = pool.submit(invoke, CliRunner().invoke, app, ["start", str(brief), "--json"])
        started = started.result()
    assert started.exit_code == 0, started.output
    return json.loads(started.output)["run_id"]


def decide_over_http(url: str, decision: str, comment: str) -> str:
    with httpx.Client(timeout=90) as client:
        page = client.get(url).text
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
        answered = client.post(
            url, data={"csrf": csrf, "decision": decision, "comment": comment, "conditions": ""}
        )
        assert answered.status_code == 200, answered.text
        return answered.text


def run_the_project(tmp_path, smtp, key: str, decide) -> None:
    run_id = start(tmp_path, key)
    charter, plan = f"{key}/initiation/1/charter-approval/1", f"{key}/planning/1/plan-approval/1"
    wait_for_mails(smtp, 2, gate=charter)
    assert "Still waiting for: pmo@example.com" in decide(
        review_link(smtp, charter, SPONSOR), "go", "The charter holds."
    )
    assert "The gate is decided: go" in decide(review_link(smtp, charter, PMO), "go", "Agreed.")
    # the run was woken and went on to planning: its gate mails the next links
    wait_for_mails(smtp, 2, gate=plan, timeout=120)
    decide(review_link(smtp, plan, SPONSOR), "kill", "The business case no longer holds.")
    assert wait_for_state(run_id, "Completed", timeout=120) == "Completed"
    with session_scope() as session:
        project = get_project(session, key=key)
        assert project.status == "cancelled"
        channels = {row.channel for row in session.query(GateDecision).all()}
    assert channels == {"web"}
    assert project.close_reason.endswith(f"{SPONSOR}: The business case no longer holds.")


def test_a_project_is_answered_from_the_links_in_its_mail(deployed_with_pages, tmp_path):
    run_the_project(tmp_path, deployed_with_pages, "WEBRUN", decide_over_http)


def test_an_approver_decides_in_chromium(deployed_with_pages, browser, tmp_path):  # noqa: F811
    def decide_in_browser(url: str, decision: str, comment: str) -> str:
        page = browser.new_page()
        try:
            page.goto(url)
            page.fill("#comment", comment)
            page.click(f"button[value='{decision}']")
            page.wait_for_selector("#notice")
            return page.content()
        finally:
            page.close()

    run_the_project(tmp_path, deployed_with_pages, "WEBCHR", decide_in_browser)
