"""An approver's inbox: every gate, across projects, whose current round waits on them,
with its age and SLA due date. Nothing of other approvers' work is shown."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from pmo.brief import ProjectBrief
from pmo.gates.answers import gate_stage, round_outcome, waiting_approvers
from pmo.gates.sla import gate_due
from pmo.store.lifecycles import lifecycle_for
from pmo.store.models import Gate, ReviewLink, utcnow
from pmo.store.records import open_gates_asking


@dataclass(frozen=True)
class Waiting:
    gate_id: int
    project_key: str
    project_name: str
    stage_name: str
    attempt: int
    gate_name: str
    round: int
    since: datetime
    age: str
    due: datetime | None
    overdue: bool
    locked: bool
    for_approver: str | None  # the approver whose request came to them as a delegate


def waiting_on(session: Session, *, approver: str) -> list[Waiting]:
    """The gates whose current round still waits for `approver`'s answer, oldest first."""
    now, found = utcnow(), []
    for project, stage_run, gate in open_gates_asking(session, approver=approver):
        brief = ProjectBrief.model_validate(project.brief)
        definition = gate_stage(lifecycle_for(session, stage_run=stage_run), stage_run, gate).gate
        if round_outcome(session, gate=gate, definition=definition, brief=brief, round=gate.round):
            continue  # decided by its answers; the run is acting on it
        waiting = waiting_approvers(session, gate=gate, definition=definition, brief=brief)
        seat = approver if approver in waiting else _delegated_to(session, gate, approver)
        if seat not in waiting:
            continue
        since = gate.round_opened_at or gate.opened_at
        due = gate_due(gate, definition)
        found.append(
            Waiting(
                gate_id=gate.id,
                project_key=project.key,
                project_name=project.name,
                stage_name=stage_run.stage_name,
                attempt=stage_run.attempt,
                gate_name=gate.gate_name,
                round=gate.round,
                since=since,
                age=_age(now - since),
                due=due,
                overdue=due is not None and now >= due,
                locked=gate.locked_at is not None,
                for_approver=seat if seat != approver else None,
            )
        )
    return sorted(found, key=lambda w: w.since)


def _delegated_to(session: Session, gate: Gate, delegate: str) -> str | None:
    """The approver whose request for the gate's current round was mailed to `delegate`."""
    return session.scalar(
        select(ReviewLink.approver_email).where(
            ReviewLink.gate_id == gate.id,
            ReviewLink.round == gate.round,
            ReviewLink.delegate_email == delegate,
        )
    )


def _age(elapsed: timedelta) -> str:
    hours = int(elapsed.total_seconds() // 3600)
    if hours < 1:
        return "under an hour"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if days else f"{hours} h"
