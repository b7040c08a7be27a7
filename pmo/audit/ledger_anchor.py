"""The ledger head each audit saw, kept in Prefect (a Variable), out of the store's reach.

The hash chain shows any entry edited or removed in its middle; an anchor outside the
store also shows its tail cut off, entries and rows together, since the last audit.
"""

import hashlib

from prefect.variables import Variable
from sqlalchemy.engine import make_url

from pmo.settings import get_settings
from pmo.store.ledger import LedgerHead


def anchor_name() -> str:
    """One anchor per store, so two stores audited through one Prefect never mix."""
    url = make_url(get_settings().store_url).render_as_string(hide_password=True)
    return f"pmo_ledger_head_{hashlib.sha256(url.encode()).hexdigest()[:12]}"


def read_anchor() -> LedgerHead | None:
    value = Variable.get(anchor_name(), default=None)
    if not isinstance(value, dict) or {"seq", "hash"} - value.keys():
        return None
    return LedgerHead(int(value["seq"]), str(value["hash"]))


def save_anchor(head: LedgerHead) -> None:
    Variable.set(anchor_name(), {"seq": head.seq, "hash": head.hash}, overwrite=True)
