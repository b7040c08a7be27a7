"""Processes that open a fresh store at the same instant migrate it one after the other."""

import subprocess
import sys
import threading
import time
import uuid

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from pmo.store.engine import alembic_config, engine_for, head_revision
from tests.conftest import POSTGRES_URL

pytestmark = pytest.mark.integration

PROCESSES = 4
OPEN_AT = """
import sys, time
from pmo.store.engine import engine_for
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))
engine_for(sys.argv[1])
"""


def open_at_once(url: str) -> list[subprocess.CompletedProcess]:
    """Open the store at `url` in PROCESSES new processes, all at one instant."""
    start = time.time() + 3  # time enough for every interpreter to import the store
    children = [
        subprocess.Popen(
            [sys.executable, "-c", OPEN_AT, url, str(start)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(PROCESSES)
    ]
    results = []
    for child in children:
        out, err = child.communicate(timeout=120)
        results.append(subprocess.CompletedProcess(child.args, child.returncode, out, err))
    return results


def alembic_head_revision() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def assert_migrated_once(url: str, results: list[subprocess.CompletedProcess]) -> None:
    assert [r.returncode for r in results] == [0] * PROCESSES, [r.stderr[-600:] for r in results]
    engine = create_engine(url)
    try:
        assert "gate_decisions" in inspect(engine).get_table_names()
        with engine.connect() as connection:
            versions = connection.execute(text("SELECT version_num FROM alembic_version")).all()
        assert versions == [(alembic_head_revision(),)]
    finally:
        engine.dispose()


def test_a_fresh_sqlite_store_opened_by_several_processes_at_once(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    assert_migrated_once(url, open_at_once(url))


def test_new_sqlite_stores_opened_by_several_threads_at_once_all_open(tmp_path):
    # `pmo demo` opens its new store from two projects' threads at one instant: SQLite
    # answers a second switch of a new file to WAL with "locked" at once, which failed
    # about one round in fifty before the switch was retried (100 rounds here).
    failures = []

    def open_store(url: str) -> None:
        try:
            with engine_for.__wrapped__(url).connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as error:  # noqa: BLE001 (every failure is what the test reports)
            failures.append(f"{url}: {error}")

    for round_ in range(100):
        url = f"sqlite:///{tmp_path / f'fresh-{round_}.db'}"
        threads = [threading.Thread(target=open_store, args=(url,)) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert failures == []


@pytest.mark.postgres
def test_a_fresh_postgresql_store_opened_by_several_processes_at_once():
    if not POSTGRES_URL:
        pytest.skip("PMO_TEST_POSTGRES_URL is not set")
    admin_url = make_url(POSTGRES_URL).set(drivername="postgresql+psycopg")
    name = f"pmo_fresh_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = admin_url.set(database=name).render_as_string(hide_password=False)
        assert_migrated_once(url, open_at_once(url))
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_the_head_read_from_the_migration_files_is_alembics():
    assert head_revision() == alembic_head_revision()
    assert alembic_head_revision() is not None


def test_a_store_one_migration_behind_is_brought_to_head_when_opened(store_url):
    from alembic import command

    engine_for(store_url)
    with engine_for(store_url).begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, "-1")
    engine_for.cache_clear()
    engine_for(store_url)  # the shortcut for a store at head must not skip this one
    with create_engine(store_url.replace("postgresql://", "postgresql+psycopg://")).connect() as c:
        versions = c.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        columns = {col["name"] for col in inspect(c).get_columns("baselines")}
    assert versions == [alembic_head_revision()]
    assert "figures" in columns


def test_a_store_at_head_opens_without_alembic(tmp_path):
    """A command that opens a store already at head does not import alembic (about a fifth
    of its imports)."""
    url = f"sqlite:///{tmp_path / 'pmo.db'}"
    script = (
        "import sys; from pmo.store.engine import engine_for; engine_for(sys.argv[1]); "
        "print(any(m.split('.')[0] == 'alembic' for m in sys.modules))"
    )
    first, again = (
        subprocess.run([sys.executable, "-c", script, url], capture_output=True, text=True)
        for _ in range(2)
    )
    assert (first.returncode, first.stdout.strip()) == (0, "True"), first.stderr[-600:]
    assert (again.returncode, again.stdout.strip()) == (0, "False"), again.stderr[-600:]
