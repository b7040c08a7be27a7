"""Fixtures: an isolated PMO home for every test, the store on SQLite and PostgreSQL,
a real Prefect server, a real SMTP server."""

import os
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import prefect.main  # noqa: F401 (see below)
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from pmo.runtime.server import local_prefect_server
from pmo.settings import get_settings
from pmo.store.engine import engine_for
from pmo.store.models import Base
from tests.smtp_server import running_smtp_server

POSTGRES_URL = os.environ.get("PMO_TEST_POSTGRES_URL")

# Prefect's console log handler keeps the sys.stderr it finds when prefect is first
# imported. Imported above, that is pytest's; first imported inside a CliRunner's command
# (`pmo demo` imports it late), it would be the runner's, closed when the command returns,
# and the next command's flow logs would fail on it.


@pytest.fixture(autouse=True)
def pmo_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every test gets its own PMO home: store, documents and outbox under tmp_path."""
    home = tmp_path / "pmo-home"
    monkeypatch.setenv("PMO_HOME", str(home))
    for name in ("PMO_DATABASE_URL", "PMO_SMTP_HOST", "PMO_DOCUMENTS_DIR", "PMO_TEMPLATES_DIR"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield home
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped afterwards."""
    if not POSTGRES_URL:
        pytest.skip("PMO_TEST_POSTGRES_URL is not set")
    admin_url = make_url(POSTGRES_URL).set(drivername="postgresql+psycopg")
    name = f"pmo_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        engine_for.cache_clear()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(
    request: pytest.FixtureRequest, pmo_home: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """The store on SQLite, and on PostgreSQL when PMO_TEST_POSTGRES_URL is set."""
    if request.param == "sqlite":
        url = f"sqlite:///{pmo_home / 'pmo.db'}"
    else:
        url = request.getfixturevalue("postgres_database")
        _empty_postgres(url)
    monkeypatch.setenv("PMO_DATABASE_URL", url)
    get_settings.cache_clear()
    yield url


def _empty_postgres(url: str) -> None:
    # One database for the session; each test starts from empty tables.
    engine = engine_for(url)
    with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Prefect server (`prefect server start`) on 127.0.0.1 for the session."""
    with local_prefect_server(tmp_path_factory.mktemp("prefect"), ui=False) as api_url:
        yield api_url


@pytest.fixture
def prefect_api(prefect_server: str) -> Iterator[str]:
    """Point this test's Prefect client at the session's server."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: prefect_server}):
        yield prefect_server


@dataclass(frozen=True)
class AuthenticatedServer:
    api_url: str
    auth_string: str  # user:password
    database: Path  # the server's own SQLite database


@pytest.fixture(scope="session")
def authenticated_prefect_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[AuthenticatedServer]:
    """A real Prefect server of its own that requires basic authentication."""
    credentials = f"pmo-tests:{secrets.token_urlsafe(18)}"
    home = tmp_path_factory.mktemp("prefect-auth")
    with local_prefect_server(home, ui=False, auth_string=credentials) as api_url:
        yield AuthenticatedServer(api_url, credentials, home / "prefect.db")


@pytest.fixture
def authenticated_api(authenticated_prefect_server: AuthenticatedServer):
    """Point this test's Prefect clients at that server, with its credentials."""
    from prefect.settings import PREFECT_API_AUTH_STRING, PREFECT_API_URL, temporary_settings

    server = authenticated_prefect_server
    updates = {PREFECT_API_URL: server.api_url, PREFECT_API_AUTH_STRING: server.auth_string}
    with temporary_settings(updates=updates):
        yield server


@pytest.fixture
def smtp_server(monkeypatch: pytest.MonkeyPatch):
    """A real SMTP server (aiosmtpd) on loopback that the product is configured to use."""
    with running_smtp_server() as server:
        monkeypatch.setenv("PMO_SMTP_HOST", server.host)
        monkeypatch.setenv("PMO_SMTP_PORT", str(server.port))
        get_settings.cache_clear()
        yield server
    get_settings.cache_clear()
