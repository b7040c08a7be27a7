"""Scratch databases on a PostgreSQL server, for the benchmarks. Imports nothing of
Prefect, so a benchmark can make Prefect's database before it sets Prefect's environment."""

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


def database_url(admin_url: str, name: str) -> str:
    """The URL of database `name` on the PostgreSQL server of `admin_url`."""
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def fresh_database(admin_url: str, name: str) -> str:
    admin = create_engine(
        make_url(admin_url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return database_url(admin_url, name)
