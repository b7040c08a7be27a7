"""The personal links' tokens as the pages check them, and the pages' CSRF tokens.

A link's token is looked up by its sha256, the only form the store keeps. A page's CSRF
token is an HMAC of the link's hash under the web secret, so a form can only be posted
back to the link it was served for, and the secret never leaves the server.
"""

import hashlib
import hmac
import os
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from pmo.files import write_atomically
from pmo.gates.rules import hash_token
from pmo.settings import get_settings
from pmo.store.models import InboxLink, ReviewLink

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


def csrf_token(token: str) -> str:
    """The CSRF token of the page a link token opens."""
    message = f"csrf:{hash_token(token)}".encode()
    return hmac.new(web_secret(), message, hashlib.sha256).hexdigest()


def csrf_matches(token: str, given: str) -> bool:
    # compare_digest: the time taken must not tell how much of a forged value was right.
    return hmac.compare_digest(csrf_token(token), given or "")
