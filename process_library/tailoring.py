"""Tailoring: the lifecycle as one kind of project runs it, and why.

A lifecycle's `tailoring:` rules say what changes for projects of a tier, a category or a
risk level (the documents written, the gate criteria asked, the approvers, how often
status is reported, how wide the tolerances are); each rule gives its reason. `tailor`
applies the rules that match a project and returns what it changed in words, which the
charter shows. The categories a project may name live in `categories.yaml`.
"""

from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from process_library.errors import LifecycleError
from process_library.loader import describe_validation_error, read_yaml
from process_library.schema import (
    DOCUMENT_TITLES,
    Gate,
    Lifecycle,
    Risk,
    Slug,
    Stage,
    StageDocument,
    TailoringRule,
    Tier,
)

CATEGORIES_FILE = Path(__file__).parent / "categories.yaml"
PERCENT_TOLERANCES = (
    "time_percent",
    "cost_percent",
    "scope_percent",
    "quality_percent",
    "benefits_percent",
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Category(_Strict):
    key: Slug
    name: str
    description: str


class Categories(_Strict):
    """The kinds of project a PMO tells apart (a brief's `category`)."""

    categories: tuple[Category, ...] = Field(min_length=1)

    @property
    def keys(self) -> list[str]:
        return [c.key for c in self.categories]


def load_categories(path: Path = CATEGORIES_FILE) -> Categories:
    """The project categories, validated; read afresh, like the communication policy."""
    _, data = read_yaml(path, LifecycleError)
    try:
        categories = Categories.model_validate(data)
    except ValidationError as exc:
        raise LifecycleError(str(path), describe_validation_error(exc, data)) from None
    keys = categories.keys
    if repeated := sorted({k for k in keys if keys.count(k) > 1}):
        raise LifecycleError(f"{path}: categories", f"repeated: {', '.join(repeated)}")
    return categories


@dataclass(frozen=True)
class ProjectFacts:
    """What tailoring looks at: the project's tier, category and risk level."""

    tier: Tier
    category: str | None
    risk: Risk


class TailoringNote(_Strict):
    """One rule that changed the lifecycle for a project: why, and what it changed."""

    rule: str
    why: str
    changes: tuple[str, ...]


def applies(rule: TailoringRule, facts: ProjectFacts) -> bool:
    when = rule.when
    return (
        (not when.tier or facts.tier in when.tier)
        and (not when.category or facts.category in when.category)
        and (not when.risk or facts.risk in when.risk)
    )


def tailor(lifecycle: Lifecycle, facts: ProjectFacts) -> tuple[Lifecycle, list[TailoringNote]]:
    """The lifecycle as this project runs it, and a note for every change.

    Documents a stage names only for other tiers come out first (the rule
    `document-tiers`), then each matching rule applies in the order written. The result
    keeps no rules: they have been applied.
    """
    notes: list[TailoringNote] = []
    stages = list(lifecycle.stages)
    dropped = [
        (stage, document)
        for stage in stages
        for document in stage.documents
        if facts.tier not in document.tiers
    ]
    if dropped:
        stages = list(lifecycle.tailored_for(facts.tier).stages)
        notes.append(
            TailoringNote(
                rule="document-tiers",
                why=f"The lifecycle names these documents for other tiers than {facts.tier}.",
                changes=tuple(
                    f"{_title(d.key)} not written in {s.name} (for tiers {', '.join(d.tiers)})"
                    for s, d in dropped
                ),
            )
        )
    for rule in lifecycle.tailoring:
        if applies(rule, facts):
            stages, changes = _apply(rule, stages)
            notes.append(TailoringNote(rule=rule.key, why=rule.why, changes=tuple(changes)))
    return lifecycle.model_copy(update={"stages": tuple(stages), "tailoring": ()}), notes


def _apply(rule: TailoringRule, stages: list[Stage]) -> tuple[list[Stage], list[str]]:
    changes: list[str] = []
    result = []
    for stage in stages:
        update: dict = {}
        documents = list(stage.documents)
        kept = [d for d in documents if d.key not in rule.drop_documents]
        changes += [
            f"{_title(d.key)} not written in {stage.name}" for d in documents if d not in kept
        ]
        for added in rule.add_documents:
            if added.stage == stage.key and all(d.key != added.key for d in kept):
                kept.append(StageDocument(key=added.key))
                changes.append(f"{_title(added.key)} written in {stage.name}")
        if kept != documents:
            update["documents"] = tuple(kept)
        gate, gate_changes = _tailored_gate(rule, stage.gate, own=True)
        if gate is not stage.gate:
            update["gate"] = gate
        changes += gate_changes
        if stage.exception_gate:
            exception, gate_changes = _tailored_gate(rule, stage.exception_gate, own=False)
            if exception is not stage.exception_gate:
                update["exception_gate"] = exception
            changes += gate_changes
        if stage.change_gate:
            change, gate_changes = _tailored_gate(rule, stage.change_gate, own=False)
            if change is not stage.change_gate:
                update["change_gate"] = change
            changes += gate_changes
        if stage.reporting and rule.reporting_every_days:
            before = stage.reporting.every_days
            if before != rule.reporting_every_days:
                update["reporting"] = stage.reporting.model_copy(
                    update={"every_days": rule.reporting_every_days}
                )
                changes.append(
                    f"{stage.name} reports status every {rule.reporting_every_days} days "
                    f"(instead of {before})"
                )
        if stage.tolerances and rule.tolerance_factor:
            before = stage.tolerances
            factor = rule.tolerance_factor
            tightened = {
                name: min(round(getattr(before, name) * factor, 1), _ceiling(name))
                for name in PERCENT_TOLERANCES
            }
            update["tolerances"] = before.model_copy(update=tightened)
            shown = ", ".join(
                f"{name.removesuffix('_percent')} {getattr(before, name):g}% → {value:g}%"
                for name, value in tightened.items()
            )
            changes.append(f"{stage.name} tolerances times {factor:g}: {shown}")
        result.append(stage.model_copy(update=update) if update else stage)
    return result, changes


def _tailored_gate(rule: TailoringRule, gate: Gate, *, own: bool) -> tuple[Gate, list[str]]:
    changes: list[str] = []
    update: dict = {}
    for kind in ("must_meet", "should_meet"):
        criteria = getattr(gate, kind)
        kept = tuple(c for c in criteria if c.key not in rule.drop_criteria)
        if kept != criteria:
            update[kind] = kept
            changes += [f"{gate.name} does not ask: {c.text}" for c in criteria if c not in kept]
    added = [role for role in rule.add_approvers if role not in gate.approvers] if own else []
    if added:
        update["approvers"] = (*gate.approvers, *added)
        changes.append(f"{gate.name} also needs {', '.join(added)}")
    return (gate.model_copy(update=update) if update else gate), changes


def _ceiling(name: str) -> float:
    return 1000 if name in ("time_percent", "cost_percent") else 100


def _title(key: str) -> str:
    return DOCUMENT_TITLES.get(key, key)
