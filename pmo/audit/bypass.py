"""Runs that moved past a gate without the gate: read from Prefect's history and the store.

A lifecycle run leaves a pause only for a reason the store records: an answer it took
through the Resume form (accepted or refused), an answer `pmo approve` recorded before
waking it, a decision the gate's timeout policy made, or a status update. A resume with
none of these, a run ended while its project still waited at a gate, or a response the
gate refused, is a control gap: someone moved the run from outside the gate.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from pmo.audit.run_history import RunHistory, StateMark

# The store and Prefect's server stamp times with separate clocks (often one machine's).
CLOCK_SLACK = timedelta(seconds=5)
RESUMED_TYPES = {"SCHEDULED", "PENDING", "RUNNING"}
ENDED_TYPES = {"COMPLETED", "CANCELLED", "CANCELLING", "FAILED", "CRASHED"}
OPEN_STATUSES = {"active", "on-hold"}


@dataclass(frozen=True)
class RunReason:
    """Something the store recorded that explains a resume of the run."""

    at: datetime
    gate: str
    kind: str  # answer | refused | policy | status | plan
    detail: str
    # What the Resume form gave is recorded by the run after it resumes; an answer or
    # update `pmo approve`/`pmo status` recorded, and a policy decision, come first and
    # then wake the run.
    follows_resume: bool = True


@dataclass(frozen=True)
class Bypass:
    run_id: str
    at: datetime
    what: str
    # A run that failed or crashed was not moved by a person: the project is stuck, not
    # bypassed, and that is a risk to delivery rather than a gap in control.
    finding: str = "control gap"


def find_bypasses(
    run: RunHistory,
    *,
    project_status: str | None,
    waiting_at: str | None,
    reasons: Sequence[RunReason],
) -> list[Bypass]:
    """Every way this run left its gates other than through them, oldest first."""
    found = _unexplained_resumes(run, reasons)
    found += [
        Bypass(
            run.run_id, r.at, f"resumed at {r.gate} with a response the gate refused: {r.detail}"
        )
        for r in reasons
        if r.kind == "refused"
    ]
    if (ended := _ended_outside_gate(run, project_status, waiting_at)) is not None:
        found.append(ended)
    return sorted(found, key=lambda b: b.at)


def _unexplained_resumes(run: RunHistory, reasons: Sequence[RunReason]) -> list[Bypass]:
    unused = sorted(reasons, key=lambda r: r.at)
    found: list[Bypass] = []
    for paused, resumed, next_pause in _resumes(run.states):
        until = next_pause.at if next_pause else None
        match = next(
            (
                r
                for r in unused
                if (
                    resumed.at - CLOCK_SLACK <= r.at
                    and (until is None or r.at <= until + CLOCK_SLACK)
                    if r.follows_resume
                    else paused.at - CLOCK_SLACK <= r.at <= resumed.at + CLOCK_SLACK
                )
            ),
            None,
        )
        if match is not None:
            unused.remove(match)
            continue
        how = f"state set to {resumed.name or resumed.type.title()}"
        if resumed.message:
            how += f" ('{resumed.message}')"
        found.append(
            Bypass(
                run.run_id,
                resumed.at,
                f"left its pause at {resumed.at:%Y-%m-%d %H:%M:%S} UTC ({how}) "
                "with no answer, policy decision or update recorded",
            )
        )
    return found


def _resumes(
    states: Sequence[StateMark],
) -> list[tuple[StateMark, StateMark, StateMark | None]]:
    """(pause, resume, next pause) for every time the run left a pause to run again."""
    found = []
    for index, (before, after) in enumerate(zip(states, states[1:], strict=False)):
        if before.type == "PAUSED" and after.type in RESUMED_TYPES:
            later = next((s for s in states[index + 2 :] if s.type == "PAUSED"), None)
            found.append((before, after, later))
    return found


def _ended_outside_gate(
    run: RunHistory, project_status: str | None, waiting_at: str | None
) -> Bypass | None:
    if run.state_type not in ENDED_TYPES or project_status not in OPEN_STATUSES:
        return None
    last = run.states[-1] if run.states else None
    at = last.at if last else run.created
    where = f"while the project waited at {waiting_at}" if waiting_at else "mid-stage"
    how = f" ('{last.message}')" if last and last.message else ""
    failed = run.state_type in {"FAILED", "CRASHED"}
    return Bypass(
        run.run_id,
        at,
        f"{'ended' if failed else 'marked'} {run.state_name or run.state_type.title()}{how} "
        f"{where}; the project is still {project_status} in the store, no gate closed it",
        "delivery risk" if failed else "control gap",
    )
