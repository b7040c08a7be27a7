"""Alembic environment: migrations run on the connection the store hands over."""

from alembic import context
from sqlalchemy import create_engine

from pmo.store.models import Base

config = context.config
connection = config.attributes.get("connection")


def run(connection) -> None:  # noqa: ANN001 (SQLAlchemy Connection)
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


if connection is not None:
    run(connection)
else:
    # `alembic -x url=... revision --autogenerate` from a shell, for developers.
    with create_engine(context.get_x_argument(as_dictionary=True)["url"]).begin() as conn:
        run(conn)
