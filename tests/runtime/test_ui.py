"""The real Prefect UI in headless Chromium: a project manager starts a lifecycle from the
deployment's Run form, the sponsor follows the link in their email and answers the gate in the
run's Resume form, the PMO answers in the V2 UI (where Prefect 3.9 sends a browser that opens
the server's root), each with the code from their email, and the run moves on to the next gate."""

import contextvars
import json
import re
import shutil
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from email.message import EmailMessage
from pathlib import Path
from uuid import UUID

import httpx
import pytest
from prefect import get_client
from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId
from typer.testing import CliRunner

from flows.deployments import LIFECYCLE_DEPLOYMENT
from pmo.brief import EXAMPLE_BRIEF
from pmo.cli import app
from pmo.runtime.serve import served_in_subprocess
from pmo.runtime.server import local_prefect_server
from pmo.store import session_scope
from pmo.store.models import GateDecision
from tests.factories import brief_data
from tests.gate_mail import code_mails, latest_code

pytestmark = pytest.mark.integration

SPONSOR, PMO = "dana.reyes@example.com", "pmo@example.com"
KEY = "ARTEMIS"
CHARTER_GATE = f"{KEY}/initiation/1/charter-approval/1"
PLAN_GATE = f"{KEY}/planning/1/plan-approval/1"


def find_chromium() -> str | None:
    """Debian's chromium (what .ci/run installs); Playwright's own browsers are not used."""
    return next(
        (p for p in ("/usr/bin/chromium", shutil.which("chromium")) if p and Path(p).exists()), None
    )


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    executable = find_chromium()
    if executable is None:
        pytest.skip("no chromium found (apt-get install chromium); the UI test needs it")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def ui_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Prefect server of its own with the UI on (the session's server runs without it)."""
    with local_prefect_server(tmp_path_factory.mktemp("prefect-ui"), ui=True) as api_url:
        yield api_url


@pytest.fixture
def ui(ui_server: str, browser, smtp_server, store_url, tmp_path: Path):
    """A fresh browser page and the UI's address; the deployments are served against its
    server with this test's store and SMTP server."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with (
        temporary_settings(updates={PREFECT_API_URL: ui_server}),
        served_in_subprocess(ui_server, tmp_path / "serve.log"),
    ):
        context = browser.new_context(
            viewport={"width": 1400, "height": 1400}, timezone_id="America/Los_Angeles"
        )
        page = context.new_page()
        page.set_default_timeout(20_000)
        try:
            yield page, ui_server.removesuffix("/api")
        finally:
            context.close()


@contextmanager
def screenshot_on_failure(page, path: Path) -> Iterator[None]:
    """On failure: a screenshot of the page, and the calls of the UI that failed."""
    failed = []
    page.on(
        "response", lambda response: failed.append(response) if response.status >= 400 else None
    )
    page.on("requestfailed", lambda request: failed.append(request))
    try:
        yield
    except BaseException:
        page.screenshot(path=str(path), full_page=True)
        print(f"screenshot of the page at failure: {path}")
        for item in failed:
            if hasattr(item, "status"):
                try:
                    body = item.body()[:500]
                except Exception as gone:  # the page navigated away: the body is gone
                    body = f"(body not available: {gone})".encode()
                print(f"  {item.status} {item.request.method} {item.url}: {body!r}")
            else:
                print(f"  failed {item.method} {item.url}: {item.failure}")
        raise


def submit(page, button, api_call: str, attempts: int = 3) -> None:
    """Press `button` and check the API call it makes. Under load the server's SQLite can be
    busy and the call gets a 503 (Prefect's Python client retries those, its UI does not): the
    UI shows an error and keeps the form, so press again, as a person would."""
    for _ in range(attempts):
        with page.expect_response(
            lambda r: r.request.method == "POST" and api_call in r.url
        ) as response:
            button.click()
        if response.value.status != 503:
            assert response.value.ok, f"{response.value.status}: {response.value.text()}"
            return
    raise AssertionError(f"the server answered {api_call} with 503 {attempts} times")


def form_field(scope, label: str):
    """The first field of a Prefect schema form inside `scope`, in page order, labelled
    `label` (or `label (Optional)`); its label has no `for` that points at its input."""
    has_class = "contains(concat(' ', normalize-space(@class), ' '), ' {} ')"
    label_span = f"span[{has_class.format('schema-form-property__label')}]"
    return scope.locator(
        f"xpath=.//div[{has_class.format('schema-form-property')}]"
        f"[./div[{has_class.format('p-label__header')}]//{label_span}"
        f"[normalize-space()='{label}' or normalize-space()='{label} (Optional)']]"
    ).first


def start_from_run_form(page, base_url: str, brief: dict) -> str:
    """Deployment -> Run -> Custom run, the brief typed into the form, Submit; returns the
    run id. Lists beyond the first objective are left out; the approvers mapping is a JSON
    box in the form."""
    with get_client(sync_client=True) as client:
        deployment = client.read_deployment_by_name(LIFECYCLE_DEPLOYMENT)
    page.goto(f"{base_url}/deployments/deployment/{deployment.id}")
    page.get_by_role("button", name="Run", exact=True).click()
    page.get_by_text("Custom run", exact=True).click()
    form = form_field(page, "brief")
    for label, key in (("Key", "key"), ("Name", "name"), ("Purpose", "purpose")):
        form_field(form, label).locator("textarea").fill(brief[key])
    objectives = form_field(form, "Objectives")
    objectives.get_by_role("button", name="Add item").click()
    objectives.locator("textarea").fill(brief["objectives"][0])
    for label, key in (("Sponsor", "sponsor"), ("Project Manager", "project_manager")):
        person = form_field(form, label)
        form_field(person, "Name").locator("textarea").fill(brief[key]["name"])
        form_field(person, "Email").locator("textarea").fill(brief[key]["email"])
    form_field(form, "Budget").locator("input").fill(str(brief["budget"]))
    for label, key in (("Start Date", "start_date"), ("Target End Date", "target_end_date")):
        form_field(form, label).get_by_text("Select date").click()
        page.locator("input[type=date]").fill(brief[key].isoformat())
        page.get_by_role("button", name="Apply", exact=True).click()
    form_field(form, "Approvers").locator("textarea").fill(json.dumps(brief["approvers"]))
    submit(page, page.get_by_role("button", name="Submit", exact=True), "/create_flow_run")
    # the form goes back to the deployment once the server has created the run
    page.wait_for_url(re.compile(rf"/deployments/deployment/{deployment.id}\?"))
    runs = wait_for(lambda: runs_of(deployment.id), "the run the form started", timeout=10)
    assert len(runs) == 1, f"the form started {len(runs)} runs"
    return str(runs[0].id)


def runs_of(deployment_id: UUID) -> list:
    with get_client(sync_client=True) as client:
        return client.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id]))
        )


def mailed_run_link(messages: list[EmailMessage], gate: str, approver: str) -> str:
    """The link to the run in the approval request `approver` was mailed for `gate`."""
    for message in reversed(messages):
        if message["X-PMO-Gate"] == gate and str(message["To"]).lower() == approver:
            body = message.get_body(("plain",)).get_content()
            return re.search(r"http://\S+/runs/flow-run/[0-9a-f-]{36}", body).group(0)
    raise AssertionError(f"no approval request mailed to {approver} for {gate}")


def answer_in_resume_form(page, run_url: str, **answer: str) -> dict[str, list]:
    """The UI the mailed link opens (V1): press Resume, fill the gate's form as an approver
    would, Submit; returns the choices each dropdown offered."""
    run_id = run_url.rsplit("/", 1)[-1]
    page.goto(run_url)
    page.get_by_role("button", name="Resume", exact=True).click()
    dialog = page.get_by_role("dialog")
    # the gate pack is the form's description
    dialog.get_by_role("heading", name="Gate review: Charter approval").wait_for()

    choices = {}
    for label in ("approver", "decision"):
        # the dropdowns open with a click on the field and ArrowDown (DESIGN.md)
        form_field(dialog, label.capitalize()).locator("fieldset button").click()
        page.keyboard.press("ArrowDown")
        option = page.get_by_role("option", name=answer[label], exact=True)
        option.wait_for()
        choices[label] = page.get_by_role("option").all_inner_texts()
        option.click()
    form_field(dialog, "Code").locator("textarea").fill(answer["code"])
    form_field(dialog, "Comment").locator("textarea").fill(answer["comment"])
    submit(page, dialog.get_by_role("button", name="Submit", exact=True), f"{run_id}/resume")
    page.get_by_text("Flow run resumed").first.wait_for()  # the toast shows twice
    return choices


def answer_in_v2_resume_form(page, base_url: str, run_id: str, **answer: str) -> dict[str, list]:
    """The same in the V2 UI, where Prefect 3.9 sends a browser that opens the server's root:
    the run's menu -> Resume, the gate's form, Resume."""
    page.goto(f"{base_url}/v2/runs/flow-run/{run_id}")
    page.get_by_role("button", name="Open menu", exact=True).click()
    page.get_by_role("menuitem", name="Resume", exact=True).click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("heading", name="Gate review: Charter approval").wait_for()
    choices = {}
    for label in ("approver", "decision"):
        dialog.get_by_role("button", name=f"Select {label.capitalize()}", exact=True).click()
        option = page.get_by_role("option", name=answer[label], exact=True)
        option.wait_for()
        choices[label] = page.get_by_role("option").all_inner_texts()
        option.click()
    dialog.get_by_label("Code", exact=True).fill(answer["code"])
    dialog.get_by_label("Comment (Optional)", exact=True).fill(answer["comment"])
    submit(page, dialog.get_by_role("button", name="Resume", exact=True), f"{run_id}/resume")
    page.get_by_text("Flow run resumed").first.wait_for()
    return choices


def wait_for(condition, what: str, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(0.3)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def state_of(run_id: str) -> str:
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(UUID(run_id))
    if run.state and run.state.is_final():
        raise AssertionError(f"run ended {run.state_name}: {run.state.message}")
    return run.state_name


def decisions() -> list[tuple[str, str, str, str, bool]]:
    with session_scope() as session:
        rows = session.query(GateDecision).order_by(GateDecision.id).all()
        return [(r.channel, r.approver_email, r.decision, r.comment, r.accepted) for r in rows]


def test_the_ui_of_a_local_server_on_any_port_talks_to_that_server(ui_server):
    base_url = ui_server.removesuffix("/api")
    assert httpx.get(f"{base_url}/ui-settings").json()["api_url"] == ui_server


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)  # the UI path, not the store
def test_a_lifecycle_started_and_answered_in_the_prefect_ui_moves_to_the_next_gate(
    ui, smtp_server, tmp_path
):
    page, base_url = ui
    with screenshot_on_failure(page, tmp_path / "failure.png"):
        brief = brief_data(key=KEY)
        run_id = start_from_run_form(page, base_url, brief)
        with get_client(sync_client=True) as client:
            started = client.read_flow_run(UUID(run_id)).parameters["brief"]
        # dates picked in a browser west of UTC arrive as the same calendar days
        assert (started["start_date"], started["target_end_date"]) == (
            brief["start_date"].isoformat(),
            brief["target_end_date"].isoformat(),
        )
        wait_for(lambda: state_of(run_id) == "Suspended", "the run to suspend at the charter gate")
        wait_for(lambda: len(code_mails(smtp_server.messages)) >= 2, "the charter gate's mails")

        comments = {SPONSOR: "Charter reviewed; the business case holds.", PMO: "Charter complete."}
        for number, approver in enumerate((SPONSOR, PMO), start=1):
            answer = dict(
                approver=approver,
                decision="go",
                code=latest_code(smtp_server.messages, CHARTER_GATE, approver),
                comment=comments[approver],
            )
            if approver == SPONSOR:  # follows the link in the mail
                run_url = mailed_run_link(smtp_server.messages, CHARTER_GATE, approver)
                assert run_url == f"{base_url}/runs/flow-run/{run_id}"
                choices = answer_in_resume_form(page, run_url, **answer)
            else:  # opens the UI from its root
                choices = answer_in_v2_resume_form(page, base_url, run_id, **answer)
            assert [c.strip() for c in choices["approver"]] == sorted([SPONSOR, PMO])
            assert "go" in [c.strip() for c in choices["decision"]]
            wait_for(lambda n=number: len(decisions()) >= n, f"{approver}'s answer on the record")
            wait_for(lambda: state_of(run_id) == "Suspended", "the run to wait again")

        assert decisions() == [
            ("prefect", SPONSOR, "go", comments[SPONSOR], True),
            ("prefect", PMO, "go", comments[PMO], True),
        ]
        # planning waits for the project manager's plan (the form's brief carries none)
        wait_for(lambda: state_of(run_id) == "Suspended", "the run to wait for the plan")
        plan = Path(EXAMPLE_BRIEF).with_name("apollo-plan.yaml")
        # In a thread of its own: Playwright's sync API keeps an event loop in this one.
        with ThreadPoolExecutor(1) as pool:
            invoke = contextvars.copy_context().run  # with the test's Prefect settings
            given = pool.submit(invoke, CliRunner().invoke, app, ["plan", run_id, str(plan)])
            assert given.result().exit_code == 0, given.result().output
        wait_for(
            lambda: (
                {m.approver for m in code_mails(smtp_server.messages) if m.gate == PLAN_GATE}
                == {SPONSOR, PMO}
            ),
            "the plan-approval mails",
        )
        # the mails go out just before the run suspends at the plan gate
        wait_for(lambda: state_of(run_id) == "Suspended", "the run to wait at the plan gate")
        # two resumes, each a re-run from the top: still one charter mail per approver
        charter_mails = [
            m.approver for m in code_mails(smtp_server.messages) if m.gate == CHARTER_GATE
        ]
        assert sorted(charter_mails) == sorted([SPONSOR, PMO])
