"""`pmo delegate`: an approver away hands their gate answers to someone else for a while."""

import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated

import typer


def delegate(
    from_email: Annotated[
        str | None, typer.Option("--from", help="The approver who is away.")
    ] = None,
    to_email: Annotated[
        str | None, typer.Option("--to", help="Who answers their gates meanwhile.")
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(
            help="Last day (YYYY-MM-DD, through its end, UTC) or moment (ISO date and time)."
        ),
    ] = None,
    by: Annotated[
        str | None,
        typer.Option("--as", help="Who records it: the approver (default) or a PMO contact."),
    ] = None,
    list_: Annotated[
        bool, typer.Option("--list", help="List the delegations in force and to come.")
    ] = False,
    end: Annotated[
        bool, typer.Option("--end", help="End the --from approver's delegation now.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="With --list: print JSON.")] = False,
) -> None:
    """Delegate an approver's gate decisions: until --until, new gate requests for --from
    go to --to, whose answers are recorded as "TO for FROM". Segregation of duties holds:
    the delegate may not be the project manager of a project the approver approves."""
    from pmo.errors import PmoInputError
    from pmo.gates.delegation import delegate as record_delegation
    from pmo.gates.delegation import delegations, end_delegation
    from pmo.store import session_scope

    if list_:
        with session_scope() as session:
            rows = [
                {
                    "from": d.from_email,
                    "to": d.to_email,
                    "since": d.starts_at.isoformat(),
                    "until": d.until.isoformat(),
                    "by": d.created_by,
                }
                for d in delegations(session, current_only=True)
            ]
        if as_json:
            typer.echo(json.dumps(rows, indent=2))
        elif not rows:
            typer.echo("No delegation is in force.")
        for row in [] if as_json else rows:
            typer.echo(f"{row['from']} -> {row['to']} until {row['until']} (by {row['by']})")
        return
    if from_email is None:
        raise PmoInputError("--from", "name the approver whose decisions are delegated")
    approver = _address("--from", from_email)
    acting = _address("--as", by) if by else approver
    if end:
        with session_scope() as session:
            ended = end_delegation(session, from_email=approver, by=acting)
            typer.echo(f"{approver} no longer delegates to {ended.to_email} (ended by {acting})")
        return
    if to_email is None or until is None:
        raise PmoInputError("--to" if to_email is None else "--until", "is needed")
    with session_scope() as session:
        row = record_delegation(
            session,
            from_email=approver,
            to_email=_address("--to", to_email),
            until=_moment(until),
            by=acting,
        )
        typer.echo(
            f"{row.from_email} delegates to {row.to_email} until "
            f"{row.until:%Y-%m-%d %H:%M} UTC (recorded by {acting})"
        )


def _address(option: str, value: str) -> str:
    from pmo.errors import PmoInputError
    from process_library.schema import checked_email

    try:
        return checked_email(value)
    except ValueError as exc:
        raise PmoInputError(option, str(exc)) from None


def _moment(value: str) -> datetime:
    """A day means through its end (UTC); a moment without a zone is UTC."""
    from pmo.errors import PmoInputError

    try:
        if len(value.strip()) == 10:
            day = date.fromisoformat(value.strip())
            return datetime.combine(day + timedelta(days=1), time(), tzinfo=UTC)
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise PmoInputError("--until", f"'{value[:40]}' is not a date or a date and time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
