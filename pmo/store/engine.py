"""The one way to open the store: an engine per URL, migrated to head on first use."""

import fcntl
import re
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, create_engine, event, func, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from pmo.errors import ServiceUnavailable
from pmo.settings import get_settings, redacted_url

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# pg_advisory_xact_lock key of migrations (the ledger's appends use another)
MIGRATION_LOCK_KEY = 0x706D6F6D6967  # "pmomig"


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # noqa: ANN001 (DB-API objects)
    # WAL lets the flow, the CLI and the demo's approver read while another writes;
    # busy_timeout makes a writer wait for the lock instead of failing at once.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=30000")
    _switch_to_wal(cursor)
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _switch_to_wal(cursor: sqlite3.Cursor) -> None:
    """Put the file in WAL mode (the file keeps it). While another connection switches the
    same new file, SQLite answers "database is locked" at once instead of waiting out the
    busy timeout, so two threads opening a new store together would see one fail: such a
    switch is tried again, for as long as the busy timeout would have waited."""
    deadline = time.monotonic() + 30
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


class StoreUnavailable(ServiceUnavailable):
    """The store's database cannot be reached, or refuses us."""


def alembic_config() -> "Config":
    from alembic.config import Config

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
        if _at_head(engine):
            return engine
        # The file lock outside the transaction: it is released only after the migration
        # committed, so whoever takes it next finds the schema at head.
        with (
            _sqlite_migration_lock(
                parsed.database if parsed.get_backend_name() == "sqlite" else None
            ),
            engine.begin() as connection,
        ):
            if connection.dialect.name == "postgresql":
                # Held until the migrating transaction commits or rolls back.
                connection.execute(select(func.pg_advisory_xact_lock(MIGRATION_LOCK_KEY)))
            from alembic import command

            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except (OperationalError, InterfaceError) as error:
        engine.dispose()
        raise StoreUnavailable(
            f"cannot open the store at {redacted_url(url)}: {_reason(error, parsed.password)}"
        ) from None
    return engine


_REVISION = re.compile(r"""^(revision|down_revision)\b[^=\n]*=\s*["']([^"'\n]+)["']""", re.M)


@cache
def head_revision() -> str | None:
    """The latest migration's id, read from the migration files' text: a process opening
    a store already at head (every one but the first) then skips importing alembic and
    walking the migrations, a third of a second of every command's start. None when the
    files do not name exactly one head plainly: alembic then decides, as always."""
    files = [f for f in (MIGRATIONS_DIR / "versions").glob("*.py") if not f.name.startswith("_")]
    revisions, parents = set(), set()
    for path in files:
        named = dict(_REVISION.findall(path.read_text(encoding="utf-8")))
        if "revision" not in named:
            return None
        revisions.add(named["revision"])
        parents.add(named.get("down_revision"))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 and len(revisions) == len(files) else None


def _at_head(engine: Engine) -> bool:
    """Whether the store's schema is at the latest migration already."""
    head = head_revision()
    if head is None:
        return False
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return False
        versions = connection.execute(text("SELECT version_num FROM alembic_version")).scalars()
        return set(versions) == {head}


def _reason(error: OperationalError | InterfaceError, password: str | None) -> str:
    """The driver's first line, without the password should a driver ever echo it."""
    text = str(error.orig or error).strip()
    reason = text.splitlines()[0] if text else type(error).__name__
    return reason.replace(password, "***") if password else reason


@contextmanager
def _sqlite_migration_lock(database: str | None) -> Iterator[None]:
    """Hold a SQLite store's migration lock while it is brought to head, so that two
    processes (or threads) opening a fresh store at one instant migrate one after the
    other: the second finds the schema at head and does nothing, instead of creating the
    same tables again. PostgreSQL takes an advisory lock in the migrating transaction."""
    if not database or database == ":memory:":
        yield  # not SQLite, or an in-memory store: one process by nature
        return
    # SQLite runs DDL outside a transaction, so its own lock cannot span the migration.
    lock_path = Path(database).expanduser().with_name(Path(database).name + ".migrating")
    with open(lock_path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def open_store(url: str | None = None) -> sessionmaker[Session]:
    """Sessions on the store at `url` (default: the configured store)."""
    return sessionmaker(engine_for(url or get_settings().store_url), expire_on_commit=False)


@contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """A session committed on success and rolled back on any error: no half-written state.

    Losing the database on the way (a connection cut, a server restarting) raises
    StoreUnavailable: nothing of the transaction was committed, and doing it again later
    is safe (tasks retry it)."""
    url = url or get_settings().store_url
    try:
        with open_store(url)() as session, session.begin():
            yield session
    except (OperationalError, InterfaceError) as error:
        raise StoreUnavailable(
            f"the store at {redacted_url(url)} is unavailable: "
            f"{_reason(error, make_url(url).password)}"
        ) from None
