"""`pmo gates` and `pmo approve`: what waits for a decision, and deciding it."""

import json
from typing import Annotated, Literal

import typer

from pmo.cli.unreachable import warn_if_unreachable

DecisionChoice = Literal["go", "kill", "hold", "recycle"]


def gates(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """List the open gates: run, project, gate, who must still answer, since when."""
    from pmo.runtime.runs import list_open_gates

    open_gates = list_open_gates()
    if as_json:
        rows = [
            {
                "run_id": g.run_id,
                "project": g.project,
                "stage": g.stage,
                "attempt": g.attempt,
                "gate": g.gate,
                "status": g.status,
                "round": g.round,
                "waiting_for": g.waiting_for,
                "since": g.since.isoformat(),
                "due": g.due.isoformat() if g.due else None,
            }
            for g in open_gates
        ]
        typer.echo(json.dumps(rows, indent=2))
        return
    if not open_gates:
        typer.echo("No gate is waiting for a decision.")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("Run", "Project", "Gate", "Status", "Waiting for", "Since", "Due")
    for g in open_gates:
        table.add_row(
            g.run_id,
            g.project,
            f"{g.gate} ({g.stage}, attempt {g.attempt})",
            g.status,
            ", ".join(g.waiting_for),
            g.since.strftime("%Y-%m-%d %H:%M UTC"),
            g.due.strftime("%Y-%m-%d %H:%M UTC") if g.due else "",
        )
    Console(width=200).print(table)


def approve(
    run_id: Annotated[str, typer.Argument(help="The lifecycle run waiting at the gate.")],
    approver: Annotated[str, typer.Option("--as", help="Your email, as the brief names you.")],
    decision: Annotated[DecisionChoice, typer.Option(help="Your decision.")],
    code: Annotated[
        str,
        typer.Option(
            prompt="Approval code",
            hide_input=True,
            help="The one-time code from your email; asked for (not echoed) when not given, "
            "which keeps it out of the shell's history.",
        ),
    ],
    comment: Annotated[str, typer.Option(help="Why; it goes on the record.")] = "",
    conditions: Annotated[str, typer.Option(help="Conditions attached to a go.")] = "",
    score: Annotated[
        list[str],
        typer.Option(
            help="Your score for a should-meet criterion, 0 to 10: KEY=7 (repeat per criterion)."
        ),
    ] = [],  # noqa: B006 (typer reads the default; it is never mutated)
    check: Annotated[
        list[str],
        typer.Option(
            help="Your yes/no for a must-meet criterion no evidence settles: KEY=yes (repeat)."
        ),
    ] = [],  # noqa: B006
) -> None:
    """Answer the gate a run waits at: recorded at once, and the run woken when your answer
    decides the gate. A refused answer is recorded as refused and exits with 2; a score
    that does not fit the gate is refused before anything is recorded."""
    from pmo.limits import NAME_CHARS, TEXT_CHARS, check_length

    # Refused before Prefect is imported: nothing is recorded and the refusal is quick.
    check_length("--code", code, NAME_CHARS)
    check_length("--comment", comment, TEXT_CHARS)
    check_length("--conditions", conditions, TEXT_CHARS)
    scores = {key: parse_score(key, value) for key, value in pairs("--score", score).items()}
    checks = {key: parse_yes_no(key, value) for key, value in pairs("--check", check).items()}
    from pmo.gates.rules import Answer
    from pmo.runtime.answering import submit_answer

    answer = Answer(approver, decision, code, comment, conditions, scores, checks)
    submitted = submit_answer(run_id, answer)
    if submitted.outcome is None:
        state = f"recorded; still waiting for {', '.join(submitted.waiting_for) or 'the quorum'}"
    elif submitted.unreachable:
        outcome = submitted.outcome
        state = f"recorded; the gate is decided ({outcome}); the run acts on it once woken"
    elif submitted.woken:
        state = f"recorded; the gate is decided ({submitted.outcome}) and the run acts on it"
    else:
        state = (
            f"recorded; the gate is decided ({submitted.outcome}); the run acts on it when "
            "it runs again (it is not waiting at the gate now)"
        )
    typer.echo(f"{decision} from {approver} at {submitted.gate} ({submitted.project}): {state}")
    typer.echo(submitted.url)
    warn_if_unreachable(submitted.unreachable)


def unlock(
    run_id: Annotated[str, typer.Argument(help="The lifecycle run whose gate is locked.")],
    by: Annotated[str, typer.Option("--as", help="Your email: a PMO contact of the lifecycle.")],
) -> None:
    """Unlock a gate locked after wrong codes; approvers still to answer get new codes."""
    from pmo.runtime.runs import unlock_gate

    gate = unlock_gate(run_id, by)
    typer.echo(f"{gate} unlocked by {by}; new codes sent to the approvers still to answer")


def pairs(option: str, given: list[str]) -> dict[str, str]:
    """`KEY=VALUE` options as a mapping; a malformed or repeated one is refused by name."""
    from pmo.errors import PmoInputError

    found: dict[str, str] = {}
    for item in given:
        key, sign, value = item.partition("=")
        key, value = key.strip(), value.strip()
        if not sign or not key or not value:
            raise PmoInputError(option, f"'{item}' is not KEY=VALUE")
        if key in found:
            raise PmoInputError(option, f"'{key}' is given twice")
        found[key] = value
    return found


def parse_score(key: str, value: str) -> int:
    from pmo.errors import PmoInputError

    if not value.isdigit() or not 0 <= int(value) <= 10:
        raise PmoInputError("--score", f"{key}={value}: a score is a whole number from 0 to 10")
    return int(value)


def parse_yes_no(key: str, value: str) -> bool:
    from pmo.errors import PmoInputError

    if value.lower() not in ("yes", "no"):
        raise PmoInputError("--check", f"{key}={value}: answer yes or no")
    return value.lower() == "yes"


def meeting(
    run_id: Annotated[str, typer.Argument(help="The lifecycle run waiting at the gate.")],
    at: Annotated[str, typer.Option(help="When: an ISO date and time (UTC unless it says).")],
    by: Annotated[str, typer.Option("--as", help="Your email: a PMO contact of the lifecycle.")],
) -> None:
    """Set the review meeting of the gate a run waits at (its lifecycle gives the gate a
    `meeting`): every approver gets a calendar invitation with their review link; a new
    time sends an update, the gate's decision a cancellation."""
    from datetime import UTC, datetime

    from pmo.errors import PmoInputError

    try:
        moment = datetime.fromisoformat(at.strip())
    except ValueError:
        raise PmoInputError("--at", f"'{at[:40]}' is not a date and time") from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    from pmo.runtime.runs import schedule_gate_meeting

    done = schedule_gate_meeting(run_id, moment, by)
    if not done.invited:
        typer.echo(f"{done.gate} ({done.project}) already meets then; nothing sent")
        return
    what = "moved to" if done.sequence else "set for"
    typer.echo(
        f"{done.gate} ({done.project}): review meeting {what} "
        f"{done.starts_at:%Y-%m-%d %H:%M} UTC ({done.minutes} min); "
        f"invitations sent to {', '.join(done.invited)}"
    )
