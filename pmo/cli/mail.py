"""`pmo mail flush`: send now the mail that waited for the SMTP server."""

import typer

app = typer.Typer(help="Outgoing mail.", no_args_is_help=True)


@app.command()
def flush() -> None:
    """Send the messages queued while the SMTP server was down, oldest first, each once
    (the gate-sla check does the same on its schedule). Exit status 1 when some still wait
    because the server still cannot take them."""
    from pmo.errors import ServiceUnavailable
    from pmo.mail import queued_count, send_queued_mail

    sent = send_queued_mail()
    if waiting := queued_count():
        raise ServiceUnavailable(
            f"{len(sent)} queued message(s) sent, {waiting} still waiting: "
            "the SMTP server cannot take them yet"
        )
    typer.echo(f"{len(sent)} queued message(s) sent.")
