"""The one way to open the store: an engine per URL, migrated to head on first use."""

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from pmo.errors import ServiceUnavailable
from pmo.settings import get_settings, redacted_url

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # noqa: ANN001 (DB-API objects)
    # WAL lets the flow, the CLI and the demo's approver read while another writes;
    # busy_timeout makes a writer wait for the lock instead of failing at once.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


class StoreUnavailable(ServiceUnavailable):
    """The store's database cannot be reached, or refuses us."""


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


@cache
def engine_for(url: str) -> Engine:
    """An engine for `url`, with its schema brought to the latest migration."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    engine = create_engine(parsed, pool_pre_ping=True)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    try:
        with engine.begin() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except (OperationalError, InterfaceError) as error:
        engine.dispose()
        raise StoreUnavailable(
            f"cannot open the store at {redacted_url(url)}: {_reason(error, parsed.password)}"
        ) from None
    return engine


def _reason(error: OperationalError | InterfaceError, password: str | None) -> str:
    """The driver's first line, without the password should a driver ever echo it."""
    text = str(error.orig or error).strip()
    reason = text.splitlines()[0] if text else type(error).__name__
    return reason.replace(password, "***") if password else reason


def open_store(url: str | None = None) -> sessionmaker[Session]:
    """Sessions on the store at `url` (default: the configured store)."""
    return sessionmaker(engine_for(url or get_settings().store_url), expire_on_commit=False)


@contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """A session committed on success and rolled back on any error: no half-written state."""
    with open_store(url)() as session, session.begin():
        yield session
