"""What the benchmarks share: a scratch embedded default, a scratch store on PostgreSQL, and
waiting for a value."""

import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from prefect.settings import PREFECT_API_URL, temporary_settings
from scratch_databases import fresh_database

from pmo.runtime.server import local_prefect_server
from pmo.settings import get_settings


@contextmanager
def scratch_embedded_default() -> Iterator[tuple[Path, str]]:
    """A local Prefect server and a SQLite store in a temporary home, mail to its outbox;
    yields the home and the API URL, and removes everything afterwards."""
    with tempfile.TemporaryDirectory(prefix="pmo-bench-") as scratch:
        home = Path(scratch)
        os.environ.update(PMO_HOME=str(home), PMO_SMTP_HOST="")
        os.environ.pop("PMO_DATABASE_URL", None)
        get_settings.cache_clear()
        with (
            local_prefect_server(home / "prefect", ui=False) as api_url,
            temporary_settings(updates={PREFECT_API_URL: api_url}),
        ):
            yield home, api_url


def scratch_postgres_store(name: str) -> str:
    """Point this process at a new store, database `name` on the PostgreSQL server at
    PMO_BENCH_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/postgres), in a
    temporary PMO home with mail to its outbox; returns the store's URL."""
    admin = os.environ.get(
        "PMO_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
    )
    url = fresh_database(admin, name)
    os.environ.update(
        PMO_HOME=tempfile.mkdtemp(prefix=f"{name}-"), PMO_DATABASE_URL=url, PMO_SMTP_HOST=""
    )
    get_settings.cache_clear()
    return url


def wait_until(predicate, timeout: float = 120, every: float = 0.05):  # noqa: ANN001, ANN201
    """The predicate's first truthy value, checked every `every` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(every)
    raise TimeoutError("gave up waiting")
