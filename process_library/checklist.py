"""Audit checklists: `process_library/checklists/*.yaml`, the questions a PMO audit asks."""

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from process_library.errors import LifecycleError
from process_library.loader import describe_validation_error, read_yaml
from process_library.schema import Slug

CHECKLIST_DIR = Path(__file__).parent / "checklists"
FindingType = Literal["control gap", "evidence gap", "delivery risk"]
# Facts of the run's record a question may be answered from; pmo/audit/checklist.py computes each.
RecordCheck = Literal[
    "first-gate-approved",
    "gate-decisions-recorded",
    "decisions-segregated",
    "refusals-recorded",
    "setbacks-explained",
    "risks-owned",
    "risk-responses-planned",
    "decided-by-gate-approvers",
    "run-moved-by-gates",
    "run-alive",
    "gates-within-sla",
    "documents-intact",
    "funding-gate-scored",
]
Check = Annotated[str, StringConstraints(pattern=r"^(document|brief|record):[a-z0-9_-]+$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Question(_Strict):
    question: str
    evidence: str = Field(description="What the auditor looks at.")
    check: Check | None = Field(
        default=None, description="How pmo-flows answers it; without it, left to the auditor."
    )
    finding: FindingType = Field(description="What kind of finding a 'No' is.")

    @property
    def record_check(self) -> str | None:
        kind, _, name = (self.check or "").partition(":")
        return name if kind == "record" else None


class Area(_Strict):
    key: Slug
    name: str
    questions: tuple[Question, ...] = Field(min_length=1)


class Checklist(_Strict):
    name: Slug
    title: str
    areas: tuple[Area, ...] = Field(min_length=1)


def load_checklist(name: str, folder: Path = CHECKLIST_DIR) -> Checklist:
    """The checklist called `name`, validated; a problem names the file and the field."""
    path = folder / f"{name}.yaml"
    if not path.is_file():
        raise LifecycleError("checklist", f"unknown audit checklist '{name}' ({path} is missing)")
    _, data = read_yaml(path, LifecycleError)
    try:
        checklist = Checklist.model_validate(data)
    except ValidationError as exc:
        raise LifecycleError(str(path), describe_validation_error(exc, data)) from None
    known = set(RecordCheck.__args__)
    for area in checklist.areas:
        for number, question in enumerate(area.questions):
            if question.record_check is not None and question.record_check not in known:
                raise LifecycleError(
                    f"{path}: areas[{area.key}].questions[{number}].check",
                    f"unknown record check '{question.record_check}' "
                    f"(known: {', '.join(sorted(known))})",
                )
    return checklist
