"""The personal links' tokens as the pages check them, their revocation, and the pages'
CSRF tokens.

A link's token is looked up by its sha256, the only form the store keeps. A page's CSRF
token is an HMAC of the link's hash (and the gate, on a page opened from the inbox) under
the web secret, so a form can only be posted back to the page it was served for, and the
secret never leaves the server.
"""

import hashlib
import hmac
import os
import secrets

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from pmo.files import write_atomically
from pmo.gates.rules import hash_token
from pmo.settings import get_settings
from pmo.store.models import Gate, InboxLink, ReviewLink, utcnow

# No token we mint is shorter or longer: anything else is refused before a lookup.
TOKEN_CHARS = range(40, 50)


def review_link(session: Session, token: str) -> ReviewLink | None:
    """The review link a token opens, or None for a token we never issued."""
    if len(token) not in TOKEN_CHARS:
        return None
    return session.scalar(select(ReviewLink).where(ReviewLink.token_hash == hash_token(token)))


def inbox_link(session: Session, token: str) -> InboxLink | None:
    """The inbox link a token opens, revoked or not, or None for a token we never issued."""
    if len(token) not in TOKEN_CHARS:
        return None
    return session.scalar(select(InboxLink).where(InboxLink.token_hash == hash_token(token)))


def inbox_review_link(session: Session, inbox: InboxLink, gate_id: int) -> ReviewLink | None:
    """The review link the inbox's approver was mailed for the gate's current round (as
    its approver or as a delegate): the inbox link authenticates them, this link is what
    their answer is recorded under."""
    gate = session.get(Gate, gate_id)
    if gate is None:
        return None
    return session.scalar(
        select(ReviewLink)
        .where(
            ReviewLink.gate_id == gate.id,
            ReviewLink.round == gate.round,
            or_(
                ReviewLink.approver_email == inbox.approver_email,
                ReviewLink.delegate_email == inbox.approver_email,
            ),
        )
        .order_by(ReviewLink.id.desc())
        .limit(1)
    )


def revoke_links(session: Session, *, approver: str) -> int:
    """End every inbox and review link mailed to `approver` so far; returns how many were
    live. The next gate message mints new ones."""
    now, revoked = utcnow(), 0
    for model in (InboxLink, ReviewLink):
        result = session.execute(
            update(model)
            .where(model.approver_email == approver, model.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        revoked += result.rowcount
    return revoked


def web_secret() -> bytes:
    """PMO_WEB_SECRET, else a random key kept (0600) in the PMO home, made on first use."""
    settings = get_settings()
    if settings.web_secret is not None and (value := settings.web_secret.get_secret_value()):
        return value.encode()
    path = settings.resolved_home / "web-secret"
    if not path.exists():
        made = settings.resolved_home / f".web-secret-{secrets.token_hex(8)}"
        write_atomically(made, secrets.token_hex(32).encode(), private=True)
        try:
            os.link(made, path)  # the first process to make one wins; the others read it
        except FileExistsError:
            pass
        finally:
            made.unlink()
    return path.read_bytes().strip()


def csrf_token(token: str, gate_id: int | None = None) -> str:
    """The CSRF token of the page a link token opens (for `gate_id`, from an inbox)."""
    message = f"csrf:{hash_token(token)}:{gate_id or ''}".encode()
    return hmac.new(web_secret(), message, hashlib.sha256).hexdigest()
