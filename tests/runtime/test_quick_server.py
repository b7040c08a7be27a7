"""The demo's quick server start: a migrated database template, built once per Prefect
version and copied by each short-lived server."""

import sqlite3

import httpx
import pytest

from pmo.runtime.server import (
    SERVICES_A_DEMO_DOES_WITHOUT,
    local_prefect_server,
    migrated_database,
    prefect_version,
)

pytestmark = pytest.mark.integration


def alembic_head(database) -> str:  # noqa: ANN001
    connection = sqlite3.connect(database)
    try:
        return connection.execute("select version_num from alembic_version").fetchone()[0]
    finally:
        connection.close()


def test_the_template_is_built_once_and_a_server_starts_from_a_copy(tmp_path):
    cache = tmp_path / "cache"
    template = migrated_database(cache)
    assert template == cache / f"prefect-{prefect_version()}.db"
    # one file, nothing left in a write-ahead log beside it
    assert sorted(p.name for p in cache.iterdir()) == [template.name]
    head = alembic_head(template)
    built = template.stat().st_mtime_ns
    # the second call reuses it, and nothing is left half-built
    assert migrated_database(cache) == template
    assert template.stat().st_mtime_ns == built
    assert sorted(p.name for p in cache.iterdir()) == [template.name]

    home = tmp_path / "prefect"
    server = local_prefect_server(
        home, ui=False, database_template=template, without_services=SERVICES_A_DEMO_DOES_WITHOUT
    )
    with server as api_url:
        assert httpx.get(f"{api_url}/health", timeout=5).status_code == 200
        flows = httpx.post(f"{api_url}/flows/filter", json={}, timeout=5)
        assert flows.status_code == 200 and flows.json() == []
    # the server ran on its copy: the template itself is untouched
    assert alembic_head(home / "prefect.db") == head
    assert template.stat().st_mtime_ns == built


def test_an_unwritable_cache_means_no_template_not_a_failure(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    assert migrated_database(blocker / "cache") is None
