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
from pmo.limits import (
    APPROVER_ROLES,
    APPROVERS_PER_ROLE,
    BRIEF_BYTES,
    LIST_ITEMS,
    REGISTER_ROWS,
    REPETITION_LISTS,
    Address,
    Line,
    Name,
    OptionalLine,
    Paragraph,
)
from pmo.plan.model import Plan
from pmo.plan.model import describe as describe_plan_error
from process_library.loader import describe_validation_error, read_yaml
from process_library.schema import Lifecycle, Repetition, Slug, SourceName, Tier

Level = Literal["low", "medium", "high"]


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Person(_Part):
    name: Name = Field(description="Full name.")
    email: Address = Field(description="Work email address.")


class Stakeholder(Person):
    role: Name = Field(description="Their role towards the project (Sponsor, End users...).")
    influence: Level = Field(default="medium", description="Power over the project.")
    interest: Level = Field(default="medium", description="How much the outcome affects them.")


class Risk(_Part):
    description: Line = Field(description="What might happen.")
    probability: Level = Field(default="medium", description="How likely it is.")
    impact: Level = Field(default="medium", description="How bad it would be.")
    owner: Address = Field(description="Email of the person who manages this risk.")
    response: OptionalLine = Field(default="", description="Planned response, if already known.")


class Dependency(_Part):
    description: Line = Field(description="What the project needs from outside itself.")
    owner: Address = Field(description="Email of the person who delivers or chases it.")
    needed_by: date | None = Field(default=None, description="When the project needs it.")


class ProjectBrief(_Part):
    """A project's brief: who, why, what, how much, by when, and who approves its gates."""

    # Limits: each text field takes its type from pmo.limits (Name, Line, Paragraph...) and
    # each list or mapping a max_length from there; give a key added later the same
    # (tests/test_limits.py refuses a field without a limit).
    key: Annotated[
        str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9-]{0,39}$", max_length=40)
    ] = Field(description="Unique project key: letters, digits and dashes (e.g. APOLLO).")
    name: Name = Field(description="Project name.")
    purpose: Paragraph = Field(description="Why the project exists, in a paragraph.")
    objectives: list[Line] = Field(
        min_length=1, max_length=LIST_ITEMS, description="Measurable objectives."
    )
    scope_in: list[Line] = Field(
        default_factory=list, max_length=LIST_ITEMS, description="What is in scope."
    )
    scope_out: list[Line] = Field(
        default_factory=list, max_length=LIST_ITEMS, description="What is explicitly out."
    )
    requirements: list[Line] = Field(
        default_factory=list,
        max_length=LIST_ITEMS,
        description="High-level requirements the deliverables must meet.",
    )
    assumptions: list[Line] = Field(
        default_factory=list,
        max_length=LIST_ITEMS,
        description="What the plan takes to be true without proof.",
    )
    constraints: list[Line] = Field(
        default_factory=list,
        max_length=LIST_ITEMS,
        description="Limits the project must work within.",
    )
    sponsor: Person = Field(description="Accountable for the business case.")
    project_manager: Person = Field(description="Runs the project day to day.")
    budget: Decimal = Field(ge=0, max_digits=18, description="Approved budget.")
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$", max_length=3)] = Field(
        default="USD", description="ISO 4217 currency code."
    )
    start_date: date = Field(description="Planned start.")
    target_end_date: date = Field(description="Planned finish; after the start date.")
    tier: Tier = Field(default="medium", description="Size class: tailors documents and gates.")
    category: Slug | None = Field(
        default=None,
        description="Kind of project (process_library/categories.yaml, e.g. mandatory, grow, "
        "run): tailors the lifecycle.",
    )
    strategic_objectives: list[Slug] = Field(
        default_factory=list,
        max_length=LIST_ITEMS,
        description="Keys of the strategic objectives it serves (process_library/portfolio.yaml).",
    )
    benefits: Decimal | None = Field(
        default=None,
        ge=0,
        max_digits=18,
        description="Expected benefits, as a value in the project's currency.",
    )
    stakeholders: list[Stakeholder] = Field(default_factory=list, max_length=REGISTER_ROWS)
    risks: list[Risk] = Field(default_factory=list, max_length=REGISTER_ROWS)
    dependencies: list[Dependency] = Field(default_factory=list, max_length=REGISTER_ROWS)
    repetitions: dict[SourceName, Annotated[list[Repetition], Field(max_length=LIST_ITEMS)]] = (
        Field(
            default_factory=dict,
            max_length=REPETITION_LISTS,
            description="What repeated stages run once each, in order: e.g. `releases` for "
            "hybrid agile, `management_stages` for PRINCE2 (each a name and a goal).",
        )
    )
    plan: Plan | None = Field(
        default=None,
        description="The plan (work packages, calendar, milestones) when the brief brings one; "
        "otherwise planning waits for the project manager's. Its start defaults to start_date.",
    )
    approvers: dict[
        Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$")],
        Annotated[list[Address], Field(max_length=APPROVERS_PER_ROLE)],
    ] = Field(
        max_length=APPROVER_ROLES,
        description="Gate role -> approvers' emails; roles come from the lifecycle's gates.",
    )

    @field_validator("stakeholders")
    @classmethod
    def _each_stakeholder_once(cls, people: list[Stakeholder]) -> list[Stakeholder]:
        first: dict[str, int] = {}
        for number, person in enumerate(people, start=1):
            if person.email in first:
                raise ValueError(
                    f"{person.email} is listed as stakeholders {first[person.email]} and "
                    f"{number}; a person appears once (give them one role)"
                )
            first[person.email] = number
        return people

    @field_validator("approvers")
    @classmethod
    def _each_approver_once_per_role(cls, roles: dict[str, list[str]]) -> dict[str, list[str]]:
        for role, people in roles.items():
            if twice := sorted({p for p in people if people.count(p) > 1}):
                raise ValueError(f"{role}: {', '.join(twice)} is listed more than once")
        return roles

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
        if exc.errors()[0]["loc"][:1] == ("plan",):
            # A plan's work packages are named by position, as in a plan file.
            raise BriefError(source, describe_plan_error(exc)) from None
        raise BriefError(source, describe_validation_error(exc, data)) from None


def load_brief(path: Path) -> ProjectBrief:
    """Read and validate a brief from a YAML file (at most `BRIEF_BYTES`)."""
    try:
        size = path.stat().st_size
    except OSError:
        size = 0  # read_yaml says why it cannot be read
    if size > BRIEF_BYTES:
        raise BriefError(
            str(path), f"is {size:,} bytes; a brief may be at most {BRIEF_BYTES:,} bytes"
        )
    _, data = read_yaml(path, BriefError)
    return parse_brief(data, str(path))


EXAMPLE_BRIEF = Path(__file__).parent / "examples" / "apollo.yaml"
