"""The project brief: what a project manager supplies to start a lifecycle.

Its YAML keys are a public format (DESIGN.md); the same model is the parameter of the
`project-lifecycle` deployment, so the Prefect UI draws it as a form.
"""

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from pmo.errors import BriefError
from process_library.loader import describe_validation_error, read_yaml
from process_library.schema import Email, Lifecycle, Tier

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Level = Literal["low", "medium", "high"]


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Person(_Part):
    name: Text = Field(description="Full name.")
    email: Email = Field(description="Work email address.")


class Stakeholder(Person):
    role: Text = Field(description="Their role towards the project (Sponsor, End users...).")
    influence: Level = Field(default="medium", description="Power over the project.")
    interest: Level = Field(default="medium", description="How much the outcome affects them.")


class Risk(_Part):
    description: Text = Field(description="What might happen.")
    probability: Level = Field(default="medium", description="How likely it is.")
    impact: Level = Field(default="medium", description="How bad it would be.")
    owner: Email = Field(description="Email of the person who manages this risk.")
    response: str = Field(default="", description="Planned response, if already known.")


class Dependency(_Part):
    description: Text = Field(description="What the project needs from outside itself.")
    owner: Email = Field(description="Email of the person who delivers or chases it.")
    needed_by: date | None = Field(default=None, description="When the project needs it.")


class ProjectBrief(_Part):
    """A project's brief: who, why, what, how much, by when, and who approves its gates."""

    key: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9-]{0,39}$")] = Field(
        description="Unique project key: letters, digits and dashes (e.g. APOLLO)."
    )
    name: Text = Field(description="Project name.")
    purpose: Text = Field(description="Why the project exists, in a paragraph.")
    objectives: list[Text] = Field(min_length=1, description="Measurable objectives.")
    scope_in: list[Text] = Field(default_factory=list, description="What is in scope.")
    scope_out: list[Text] = Field(default_factory=list, description="What is explicitly out.")
    requirements: list[Text] = Field(
        default_factory=list, description="High-level requirements the deliverables must meet."
    )
    assumptions: list[Text] = Field(
        default_factory=list, description="What the plan takes to be true without proof."
    )
    constraints: list[Text] = Field(
        default_factory=list, description="Limits the project must work within."
    )
    sponsor: Person = Field(description="Accountable for the business case.")
    project_manager: Person = Field(description="Runs the project day to day.")
    budget: Decimal = Field(ge=0, description="Approved budget.")
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] = Field(
        default="USD", description="ISO 4217 currency code."
    )
    start_date: date = Field(description="Planned start.")
    target_end_date: date = Field(description="Planned finish; after the start date.")
    tier: Tier = Field(default="medium", description="Size class: tailors documents and gates.")
    stakeholders: list[Stakeholder] = Field(default_factory=list)
    risks: list[Risk] = Field(default_factory=list)
    dependencies: list[Dependency] = Field(default_factory=list)
    approvers: dict[
        Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]*$")],
        list[Email],
    ] = Field(description="Gate role -> approvers' emails; roles come from the lifecycle's gates.")

    @field_validator("target_end_date")
    @classmethod
    def _ends_after_start(cls, end: date, info: ValidationInfo) -> date:
        start = info.data.get("start_date")
        if start is not None and end <= start:
            raise ValueError(f"{end} must be after start_date {start}")
        return end

    def check_against(self, lifecycle: Lifecycle, source: str = "brief") -> None:
        """Refuse a brief that cannot run this lifecycle: a gate role with nobody to fill it."""
        gates = [g for stage in lifecycle.stages for g in (stage.gate, stage.exception_gate) if g]
        for gate in gates:
            for role in gate.approvers:
                people = self.approvers.get(role, [])
                if not people:
                    raise BriefError(
                        f"{source}: approvers.{role}",
                        f"lifecycle '{lifecycle.name}' gate '{gate.key}' needs at least one "
                        f"'{role}' approver",
                    )
                if not gate.allow_project_manager and people == [self.project_manager.email]:
                    raise BriefError(
                        f"{source}: approvers.{role}",
                        f"the project manager cannot be the only '{role}' approver of gate "
                        f"'{gate.key}' (segregation of duties)",
                    )


def parse_brief(data: object, source: str = "brief") -> ProjectBrief:
    """Validate brief data; a problem names the source and the field."""
    if not isinstance(data, dict):
        raise BriefError(source, "must be a YAML mapping of brief fields (key, name, ...)")
    try:
        return ProjectBrief.model_validate(data)
    except ValidationError as exc:
        raise BriefError(source, describe_validation_error(exc, data)) from None


def load_brief(path: Path) -> ProjectBrief:
    """Read and validate a brief from a YAML file."""
    _, data = read_yaml(path, BriefError)
    return parse_brief(data, str(path))


EXAMPLE_BRIEF = Path(__file__).parent / "examples" / "apollo.yaml"
