"""Delegation: an approver away hands their gate answers to someone else for a while.

Until the delegation ends, new gate requests for the approver go to the delegate, whose
answers are recorded as "delegate for approver" and count for the approver's seat on the
gate; segregation of duties holds for the delegate as for the approver.
"""

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from pmo.errors import PmoInputError
from pmo.store.models import Delegation, Project, utcnow
from process_library.schema import Lifecycle

OPEN = ("active", "on-hold")


def active_delegation(
    session: Session, *, approver: str, at: datetime | None = None
) -> Delegation | None:
    """The delegation of `approver`'s answers in force at `at` (now), if any."""
    at = at or utcnow()
    return session.scalar(
        select(Delegation).where(
            Delegation.from_email == approver,
            Delegation.starts_at <= at,
            Delegation.until > at,
            Delegation.ended_at.is_(None),
        )
    )


def delegated_seat(
    session: Session, *, person: str, seats: Iterable[str], at: datetime | None = None
) -> str | None:
    """The approver among `seats` whose answers `person` may give now as their delegate."""
    for seat in seats:
        found = active_delegation(session, approver=seat, at=at)
        if found is not None and found.to_email == person:
            return seat
    return None


def pmo_contacts(session: Session) -> set[str]:
    """The PMO contacts of the lifecycles of every open project."""
    definitions = session.scalars(
        select(Project.lifecycle_definition).where(Project.status.in_(OPEN))
    )
    return {c for d in definitions for c in Lifecycle.model_validate(d).pmo_contacts}


def _check_acting(session: Session, *, by: str, approver: str) -> None:
    if by != approver and by not in pmo_contacts(session):
        raise PmoInputError(
            "--as", f"{by} is neither {approver} nor a PMO contact of an open project"
        )


def delegate(
    session: Session, *, from_email: str, to_email: str, until: datetime, by: str
) -> Delegation:
    """Record a delegation from now until `until`, after checking it: not to oneself, not
    to a project manager of a project the approver approves, not in the past, not
    overlapping another delegation of the approver; by the approver or a PMO contact."""
    now = utcnow()
    _check_acting(session, by=by, approver=from_email)
    if from_email == to_email:
        raise PmoInputError("--to", f"{to_email} cannot delegate to themselves")
    if until <= now:
        raise PmoInputError("--until", f"{until:%Y-%m-%d %H:%M} UTC is in the past")
    overlapping = session.scalar(
        select(Delegation).where(
            Delegation.from_email == from_email,
            Delegation.until > now,
            Delegation.ended_at.is_(None),
        )
    )
    if overlapping is not None:
        raise PmoInputError(
            "--from",
            f"{from_email} already delegates to {overlapping.to_email} until "
            f"{overlapping.until:%Y-%m-%d %H:%M} UTC; end it first (--end)",
        )
    for project in session.scalars(
        select(Project).where(Project.status.in_(OPEN), Project.project_manager_email == to_email)
    ):
        approvers = project.brief.get("approvers", {})
        if any(from_email in people for people in approvers.values()):
            raise PmoInputError(
                "--to",
                f"{to_email} is the project manager of {project.key}, whose gates "
                f"{from_email} approves: a project manager cannot approve their own gate",
            )
    row = Delegation(
        from_email=from_email, to_email=to_email, starts_at=now, until=until, created_by=by
    )
    session.add(row)
    session.flush()
    return row


def end_delegation(session: Session, *, from_email: str, by: str) -> Delegation:
    """End the approver's delegation in force now; new requests go to them again."""
    _check_acting(session, by=by, approver=from_email)
    found = active_delegation(session, approver=from_email)
    if found is None:
        raise PmoInputError("--from", f"{from_email} has no delegation in force")
    found.ended_at, found.ended_by = utcnow(), by
    return found


def delegations(session: Session, *, current_only: bool = False) -> list[Delegation]:
    """Every delegation on record (or only those in force or to come), newest first."""
    query = select(Delegation).order_by(Delegation.created_at.desc(), Delegation.id.desc())
    if current_only:
        query = query.where(Delegation.ended_at.is_(None), Delegation.until > utcnow())
    return list(session.scalars(query))
