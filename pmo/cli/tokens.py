"""`pmo tokens revoke`: end an approver's personal links (inbox and review pages)."""

from typing import Annotated

import typer

app = typer.Typer(help="Approvers' personal links to their pages.", no_args_is_help=True)


@app.command()
def revoke(
    email: Annotated[str, typer.Argument(help="The approver whose links end.")],
) -> None:
    """End every inbox and review link mailed to EMAIL so far (a lost phone, a forwarded
    mail); the next gate message carries new ones. Their approval codes still work."""
    from pmo.errors import PmoInputError
    from pmo.store import session_scope
    from pmo.web.tokens import revoke_links
    from process_library.schema import checked_email

    try:
        approver = checked_email(email)
    except ValueError as exc:
        raise PmoInputError("EMAIL", str(exc)) from None
    with session_scope() as session:
        revoked = revoke_links(session, approver=approver)
    typer.echo(f"{revoked} link(s) of {approver} revoked")
