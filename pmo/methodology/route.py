"""Where a project goes next in its lifecycle, read from its record.

The flow asks before every stage, so a run that starts again from the top (a resume)
goes straight to the stage attempt it was in, and a project moved onto another version
between two stages goes on in that version. A stage attempt runs wholly under the
version it started under; the version pinned last governs every attempt after it.
"""

from dataclasses import dataclass

from sqlalchemy.orm import Session

from pmo.store.lifecycles import Pin, counterpart, pin_of, pins
from pmo.store.models import Project, StageRun
from pmo.store.records import project_stage_runs
from process_library.loader import LoadedLifecycle
from process_library.schema import Stage

UNDER_WAY = (
    "in-progress",
    "planning",
    "reporting",
    "at-gate",
    "at-exception-gate",
    "at-change-gate",
)


@dataclass(frozen=True)
class Step:
    """A stage attempt to run, and the lifecycle version it runs under."""

    lifecycle: LoadedLifecycle
    stage: Stage
    attempt: int


def loaded(pin: Pin) -> LoadedLifecycle:
    return LoadedLifecycle(pin.parsed, pin.version)


def next_step(session: Session, *, project: Project) -> Step | None:
    """The stage attempt the project runs next; None once its last stage has passed.

    An attempt under way (or killed: the flow closes the project from its verdict) is
    run again where it stands; after a go the next stage follows, after a recycle the
    stage again, after an exception gate's recycle the stage it re-plans from, each in
    the version pinned last, through the key mappings of any migration since.
    """
    pinned = pins(session, project=project)
    current = pinned[-1]
    runs = project_stage_runs(session, project=project)
    if not runs:
        return Step(loaded(current), current.parsed.stages[0], 1)
    last = runs[-1]
    if last.status in UNDER_WAY or last.status == "killed":
        pin = pin_of(pinned, last.lifecycle_version)
        return Step(loaded(pin), pin.parsed.stage(last.stage_key), last.attempt)
    stages = current.parsed.stages
    if last.status == "replanned":
        ran_under = pin_of(pinned, last.lifecycle_version).parsed.stage(last.stage_key)
        assert ran_under.exception_gate is not None
        key = counterpart(pinned, ran_under.exception_gate.replan_stage, last.lifecycle_version)
        return _attempt(current, runs, current.parsed.stage(key))
    key = counterpart(pinned, last.stage_key, last.lifecycle_version)
    if last.status == "recycled":
        return _attempt(current, runs, current.parsed.stage(key))
    index = [s.key for s in stages].index(key)
    return _attempt(current, runs, stages[index + 1]) if index + 1 < len(stages) else None


def _attempt(pin: Pin, runs: list[StageRun], stage: Stage) -> Step:
    attempts = [r.attempt for r in runs if r.stage_key == stage.key]
    return Step(loaded(pin), stage, max(attempts, default=0) + 1)
