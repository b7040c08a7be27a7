"""The shape of a lifecycle: what a PMO writes in `process_library/lifecycles/*.yaml`.

The same models validate the YAML, type the flow's code and feed the documents, so a
new stage, gate or criterion is a YAML change and never a new `if` in a flow.
"""

from typing import Annotated, Literal

from email_validator import EmailNotValidError, validate_email
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=60)]
Tier = Literal["small", "medium", "large"]
Decision = Literal["go", "kill", "hold", "recycle"]
ALL_TIERS: tuple[Tier, ...] = ("small", "medium", "large")


def checked_email(value: str) -> str:
    """Every address pmo-flows accepts goes through email-validator (no DNS lookup)."""
    try:
        return validate_email(value, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise ValueError(f"'{value}' is not a valid email address: {exc}") from None


Email = Annotated[str, AfterValidator(checked_email)]

# Stage documents a lifecycle may name; each is one template `templates/<key>.md.j2`.
DocumentKey = Literal[
    "charter",
    "stakeholder-register",
    "communication-plan",
    "raid-log",
    "plan-summary",
    "plan-baseline",
    "deliverables",
    "status-report",
    "business-case",
    "lessons-learned",
    "closure-report",
    "audit-checklist",
]
DOCUMENT_TITLES: dict[str, str] = {
    "charter": "Project charter",
    "stakeholder-register": "Stakeholder register",
    "communication-plan": "Communication plan",
    "raid-log": "RAID log",
    "plan-summary": "Plan summary",
    "plan-baseline": "Project plan baseline",
    "deliverables": "Deliverables register",
    "status-report": "Status report",
    "business-case": "Business case",
    "lessons-learned": "Lessons-learned report",
    "closure-report": "Closure report",
    "audit-checklist": "Audit checklist",
    "gate-review": "Gate review pack",
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Activity(_Strict):
    """A piece of work a stage carries out; recorded as a task run and in the store."""

    key: Slug
    name: str
    description: str = ""


class StageDocument(_Strict):
    """A document a stage produces, and the project tiers that need it."""

    key: DocumentKey
    tiers: tuple[Tier, ...] = ALL_TIERS


class Criterion(_Strict):
    """A gate criterion: must-meet ones knock out, should-meet ones are weighted.

    `evidence` names what the system can check itself: `document:<key>` (the stage
    produced that document) or `brief:<field>` (the brief fills that field). Without
    it the criterion is for the gatekeepers to judge at the review.
    """

    key: Slug
    text: str
    weight: int = Field(default=1, ge=1, le=10)
    evidence: Annotated[
        str | None, StringConstraints(pattern=r"^(document|brief):[a-z0-9_-]+$")
    ] = None


Quorum = Literal["all", "any", "majority"] | Annotated[int, Field(ge=1)]


class Timing(_Strict):
    """How long a gate may wait, and what happens when it waits too long.

    Past `remind_after_hours` the approvers who have not answered get a reminder with a
    fresh code; past `sla_hours` the lifecycle's escalation contacts are told and the
    `on_timeout` policy, if any, decides in the approvers' place (recorded as the policy's
    decision, never as a person's).
    """

    remind_after_hours: float | None = Field(default=None, gt=0)
    sla_hours: float | None = Field(default=None, gt=0)
    on_timeout: Decision | None = Field(
        default=None, description="Decision applied at the SLA; none leaves the gate waiting."
    )

    @model_validator(mode="after")
    def _policy_needs_sla(self) -> "Timing":
        if self.on_timeout and self.sla_hours is None:
            raise ValueError("on_timeout needs sla_hours: the policy applies when the SLA passes")
        if self.remind_after_hours and self.sla_hours and self.remind_after_hours >= self.sla_hours:
            raise ValueError("remind_after_hours must come before sla_hours")
        return self


class Gate(_Strict):
    """The decision point that closes a stage."""

    key: Slug
    name: str
    approvers: tuple[Slug, ...] = Field(min_length=1, description="Approver roles.")
    decisions: tuple[Decision, ...] = ("go", "kill", "hold", "recycle")
    quorum: Quorum = "all"
    allow_project_manager: bool = Field(
        default=False, description="May the project manager approve their own gate?"
    )
    must_meet: tuple[Criterion, ...] = ()
    should_meet: tuple[Criterion, ...] = ()
    timing: Timing = Timing()

    @model_validator(mode="after")
    def _go_is_possible(self) -> "Gate":
        if "go" not in self.decisions:
            raise ValueError("a gate must allow 'go', or no project could ever pass it")
        if self.timing.on_timeout and self.timing.on_timeout not in self.decisions:
            raise ValueError(f"timing.on_timeout '{self.timing.on_timeout}' is not in decisions")
        return self


class Stage(_Strict):
    key: Slug
    name: str
    purpose: str
    activities: tuple[Activity, ...] = ()
    documents: tuple[StageDocument, ...] = ()
    gate: Gate


class Lifecycle(_Strict):
    """A whole methodology: its stages in order, each closed by a gate."""

    name: Slug
    title: str
    description: str
    stages: tuple[Stage, ...] = Field(min_length=1)
    cancellation_documents: tuple[DocumentKey, ...] = Field(
        default=("lessons-learned", "closure-report"),
        description="Documents still produced when a gate kills the project.",
    )
    audit_checklist: Slug = Field(
        default="project-audit",
        description="The checklist (`process_library/checklists/<name>.yaml`) audits answer.",
    )
    pmo_contacts: tuple[Email, ...] = Field(
        default=(), description="The PMO's addresses: told when a gate locks after wrong codes."
    )
    escalation_contacts: tuple[Email, ...] = Field(
        default=(), description="Told when a gate passes its SLA; the PMO contacts when empty."
    )

    @model_validator(mode="after")
    def _keys_are_unique(self) -> "Lifecycle":
        for label, keys in (
            ("stage", [s.key for s in self.stages]),
            ("gate", [s.gate.key for s in self.stages]),
        ):
            duplicates = sorted({k for k in keys if keys.count(k) > 1})
            if duplicates:
                raise ValueError(f"{label} keys must be unique, repeated: {', '.join(duplicates)}")
        return self

    @property
    def escalation_addresses(self) -> tuple[str, ...]:
        return self.escalation_contacts or self.pmo_contacts

    @property
    def approver_roles(self) -> set[str]:
        return {role for stage in self.stages for role in stage.gate.approvers}

    def tailored_for(self, tier: Tier) -> "Lifecycle":
        """The lifecycle as a project of this tier runs it: documents it does not need dropped."""
        stages = tuple(
            stage.model_copy(
                update={"documents": tuple(d for d in stage.documents if tier in d.tiers)}
            )
            for stage in self.stages
        )
        return self.model_copy(update={"stages": stages})
