"""The shape of a lifecycle: what a PMO writes in `process_library/lifecycles/*.yaml`.

The same models validate the YAML, type the flow's code and feed the documents, so a
new stage, gate or criterion is a YAML change and never a new `if` in a flow.
"""

from functools import lru_cache
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


@lru_cache(maxsize=8192)  # an audit reads the same people's addresses in every brief
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
    "exception-report": "Exception report",
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


class Reporting(_Strict):
    """How often the project manager reports status while the stage runs.

    An update is due `every_days` after the stage started or the last update; past
    `remind_after_days` more (the grace) the project manager is reminded, once a period.
    """

    every_days: int = Field(ge=1, le=92, description="Days between status updates.")
    remind_after_days: int = Field(
        default=2, ge=0, le=31, description="Grace after the due date before a reminder."
    )


class Tolerances(_Strict):
    """PRINCE2 stage tolerances: how far the forecast may stray before it is an exception.

    Each is the forecast's permitted variance from the baseline: time as a share of the
    planned duration (forecast finish past the baseline end), cost as a share of the
    budget (forecast cost over it), scope, quality and benefits as the share the project
    manager forecasts to change, be missed or fall short, risk as the highest rating a
    risk may have (probability x impact, 1 to 9).
    """

    time_percent: float = Field(ge=0, le=1000)
    cost_percent: float = Field(ge=0, le=1000)
    scope_percent: float = Field(ge=0, le=100)
    quality_percent: float = Field(ge=0, le=100)
    benefits_percent: float = Field(ge=0, le=100)
    risk_score: int = Field(ge=1, le=9)


class Rag(_Strict):
    """How a forecast is coloured against its tolerance: Red past the tolerance, Amber
    once it uses `amber_share` of it, Green otherwise; the overall status is the worst."""

    amber_share: float = Field(default=0.8, gt=0, lt=1)


class ExceptionGate(Gate):
    """The gate a forecast tolerance breach opens in a reporting stage.

    A go continues the stage with new tolerances (given with the go, e.g.
    `cost_percent: 25`), a recycle goes back to `replan_stage`, a hold waits, a kill
    cancels the project.
    """

    replan_stage: Slug = Field(description="The stage a recycle sends the project back to.")


class Stage(_Strict):
    key: Slug
    name: str
    purpose: str
    activities: tuple[Activity, ...] = ()
    documents: tuple[StageDocument, ...] = ()
    gate: Gate
    reporting: Reporting | None = Field(
        default=None, description="Status updates while the stage runs; none: the stage has none."
    )
    tolerances: Tolerances | None = None
    exception_gate: ExceptionGate | None = None

    @model_validator(mode="after")
    def _reporting_is_complete(self) -> "Stage":
        if self.reporting and (self.tolerances is None or self.exception_gate is None):
            raise ValueError("a stage with reporting needs tolerances and an exception_gate")
        if not self.reporting and (self.tolerances or self.exception_gate):
            raise ValueError("tolerances and exception_gate need reporting on the stage")
        return self


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
    rag: Rag = Rag()

    @model_validator(mode="after")
    def _keys_are_unique(self) -> "Lifecycle":
        for label, keys in (
            ("stage", [s.key for s in self.stages]),
            (
                "gate",
                [s.gate.key for s in self.stages]
                + [s.exception_gate.key for s in self.stages if s.exception_gate],
            ),
        ):
            duplicates = sorted({k for k in keys if keys.count(k) > 1})
            if duplicates:
                raise ValueError(f"{label} keys must be unique, repeated: {', '.join(duplicates)}")
        order = [s.key for s in self.stages]
        for index, stage in enumerate(self.stages):
            if stage.exception_gate and stage.exception_gate.replan_stage not in order[:index]:
                raise ValueError(
                    f"stages[{stage.key}].exception_gate.replan_stage "
                    f"'{stage.exception_gate.replan_stage}' must be an earlier stage"
                )
        return self

    @property
    def escalation_addresses(self) -> tuple[str, ...]:
        return self.escalation_contacts or self.pmo_contacts

    @property
    def approver_roles(self) -> set[str]:
        gates = [g for s in self.stages for g in (s.gate, s.exception_gate) if g]
        return {role for gate in gates for role in gate.approvers}

    def stage(self, key: str) -> Stage:
        return next(s for s in self.stages if s.key == key)

    def tailored_for(self, tier: Tier) -> "Lifecycle":
        """The lifecycle as a project of this tier runs it: documents it does not need dropped."""
        stages = tuple(
            stage.model_copy(
                update={"documents": tuple(d for d in stage.documents if tier in d.tiers)}
            )
            for stage in self.stages
        )
        return self.model_copy(update={"stages": stages})
