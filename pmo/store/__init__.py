"""The store: SQLAlchemy models, Alembic migrations, the one way to open a session, record
functions, and the audit ledger every audited write is chained into.

Uses only the settings and the brief; free of Prefect.
"""

from pmo.store import ledger  # noqa: F401 (its listeners put every audited write on the ledger)
from pmo.store.engine import open_store, session_scope

__all__ = ["open_store", "session_scope"]
