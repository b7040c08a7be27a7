"""The lifecycle runs' state changes the store has recorded, and recording more of them.

Rows come from Prefect's `prefect.flow-run.*` events (the recorder) or, for what the recorder
missed, from Prefect's API (the audit). Both give a state its Prefect id, which is the row's
key: recording the same state again, by either way, writes nothing.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pmo.store.engine import session_scope
from pmo.store.models import Project, RunState

IN_BATCH = 500  # ids per IN (...) list, well under every database's bound-parameter limit


@dataclass(frozen=True)
class SeenState:
    """One state a run entered, as Prefect reported it."""

    state_id: str
    flow_run_id: str
    type: str  # Prefect's StateType: PAUSED, SCHEDULED, RUNNING, COMPLETED...
    name: str
    message: str
    occurred_at: datetime
    project_key: str | None = None  # from the run's `project:<KEY>` tag


def record_run_states(*, states: Sequence[SeenState], source: str) -> int:
    """Record the states not yet on record, in one transaction; returns how many were new."""
    wanted = {s.state_id: s for s in states}
    if not wanted:
        return 0
    for attempt in (1, 2):
        try:
            with session_scope() as session:
                return _record_new(session, wanted, source)
        except IntegrityError:
            # The recorder and an audit wrote one of these at the same moment: the second
            # try finds it on record and writes the others.
            if attempt == 2:
                raise
    return 0


def _record_new(session: Session, wanted: dict[str, SeenState], source: str) -> int:
    known = _known_ids(session, list(wanted))
    new = [s for i, s in wanted.items() if i not in known]
    if not new:
        return 0
    # The run's project by its tag or, as Prefect's events do not always carry the run's
    # own tags, by the run the project records; none before the run wrote its project.
    keys = {s.project_key for s in new if s.project_key}
    runs = {s.flow_run_id for s in new}
    by_key: dict[str, int] = {}
    by_run: dict[str, int] = {}
    for row in session.execute(
        select(Project.key, Project.flow_run_id, Project.id).where(
            Project.key.in_(keys) | Project.flow_run_id.in_(runs)
        )
    ):
        by_key[row.key] = row.id
        if row.flow_run_id:
            by_run[row.flow_run_id] = row.id
    session.add_all(
        RunState(
            event_id=s.state_id,
            flow_run_id=s.flow_run_id,
            project_id=by_key.get(s.project_key or "") or by_run.get(s.flow_run_id),
            state_type=s.type,
            state_name=s.name[:60],
            message=s.message,
            occurred_at=s.occurred_at,
            source=source,
        )
        for s in new
    )
    return len(new)


def _known_ids(session: Session, ids: list[str]) -> set[str]:
    known: set[str] = set()
    for start in range(0, len(ids), IN_BATCH):
        batch = ids[start : start + IN_BATCH]
        known.update(session.scalars(select(RunState.event_id).where(RunState.event_id.in_(batch))))
    return known


@dataclass(frozen=True)
class RecordedState:
    state_id: str
    type: str
    name: str
    message: str
    occurred_at: datetime


def recorded_states(
    session: Session, *, flow_run_ids: Iterable[str] | None = None
) -> dict[str, list[RecordedState]]:
    """Each run's recorded states, oldest first; every run's when `flow_run_ids` is None."""
    columns = (
        RunState.flow_run_id,
        RunState.event_id,
        RunState.state_type,
        RunState.state_name,
        RunState.message,
        RunState.occurred_at,
    )
    if flow_run_ids is None:
        queries = [select(*columns)]
    else:
        ids = sorted(set(flow_run_ids))
        queries = [
            select(*columns).where(RunState.flow_run_id.in_(ids[start : start + IN_BATCH]))
            for start in range(0, len(ids), IN_BATCH)
        ]
    found: dict[str, list[RecordedState]] = {}
    for query in queries:
        for run_id, *state in session.execute(query):
            found.setdefault(run_id, []).append(RecordedState(*state))
    for states in found.values():
        states.sort(key=lambda s: s.occurred_at)
    return found


def last_event_at(session: Session) -> datetime | None:
    """When the latest state the recorder took from an event occurred: where it catches up
    from when it starts again (what an audit fetched may be later than a gap it left)."""
    return session.scalar(select(func.max(RunState.occurred_at)).where(RunState.source == "event"))
