"""The PMO's stakeholder engagement policy: `process_library/communication.yaml`.

The power/interest quadrants, how to engage each and what its people are sent, are
methodology; projects derive their communication plan from this file and their brief.
"""

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from process_library.errors import LifecycleError
from process_library.loader import describe_validation_error, read_yaml

POLICY_FILE = Path(__file__).parent / "communication.yaml"
Level = Literal["low", "medium", "high"]
Half = Literal["low", "high"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Message(_Strict):
    what: str
    frequency: str
    channel: str
    document: str | None = Field(
        default=None,
        description="A document pmo-flows mails to these people whenever it is written "
        "(e.g. status-report).",
    )


class GateMessage(_Strict):
    what: str
    channel: str


class Quadrant(_Strict):
    """One quarter of the power/interest grid."""

    name: str
    influence: Half
    interest: Half
    approach: str
    messages: tuple[Message, ...] = Field(min_length=1)


class CommunicationPolicy(_Strict):
    high_levels: tuple[Level, ...] = Field(min_length=1)
    quadrants: tuple[Quadrant, ...] = Field(min_length=4, max_length=4)
    gate_message: GateMessage

    @model_validator(mode="after")
    def _every_quadrant_once(self) -> "CommunicationPolicy":
        cells = {(q.influence, q.interest) for q in self.quadrants}
        if len(cells) != 4:
            raise ValueError("quadrants must cover each influence/interest pair exactly once")
        return self

    def half(self, level: Level) -> Half:
        return "high" if level in self.high_levels else "low"

    def quadrant(self, influence: Level, interest: Level) -> Quadrant:
        cell = (self.half(influence), self.half(interest))
        return next(q for q in self.quadrants if (q.influence, q.interest) == cell)


def load_communication_policy(path: Path = POLICY_FILE) -> CommunicationPolicy:
    """The engagement policy, validated; a problem names the file and the field.

    Read afresh each time, like the lifecycles: a PMO's edit counts from the next document.
    """
    _, data = read_yaml(path, LifecycleError)
    try:
        return CommunicationPolicy.model_validate(data)
    except ValidationError as exc:
        raise LifecycleError(str(path), describe_validation_error(exc, data)) from None
