"""A stage's activities are the PMO's guidance: done only when the project manager
confirms them with the stage's input (the plan, a status update)."""

from collections.abc import Sequence

from sqlalchemy.orm import Session

from pmo.errors import PmoInputError
from pmo.store.models import StageRun
from pmo.store.records import ensure_activity
from process_library.schema import Stage


def check_confirmed(
    stage: Stage, confirmed: Sequence[str], refusal: type[PmoInputError]
) -> list[str]:
    """The activity keys confirmed done, each one of the stage's; `refusal` otherwise."""
    known = [activity.key for activity in stage.activities]
    for index, key in enumerate(confirmed):
        if key not in known:
            raise refusal(
                f"confirmed_activities[{index}]",
                f"'{key}' is not an activity of {stage.name} ({', '.join(known) or 'none'})",
            )
    return list(dict.fromkeys(confirmed))


def record_confirmed(
    session: Session, *, stage_run: StageRun, stage: Stage, confirmed: Sequence[str]
) -> None:
    """Record the activities the project manager confirmed done (once each, with when):
    the `activities` table holds these and nothing the system assumed."""
    names = {activity.key: activity.name for activity in stage.activities}
    for key in confirmed:
        ensure_activity(session, stage_run=stage_run, activity_key=key, name=names[key])
