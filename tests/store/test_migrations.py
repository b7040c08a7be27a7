"""Processes that open a fresh store at the same instant migrate it one after the other."""

import subprocess
import sys
import time
import uuid

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from pmo.store.engine import alembic_config
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


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def assert_migrated_once(url: str, results: list[subprocess.CompletedProcess]) -> None:
    assert [r.returncode for r in results] == [0] * PROCESSES, [r.stderr[-600:] for r in results]
    engine = create_engine(url)
    try:
        assert "gate_decisions" in inspect(engine).get_table_names()
        with engine.connect() as connection:
            versions = connection.execute(text("SELECT version_num FROM alembic_version")).all()
        assert versions == [(head_revision(),)]
    finally:
        engine.dispose()


def test_a_fresh_sqlite_store_opened_by_several_processes_at_once(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    assert_migrated_once(url, open_at_once(url))


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


def test_a_store_at_head_opens_without_alembic_and_the_files_name_alembics_head(tmp_path):
    """A command that opens a store already at head does not import alembic (about a fifth
    of its imports); the head it reads from the migration files is alembic's own."""
    from pmo.store.engine import head_revision as files_head

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
    assert files_head() == head_revision()
