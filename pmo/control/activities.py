"""A stage's activities are the PMO's guidance: done only when the project manager
confirms them with the stage's input (the plan, a status update)."""

from collections.abc import Sequence

from pmo.errors import PmoInputError
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
