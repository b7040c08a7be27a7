"""The store: SQLAlchemy models, the one way to open a session, and record functions."""

from pmo.store import ledger  # noqa: F401 (its listeners put every audited write on the ledger)
from pmo.store.engine import open_store, session_scope

__all__ = ["open_store", "session_scope"]
