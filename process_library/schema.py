"""The shape of a lifecycle: what a PMO writes in `process_library/lifecycles/*.yaml`.

The same models validate the YAML, type the flow's code and feed the documents, so a
new stage, gate or criterion is a YAML change and never a new `if` in a flow.
"""

from collections.abc import Mapping, Sequence
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
    "project-brief",
    "project-initiation-request",
    "project-initiation-documentation",
    "project-handbook",
    "release-plan",
    "stage-plan",
    "end-stage-report",
    "release-review",
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
    "project-brief": "Project brief",
    "project-initiation-request": "Project initiation request",
    "project-initiation-documentation": "Project initiation documentation",
    "project-handbook": "Project handbook",
    "release-plan": "Release plan",
    "stage-plan": "Stage plan",
    "end-stage-report": "End stage report",
    "release-review": "Release review",
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
    produced that document), `brief:<field>` (the brief fills that field) or, at a gate
    of a stage that takes the plan, `plan:finish` (the plan finishes by the target end
    date) and `plan:cost` (it costs no more than the budget), shown with the figures. Without
    it the criterion is for the gatekeepers to judge at the review.
    """

    key: Slug
    text: str
    weight: int = Field(default=1, ge=1, le=10)
    evidence: Annotated[
        str | None, StringConstraints(pattern=r"^(document|brief|plan):[a-z0-9_-]+$")
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


class Meeting(_Strict):
    """A gate reviewed in a meeting: the PMO sets its time (`pmo meeting`), and each
    approver gets a calendar invitation with their review link."""

    minutes: int = Field(ge=5, le=480, description="How long the review meeting lasts.")


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
    meeting: Meeting | None = None
    funds_project: bool = Field(
        default=False,
        description="The gate that commits the project's money: its pack shows the project's "
        "place in the portfolio, and a go needs the portfolio policy's funding score.",
    )

    @property
    def scored(self) -> tuple[Criterion, ...]:
        """The should-meet criteria each gatekeeper scores 0 to 10."""
        return self.should_meet

    @property
    def judged(self) -> tuple[Criterion, ...]:
        """The must-meet criteria no evidence settles: each gatekeeper says yes or no."""
        return tuple(c for c in self.must_meet if c.evidence is None)

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


SourceName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=40)]


class Repetition(_Strict):
    """One item a repeated stage runs for: a release, a PRINCE2 management stage.

    A brief lists them under `repetitions: {<source>: [...]}`; a plan's milestones can
    be turned into the same items.
    """

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
    goal: Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)] = Field(
        default="", description="What this repetition must deliver."
    )


class Repeat(_Strict):
    """A stage the project runs once per item of a list it supplies, in order: one
    construction stage per release, one PRINCE2 management stage per stage in the plan."""

    for_each: SourceName | None = Field(
        default=None,
        description="The list in the brief's `repetitions` the stage runs once per item "
        "(e.g. `releases`).",
    )
    min: int = Field(default=1, ge=1, le=50, description="Fewest items a project may give.")
    max: int = Field(default=12, ge=1, le=50, description="Most items a project may give.")

    @model_validator(mode="after")
    def _has_a_source(self) -> "Repeat":
        if self.for_each is None:
            raise ValueError(
                "a repeated stage needs `for_each`: the list in the brief's `repetitions` "
                "it runs once per item (e.g. `for_each: releases`)"
            )
        if self.min > self.max:
            raise ValueError(f"min {self.min} is more than max {self.max}")
        return self


class Occurrence(_Strict):
    """Which repetition of a repeated stage this stage is; set when a project's lifecycle
    is expanded, never written in a lifecycle file."""

    stage: Slug = Field(description="The repeated stage's key in the library.")
    source: SourceName
    number: int = Field(ge=1)
    of: int = Field(ge=1)
    item: Repetition


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
    change_gate: Gate | None = Field(
        default=None,
        description="The gate a change request (`pmo change`) goes to while the stage reports; "
        "its go makes the changed plan the next baseline.",
    )
    repeat: Repeat | None = Field(
        default=None, description="Run the stage once per item of a list the project gives."
    )
    occurrence: Occurrence | None = None
    takes_plan: bool = Field(
        default=False,
        description="The project manager's plan comes in here (the brief's `plan:`, else the "
        "stage waits for it); the gate's go makes it the baseline.",
    )

    @model_validator(mode="after")
    def _reporting_is_complete(self) -> "Stage":
        if self.reporting and (self.tolerances is None or self.exception_gate is None):
            raise ValueError("a stage with reporting needs tolerances and an exception_gate")
        if not self.reporting and (self.tolerances or self.exception_gate):
            raise ValueError("tolerances and exception_gate need reporting on the stage")
        if self.repeat and self.occurrence:
            raise ValueError("a stage is either repeated or one occurrence of a repeated stage")
        if self.takes_plan and self.reporting:
            raise ValueError("a stage either takes the plan or reports against it, not both")
        if self.change_gate and not self.reporting:
            raise ValueError("change_gate needs reporting on the stage: changes come while it runs")
        return self

    def repeated(self, number: int, items: Sequence[Repetition]) -> "Stage":
        """Occurrence `number` (from 1) of this repeated stage, for `items[number - 1]`:
        its own stage and gate keys (`<key>-<n>`), so each is recorded on its own."""
        assert self.repeat is not None and self.repeat.for_each is not None
        item = items[number - 1]

        def numbered(gate: Gate) -> dict:
            return {"key": f"{gate.key}-{number}", "name": f"{gate.name} {number}"}

        update: dict = {
            "key": f"{self.key}-{number}",
            "name": f"{self.name} {number}: {item.name}",
            "gate": self.gate.model_copy(update=numbered(self.gate)),
            "repeat": None,
            "occurrence": Occurrence(
                stage=self.key,
                source=self.repeat.for_each,
                number=number,
                of=len(items),
                item=item,
            ),
        }
        if self.change_gate:
            update["change_gate"] = self.change_gate.model_copy(update=numbered(self.change_gate))
        if self.exception_gate:
            replan = self.exception_gate.replan_stage
            update["exception_gate"] = self.exception_gate.model_copy(
                update={
                    **numbered(self.exception_gate),
                    # re-planning a repetition re-plans that repetition
                    "replan_stage": f"{replan}-{number}" if replan == self.key else replan,
                }
            )
        return self.model_copy(update=update)


Risk = Literal["low", "medium", "high"]


class Condition(_Strict):
    """When a tailoring rule applies: every facet given must match the project (a facet
    lists the values that match it)."""

    tier: tuple[Tier, ...] = ()
    category: tuple[Slug, ...] = ()
    risk: tuple[Risk, ...] = Field(
        default=(), description="The project's risk level: its highest-rated risk."
    )

    @model_validator(mode="after")
    def _names_something(self) -> "Condition":
        if not (self.tier or self.category or self.risk):
            raise ValueError("a rule's `when` needs tier, category or risk")
        return self


class AddedDocument(_Strict):
    stage: Slug
    key: DocumentKey


class TailoringRule(_Strict):
    """How the lifecycle is tailored to a kind of project, and why: the charter lists every
    rule that applied, with its reason."""

    key: Slug
    when: Condition
    why: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
    drop_documents: tuple[DocumentKey, ...] = Field(
        default=(), description="Documents no stage writes for these projects."
    )
    add_documents: tuple[AddedDocument, ...] = Field(
        default=(), description="Documents a stage writes for these projects besides its own."
    )
    drop_criteria: tuple[Slug, ...] = Field(
        default=(), description="Gate criteria (must- or should-meet) not asked of these projects."
    )
    add_approvers: tuple[Slug, ...] = Field(
        default=(), description="Approver roles added to every stage gate."
    )
    reporting_every_days: int | None = Field(
        default=None, ge=1, le=92, description="Status updates this often in reporting stages."
    )
    tolerance_factor: float | None = Field(
        default=None,
        gt=0,
        le=10,
        description="Percent tolerances of reporting stages multiplied by this (0.5 halves them).",
    )

    @model_validator(mode="after")
    def _changes_something(self) -> "TailoringRule":
        changes = (
            self.drop_documents,
            self.add_documents,
            self.drop_criteria,
            self.add_approvers,
            self.reporting_every_days,
            self.tolerance_factor,
        )
        if not any(changes):
            raise ValueError("a tailoring rule must change something")
        return self


class Lifecycle(_Strict):
    """A whole methodology: its stages in order, each closed by a gate."""

    name: Slug
    title: str
    description: str
    stages: tuple[Stage, ...] = Field(min_length=1)
    tailoring: tuple[TailoringRule, ...] = Field(
        default=(), description="How the lifecycle is tailored by tier, category and risk."
    )
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
            ("gate", [g.key for g in self.gates]),
            ("tailoring rule", [r.key for r in self.tailoring]),
        ):
            duplicates = sorted({k for k in keys if keys.count(k) > 1})
            if duplicates:
                raise ValueError(f"{label} keys must be unique, repeated: {', '.join(duplicates)}")
        funding = [g.key for g in self.gates if g.funds_project]
        if len(funding) > 1:
            raise ValueError(
                f"one gate commits the money, not {len(funding)}: {', '.join(funding)}"
            )
        order = [s.key for s in self.stages]
        for index, stage in enumerate(self.stages):
            replan = stage.exception_gate.replan_stage if stage.exception_gate else None
            if replan is not None and replan not in order[: index + 1]:
                raise ValueError(
                    f"stages[{stage.key}].exception_gate.replan_stage '{replan}' must be this "
                    "stage or an earlier one"
                )
            if replan is not None and replan != stage.key and self.stage(replan).repeat:
                raise ValueError(
                    f"stages[{stage.key}].exception_gate.replan_stage '{replan}' is a repeated "
                    "stage: which of its repetitions would be re-planned?"
                )
            if stage.repeat:
                clash = [k for k in order if k.removeprefix(f"{stage.key}-").isdigit()]
                if clash:
                    raise ValueError(
                        f"stage key '{clash[0]}' would clash with the repetitions of "
                        f"repeated stage '{stage.key}' ({stage.key}-1, {stage.key}-2, ...)"
                    )
        self._check_tailoring()
        return self

    def _check_tailoring(self) -> None:
        stages = {s.key for s in self.stages}
        written = {d.key for s in self.stages for d in s.documents}
        evidence = {
            c.evidence.removeprefix("document:"): c.key
            for g in self.gates
            for c in (*g.must_meet, *g.should_meet)
            if c.evidence and c.evidence.startswith("document:")
        }
        criteria = {c.key for g in self.gates for c in (*g.must_meet, *g.should_meet)}
        for rule in self.tailoring:
            where = f"tailoring[{rule.key}]"
            for added in rule.add_documents:
                if added.stage not in stages:
                    raise ValueError(f"{where}.add_documents: no stage '{added.stage}'")
            for key in rule.drop_documents:
                if key not in written:
                    raise ValueError(f"{where}.drop_documents: no stage writes '{key}'")
                if key in evidence and evidence[key] not in rule.drop_criteria:
                    raise ValueError(
                        f"{where}.drop_documents: '{key}' is the evidence of criterion "
                        f"'{evidence[key]}'; drop that criterion too"
                    )
            for key in rule.drop_criteria:
                if key not in criteria:
                    raise ValueError(f"{where}.drop_criteria: no gate has criterion '{key}'")

    @property
    def gates(self) -> list[Gate]:
        """Every gate: each stage's own, then its exception and change gates if it has them."""
        return [g for s in self.stages for g in (s.gate, s.exception_gate, s.change_gate) if g]

    @property
    def escalation_addresses(self) -> tuple[str, ...]:
        return self.escalation_contacts or self.pmo_contacts

    @property
    def approver_roles(self) -> set[str]:
        return {role for gate in self.gates for role in gate.approvers}

    @property
    def repeated_stages(self) -> list[Stage]:
        return [s for s in self.stages if s.repeat]

    def stage(self, key: str) -> Stage:
        return next(s for s in self.stages if s.key == key)

    def expanded(self, repetitions: Mapping[str, Sequence[Repetition]]) -> "Lifecycle":
        """The lifecycle with each repeated stage replaced by one stage per item of its
        source, in order; the caller has checked that each source has min to max items."""
        stages: list[Stage] = []
        for stage in self.stages:
            if stage.repeat is None:
                stages.append(stage)
                continue
            items = repetitions[stage.repeat.for_each or ""]
            stages += [stage.repeated(n, items) for n in range(1, len(items) + 1)]
        return self.model_copy(update={"stages": tuple(stages)})

    def tailored_for(self, tier: Tier) -> "Lifecycle":
        """The lifecycle as a project of this tier runs it: documents it does not need dropped."""
        stages = tuple(
            stage.model_copy(
                update={"documents": tuple(d for d in stage.documents if tier in d.tiers)}
            )
            for stage in self.stages
        )
        return self.model_copy(update={"stages": stages})
