"""Prefect's API behind basic authentication: a server that requires it, clients without
the credentials refused, and `pmo` saying so in one line (exit 1) before it changes anything.

The whole lifecycle with credentials (served runner, the runs it starts, `pmo start`,
the approver bot, `pmo audit`) runs in tests/runtime/test_secrecy.py.
"""

import base64

import httpx
import pytest
from typer.testing import CliRunner

from pmo.cli import app
from pmo.store import session_scope
from pmo.store.models import Project
from tests.factories import brief_data, write_brief

pytestmark = pytest.mark.integration


def basic(credentials: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(credentials.encode()).decode()}


def test_the_server_refuses_every_request_without_the_credentials(authenticated_prefect_server):
    api, credentials = (
        authenticated_prefect_server.api_url,
        authenticated_prefect_server.auth_string,
    )
    assert httpx.get(f"{api}/health").status_code == 200  # probes stay open
    for route in ("/admin/version", "/flow_runs/filter", "/deployments/filter"):
        method = httpx.get if route == "/admin/version" else httpx.post
        assert method(f"{api}{route}").status_code == 401
        assert method(f"{api}{route}", headers=basic("pmo-tests:guess")).status_code == 401
        assert method(f"{api}{route}", headers=basic(credentials)).status_code == 200


def test_prefects_own_client_without_the_credentials_is_refused(authenticated_prefect_server):
    from prefect import get_client
    from prefect.settings import PREFECT_API_AUTH_STRING, PREFECT_API_URL, temporary_settings

    server = authenticated_prefect_server
    with (
        temporary_settings(
            updates={PREFECT_API_URL: server.api_url}, restore_defaults={PREFECT_API_AUTH_STRING}
        ),
        get_client(sync_client=True) as client,
        pytest.raises(httpx.HTTPStatusError) as refused,
    ):
        client.read_flow_runs(limit=1)
    assert refused.value.response.status_code == 401
    with (
        temporary_settings(
            updates={PREFECT_API_URL: server.api_url, PREFECT_API_AUTH_STRING: server.auth_string}
        ),
        get_client(sync_client=True) as client,
    ):
        assert client.read_flow_runs(limit=1) is not None


@pytest.mark.parametrize("given", [None, "pmo-tests:not-the-password"])
def test_pmo_without_the_credentials_says_so_in_one_line_and_records_nothing(
    authenticated_prefect_server, store_url, tmp_path, given
):
    from prefect.settings import PREFECT_API_AUTH_STRING, PREFECT_API_URL, temporary_settings

    api = authenticated_prefect_server.api_url
    brief = write_brief(tmp_path, brief_data(key="LOCKED"))
    updates = {PREFECT_API_URL: api} | ({PREFECT_API_AUTH_STRING: given} if given else {})
    restore = set() if given else {PREFECT_API_AUTH_STRING}
    with temporary_settings(updates=updates, restore_defaults=restore):
        results = [CliRunner().invoke(app, args) for args in (["start", str(brief)], ["audit"])]
    expected = (
        f"error: the Prefect API at {api} refused the credentials in PREFECT_API_AUTH_STRING; "
        "give them as the server's PREFECT_SERVER_API_AUTH_STRING"
        if given
        else f"error: the Prefect API at {api} requires authentication; set "
        "PREFECT_API_AUTH_STRING to the user:password its server was given"
    )
    for result in results:
        assert (result.exit_code, result.output.strip()) == (1, expected)
    with session_scope() as session:
        assert session.query(Project).count() == 0


@pytest.mark.parametrize(
    ("credentials", "problem"),
    [(None, "needs it set to user:password"), ("admin:short", "at least 12 characters")],
)
def test_pmo_up_with_auth_needs_credentials_worth_the_name(credentials, problem):
    from prefect.settings import PREFECT_API_AUTH_STRING, temporary_settings

    updates = {PREFECT_API_AUTH_STRING: credentials} if credentials else {}
    restore = set() if credentials else {PREFECT_API_AUTH_STRING}
    with temporary_settings(updates=updates, restore_defaults=restore):
        result = CliRunner().invoke(app, ["up", "--auth"])
    assert result.exit_code == 2
    assert result.output.startswith("error: PREFECT_API_AUTH_STRING: a Prefect server that ")
    assert problem in result.output and len(result.output.splitlines()) == 1
    if credentials:
        assert credentials.split(":")[1] not in result.output


@pytest.fixture(scope="module")
def browser():
    from tests.runtime.test_ui import find_chromium

    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    if (executable := find_chromium()) is None:
        pytest.skip("no chromium found (apt-get install chromium); the UI test needs it")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True)
        yield browser
        browser.close()


def test_the_ui_asks_for_the_credentials_and_takes_only_the_right_ones(browser, tmp_path):
    from pmo.runtime.server import local_prefect_server

    credentials = "pmo-ui:a-long-enough-password"
    with local_prefect_server(tmp_path / "prefect", ui=True, auth_string=credentials) as api:
        page = browser.new_page()
        page.set_default_timeout(30_000)
        try:
            page.goto(api.removesuffix("/api") + "/")
            page.wait_for_url("**/login**")
            page.get_by_placeholder("admin:pass").fill("pmo-ui:a-guess-at-the-password")
            page.get_by_role("button", name="Login").click()
            page.get_by_text("Invalid credentials").wait_for()
            assert "/login" in page.url
            page.get_by_placeholder("admin:pass").fill(credentials)
            page.get_by_role("button", name="Login").click()
            page.wait_for_url(lambda url: "/login" not in url)
            page.get_by_role("link", name="Deployments").wait_for()
        finally:
            page.close()
