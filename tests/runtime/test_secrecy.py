"""No secret where it does not belong: the demo's project, served as `pmo up` serves it,
on a Prefect server that requires authentication, its mail sent through an SMTP server
that requires a login, its store on SQLite and on PostgreSQL (with a password in the URL).

Every approval code that went out, the SMTP password, the Prefect credentials and the
database password are then looked for everywhere the run leaves a trace: the output of
every command, every table of Prefect's database (logs, artifacts, events, run inputs,
runs, states), every table of the store, every file under the PMO home (documents, the
audit report, the outbox, the SQLite store) and the logs of the runner and the server.
The approvers' pages are served too, and every personal link mailed is opened: the links'
tokens are looked for in the same places and in the pages' access log. A code or a token
may appear only in the mail sent to its approver.
"""

import base64
import logging
import re
import sqlite3
import zipfile
from pathlib import Path
from uuid import UUID

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from pmo.brief import load_brief
from pmo.cli import app
from pmo.methodology.project import prepare_lifecycle
from pmo.runtime.approver_bot import ApproverBot
from pmo.runtime.demo_projects import ProjectManager, SponsorRecyclesOnce, replan
from pmo.runtime.serve import served_in_subprocess
from pmo.settings import get_settings
from pmo.store import session_scope
from pmo.store.models import Base
from pmo.web.serving import web_in_thread
from process_library.loader import load_lifecycle
from tests.deployed import wait_for_state
from tests.factories import brief_data, write_brief
from tests.gate_mail import code_mails
from tests.smtp_server import running_smtp_server
from tests.web.pages import free_port

pytestmark = pytest.mark.integration

SMTP_USER, SMTP_PASSWORD = "pmo-mailer", "smtp-Pa55word-9f3Kq"
# The personal links in a gate mail: the review page's and the inbox's.
LINK = re.compile(r"(https?://\S+?/(?:review|inbox)/([A-Za-z0-9_-]{40,}))")
DB_PASSWORD = "db-Pa55word-Xc81Z"


@pytest.fixture
def secured(authenticated_api, store_url, monkeypatch, tmp_path):
    """Prefect behind authentication, SMTP behind a login, the store's URL with a password
    (PostgreSQL here trusts loopback, so any password connects), the deployments served."""
    if store_url.startswith("postgresql"):
        url = make_url(store_url).set(password=DB_PASSWORD).render_as_string(hide_password=False)
        monkeypatch.setenv("PMO_DATABASE_URL", url)
    web_port = free_port()
    access_log = logging.FileHandler(tmp_path / "web.log")
    access_log.setFormatter(logging.Formatter("%(name)s %(message)s"))
    loggers = [logging.getLogger(n) for n in ("uvicorn.access", "uvicorn.error")]
    with running_smtp_server(login=(SMTP_USER, SMTP_PASSWORD)) as smtp:
        for name, value in {
            "PMO_SMTP_HOST": smtp.host,
            "PMO_SMTP_PORT": str(smtp.port),
            "PMO_SMTP_USERNAME": SMTP_USER,
            "PMO_SMTP_PASSWORD": SMTP_PASSWORD,
            "PMO_WEB_URL": f"http://127.0.0.1:{web_port}",
        }.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        with (
            served_in_subprocess(authenticated_api.api_url, tmp_path / "serve.log"),
            web_in_thread(port=web_port),
        ):
            for logger in loggers:
                logger.addHandler(access_log)
            try:
                yield smtp
            finally:
                for logger in loggers:
                    logger.removeHandler(access_log)
                access_log.close()
    get_settings.cache_clear()


def test_codes_and_passwords_appear_nowhere_but_where_they_belong(
    secured, authenticated_api, store_url, pmo_home, tmp_path
):
    smtp, server = secured, authenticated_api
    key = "VAULT" + ("PG" if store_url.startswith("postgresql") else "SQ")
    brief_path = write_brief(tmp_path, brief_data(key=key))
    brief = load_brief(brief_path)
    outputs = []

    started = CliRunner().invoke(app, ["start", str(brief_path), "--json"])
    assert started.exit_code == 0, started.output
    outputs.append(("pmo start", started.output))
    run_id = UUID(started.output.split('"run_id": "')[1].split('"')[0])

    # the demo's people: the sponsor recycles the plan once, the project manager re-plans
    # and reports twice
    tailored = prepare_lifecycle(brief, load_lifecycle("pmbok-waterfall")).loaded.lifecycle
    recyclable = [s.gate.key for s in tailored.stages if "recycle" in s.gate.decisions]
    bot = ApproverBot(
        run_id=lambda: str(run_id),
        decide=SponsorRecyclesOnce(recyclable[1]),
        report=ProjectManager(brief, tuple(s.key for s in tailored.stages if s.reporting)),
        plan=replan(brief),  # the plan sent back comes again from the project manager
        mailbox=lambda: list(smtp.messages),
    ).start()
    try:
        assert wait_for_state(str(run_id), "Completed", timeout=900) == "Completed"
    finally:
        bot.stop()
    # 2 at the charter, the sponsor's recycle, 2 at the plan again, 1 at acceptance, 2 at closure
    assert len(bot.answered) >= 8 and len(bot.reported) == 2

    audit_dir = tmp_path / "audit"
    audited = CliRunner().invoke(app, ["audit", "--project", key, "--out", str(audit_dir)])
    assert audited.exit_code == 0, audited.output
    outputs.append(("pmo audit", audited.output))
    api = _api(server)
    _wait_until_stored(api, key)

    # what went out, and so what must be found nowhere else
    mailed = code_mails(smtp.messages)
    assert len(mailed) >= 9
    assert set(smtp.passwords) == {SMTP_PASSWORD}  # the password did go out, to SMTP only
    user, _, password = server.auth_string.partition(":")
    secrets = {
        "the SMTP password": SMTP_PASSWORD,
        "the Prefect credentials": server.auth_string,
        "the Prefect password": password,
        "the Prefect Authorization header": base64.b64encode(server.auth_string.encode()).decode(),
        "the database password": DB_PASSWORD,
    }
    for mail in mailed:
        secrets[f"{mail.approver}'s code for {mail.gate}"] = mail.code
        secrets[f"{mail.approver}'s code for {mail.gate}, undashed"] = mail.code.replace("-", "")
    # every personal link mailed is opened, as an approver (or their mail scanner) would
    tokens = {}
    with httpx.Client(timeout=60) as pages:
        for message in smtp.messages:
            for found in LINK.finditer(message.get_body(("plain",)).get_content()):
                tokens[found.group(2)] = str(message["To"]).lower()
                assert pages.get(found.group(1)).status_code == 200, found.group(1)
    assert len(tokens) >= 2 * len(mailed)
    for token, approver in tokens.items():
        secrets[f"{approver}'s link token {token[:6]}..."] = token

    places = outputs + _prefect_tables(server.database) + _store_tables()
    places += _files(pmo_home) + _files(audit_dir)
    places += _files(tmp_path, "serve.log") + _files(server.database.parent, "server.log")
    places += _files(tmp_path, "web.log")
    assert "GET /review/…" in places[-1][1]  # the pages' access log was written
    leaks = [
        f"{name} in {where}"
        for where, text in places
        for name, value in secrets.items()
        if value in text
    ]
    assert leaks == []

    # a code or a link travels only in the mail to its approver
    for message in smtp.messages:
        text = message.as_string()
        for mail in mailed:
            if mail.code in text:
                assert mail.approver in str(message["To"]).lower(), (mail, message["To"])
        for token, approver in tokens.items():
            if token in text:
                assert approver == str(message["To"]).lower(), (approver, message["To"])

    # Prefect kept each answer and update as run input until the run recorded it, then
    # forgot it: of the forms it drew, only their schemas and descriptions are left
    inputs = api.post(
        f"/flow_runs/{run_id}/input/filter", json={"prefix": "", "limit": 200, "exclude_keys": []}
    ).json()
    assert inputs and [i["key"] for i in inputs if i["key"].endswith("-response")] == []


def _api(server) -> httpx.Client:
    user, _, password = server.auth_string.partition(":")
    return httpx.Client(base_url=server.api_url, auth=(user, password), timeout=30)


def _wait_until_stored(api: httpx.Client, key: str, timeout: float = 60) -> None:
    """Prefect stores events and logs a few seconds after they are sent: wait for the
    closure gate's decision and for the logs to stop growing."""
    import time

    deadline = time.monotonic() + timeout
    counts = []
    while time.monotonic() < deadline:
        decided = api.post(
            "/events/filter",
            json={
                "filter": {
                    "event": {"name": ["pmo.gate.decided"]},
                    "any_resource": {"id": [f"pmo.gate.{key}.closure.1"]},
                },
                "limit": 1,
            },
        ).json()["events"]
        counts.append(api.post("/logs/filter", json={"limit": 200}).json().__len__())
        if decided and len(counts) > 3 and counts[-1] == counts[-4]:
            return
        time.sleep(1)
    raise AssertionError(f"Prefect did not store the closure decision of {key} in {timeout} s")


def _prefect_tables(database: Path) -> list[tuple[str, str]]:
    """Every table of the Prefect server's database, as text."""
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        names = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        tables = [
            (f"Prefect's table {name}", "\n".join(map(repr, db.execute(f'SELECT * FROM "{name}"'))))
            for name in names
        ]
    filled = {where.rsplit(" ", 1)[1] for where, text in tables if text}
    assert {"log", "artifact", "events", "event_resources", "flow_run_input"} <= filled
    return tables


def _store_tables() -> list[tuple[str, str]]:
    """Every table of the store, every column, as text."""
    with session_scope() as session:
        tables = [
            (
                f"the store's table {table.name}",
                "\n".join(map(repr, session.execute(select(table)))),
            )
            for table in Base.metadata.sorted_tables
        ]
    filled = {where.rsplit(" ", 1)[1] for where, text in tables if text}
    assert {"gate_decisions", "notifications", "documents", "audit_ledger"} <= filled
    return tables


def _files(folder: Path, pattern: str = "**/*") -> list[tuple[str, str]]:
    """Every file under `folder` as text; a Word file's parts unzipped."""
    found = []
    for path in sorted(p for p in folder.glob(pattern) if p.is_file()):
        if path.suffix == ".docx":
            with zipfile.ZipFile(path) as parts:
                text = "\n".join(parts.read(n).decode("utf-8", "replace") for n in parts.namelist())
        else:
            text = path.read_bytes().decode("utf-8", "replace")
        found.append((str(path), text))
    assert found, f"no file in {folder} matches {pattern}"
    return found
