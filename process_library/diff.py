"""What changed between two versions of a lifecycle, in a PMO's words.

`diff_lifecycles(old, new)` compares stages (added, removed, moved, repeated), their
purpose, activities, documents, reporting and tolerances, every gate, exception gate and
change gate (approver roles, quorum, decisions, timing, must- and should-meet criteria),
the tailoring rules and the lifecycle's own settings. Each change is one line a PMO can
read aloud ("Gate Plan approval: quorum all → majority"), with what it was and what it is.
"""

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any, Literal

from process_library.loader import LoadedLifecycle
from process_library.schema import DOCUMENT_TITLES, Criterion, Gate, Lifecycle, Stage

Kind = Literal["added", "removed", "changed"]


@dataclass(frozen=True)
class Change:
    """One difference: `area` is what kind of thing changed (stage, gate, criterion,
    approvers, quorum, timing, documents, tolerances, ...), `where` the stage or gate it
    belongs to, `what` the sentence a PMO reads."""

    kind: Kind
    area: str
    where: str
    what: str
    before: Any = None
    after: Any = None

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def diff_lifecycles(old: Lifecycle, new: Lifecycle) -> list[Change]:
    """Every difference between two lifecycles, in the order a PMO reads the lifecycle."""
    changes = list(_settings(old, new))
    old_stages = {s.key: s for s in old.stages}
    new_stages = {s.key: s for s in new.stages}
    new_order = [s.key for s in new.stages]
    for index, stage in enumerate(new.stages):
        if stage.key not in old_stages:
            after = f"after {new.stages[index - 1].name}" if index else "first"
            changes.append(
                Change(
                    "added",
                    "stage",
                    stage.name,
                    f"New stage {stage.name} ({stage.key}), {after}, closed by gate "
                    f"{stage.gate.name} ({', '.join(stage.gate.approvers)})",
                    after=stage.key,
                )
            )
    for stage in old.stages:
        if stage.key not in new_stages:
            changes.append(
                Change(
                    "removed",
                    "stage",
                    stage.name,
                    f"Stage {stage.name} ({stage.key}) removed, with its gate {stage.gate.name}",
                    before=stage.key,
                )
            )
    kept_old = [k for k in (s.key for s in old.stages) if k in new_stages]
    kept_new = [k for k in new_order if k in old_stages]
    if kept_old != kept_new:
        changes.append(
            Change(
                "changed",
                "stage order",
                new.name,
                f"Stages reordered: {' → '.join(kept_old)} is now {' → '.join(kept_new)}",
                before=kept_old,
                after=kept_new,
            )
        )
    for key in kept_new:
        changes += _stage(old_stages[key], new_stages[key])
    changes += _tailoring(old, new)
    return changes


def _settings(old: Lifecycle, new: Lifecycle) -> Iterable[Change]:
    where = new.title
    for field, label in (
        ("title", "Title"),
        ("audit_checklist", "Audit checklist"),
    ):
        if getattr(old, field) != getattr(new, field):
            before, after = getattr(old, field), getattr(new, field)
            yield Change("changed", field, where, f"{label}: {before} → {after}", before, after)
    if old.description != new.description:
        yield Change("changed", "description", where, "Description reworded")
    for field, label in (
        ("pmo_contacts", "PMO contacts"),
        ("escalation_contacts", "Escalation contacts"),
    ):
        yield from _members(
            getattr(old, field), getattr(new, field), field, where, f"{label}: {{}} {{}}"
        )
    if old.cancellation_documents != new.cancellation_documents:
        yield Change(
            "changed",
            "documents",
            where,
            "Documents written when a project is killed: "
            f"{_titles(old.cancellation_documents)} → {_titles(new.cancellation_documents)}",
            list(old.cancellation_documents),
            list(new.cancellation_documents),
        )
    if old.rag != new.rag:
        yield Change(
            "changed",
            "tolerances",
            where,
            f"Amber from {old.rag.amber_share:.0%} of a tolerance → {new.rag.amber_share:.0%}",
            old.rag.amber_share,
            new.rag.amber_share,
        )


def _stage(old: Stage, new: Stage) -> list[Change]:
    where = f"stage {new.name}"
    changes: list[Change] = []
    if old.name != new.name:
        changes.append(Change("changed", "stage", where, f"Stage {old.name} renamed {new.name}"))
    if old.purpose != new.purpose:
        changes.append(
            Change(
                "changed",
                "purpose",
                where,
                f"{new.name}: purpose reworded",
                old.purpose,
                new.purpose,
            )
        )
    changes += _activities(old, new, where)
    changes += _documents(old, new, where)
    changes += _repeat(old, new, where)
    changes += _reporting(old, new, where)
    changes += _gate(old.gate, new.gate, "gate")
    for field, kind, goes_to in SIDE_GATES:
        changes += _side_gate(getattr(old, field), getattr(new, field), kind, goes_to, new.name)
    return changes


# The gates a reporting stage holds beside its own: what takes a matter to each.
SIDE_GATES = (
    ("exception_gate", "exception gate", "a forecast breach of tolerance"),
    ("change_gate", "change gate", "a change request"),
)


def _side_gate(
    old: Gate | None, new: Gate | None, kind: str, goes_to: str, stage: str
) -> list[Change]:
    where = f"stage {stage}"
    if old is None and new is None:
        return []
    if old is None:
        approvers = ", ".join(new.approvers)
        text = f"{stage}: {goes_to} now goes to {new.name} ({approvers})"
        return [Change("added", kind, where, text)]
    if new is None:
        return [Change("removed", kind, where, f"{stage}: {kind} {old.name} removed")]
    changes = _gate(old, new, kind)
    before, after = getattr(old, "replan_stage", None), getattr(new, "replan_stage", None)
    if before != after:
        changes.append(
            Change(
                "changed",
                kind,
                where,
                f"{new.name}: a recycle re-plans from {after} (was {before})",
                before,
                after,
            )
        )
    return changes


def _activities(old: Stage, new: Stage, where: str) -> list[Change]:
    before = {a.key: a for a in old.activities}
    after = {a.key: a for a in new.activities}
    changes = [
        Change("added", "activity", where, f"{new.name}: new activity {a.name}", after=a.key)
        for key, a in after.items()
        if key not in before
    ]
    changes += [
        Change("removed", "activity", where, f"{new.name}: activity {a.name} removed", before=a.key)
        for key, a in before.items()
        if key not in after
    ]
    changes += [
        Change("changed", "activity", where, f"{new.name}: activity {a.name} reworded")
        for key, a in after.items()
        if key in before and before[key] != a
    ]
    return changes


def _documents(old: Stage, new: Stage, where: str) -> list[Change]:
    before = {d.key: d for d in old.documents}
    after = {d.key: d for d in new.documents}
    changes = []
    for key, document in after.items():
        tiers = ", ".join(document.tiers)
        if key not in before:
            changes.append(
                Change(
                    "added",
                    "documents",
                    where,
                    f"{new.name} now writes the {_title(key)} (tiers {tiers})",
                    after=key,
                )
            )
        elif before[key].tiers != document.tiers:
            changes.append(
                Change(
                    "changed",
                    "documents",
                    where,
                    f"{new.name}: {_title(key)} for tiers {', '.join(before[key].tiers)} → {tiers}",
                    list(before[key].tiers),
                    list(document.tiers),
                )
            )
    changes += [
        Change(
            "removed",
            "documents",
            where,
            f"{new.name} no longer writes the {_title(key)}",
            before=key,
        )
        for key in before
        if key not in after
    ]
    return changes


def _repeat(old: Stage, new: Stage, where: str) -> list[Change]:
    if old.repeat == new.repeat:
        return []
    if new.repeat is None:
        return [Change("removed", "repetition", where, f"{new.name} is no longer repeated")]
    text = (
        f"{new.name} runs once per item of {new.repeat.for_each} "
        f"({new.repeat.min} to {new.repeat.max})"
    )
    if old.repeat is None:
        return [Change("added", "repetition", where, f"{text}")]
    return [
        Change(
            "changed",
            "repetition",
            where,
            f"{text}; was per item of {old.repeat.for_each} ({old.repeat.min} to {old.repeat.max})",
        )
    ]


def _reporting(old: Stage, new: Stage, where: str) -> list[Change]:
    changes: list[Change] = []
    if old.reporting != new.reporting:
        if new.reporting is None:
            changes.append(
                Change("removed", "reporting", where, f"{new.name} no longer reports status")
            )
        elif old.reporting is None:
            changes.append(
                Change(
                    "added",
                    "reporting",
                    where,
                    f"{new.name} reports status every {new.reporting.every_days} days",
                )
            )
        else:
            for field, label, unit in (
                ("every_days", "status every", "days"),
                ("remind_after_days", "reminder after", "days past due"),
            ):
                before, after = getattr(old.reporting, field), getattr(new.reporting, field)
                if before != after:
                    changes.append(
                        Change(
                            "changed",
                            "reporting",
                            where,
                            f"{new.name}: {label} {before} → {after} {unit}",
                            before,
                            after,
                        )
                    )
    if old.tolerances != new.tolerances and old.tolerances and new.tolerances:
        for field, value in new.tolerances.model_dump().items():
            before = getattr(old.tolerances, field)
            if before != value:
                label = field.replace("_percent", "").replace("_", " ")
                unit = "" if field == "risk_score" else " %"
                changes.append(
                    Change(
                        "changed",
                        "tolerances",
                        where,
                        f"{new.name}: {label} tolerance {before:g}{unit} → {value:g}{unit}",
                        before,
                        value,
                    )
                )
    elif new.tolerances and not old.tolerances:
        changes.append(Change("added", "tolerances", where, f"{new.name} has tolerances now"))
    return changes


def _gate(old: Gate, new: Gate, kind: str) -> list[Change]:
    where = f"{kind} {new.name}"
    label = f"{kind.capitalize()} {new.name}"
    changes: list[Change] = []
    if old.key != new.key or old.name != new.name:
        changes.append(
            Change(
                "changed",
                kind,
                where,
                f"{label}: was {old.name} ({old.key})",
                old.key,
                new.key,
            )
        )
    changes += _members(
        old.approvers, new.approvers, "approvers", where, f"{label}: approver role {{}} {{}}"
    )
    for field, text in (
        ("quorum", "quorum for go"),
        ("allow_project_manager", "project manager may approve"),
        ("funds_project", "commits the project's money"),
    ):
        before, after = getattr(old, field), getattr(new, field)
        if before != after:
            changes.append(
                Change(
                    "changed",
                    field.replace("_", " "),
                    where,
                    f"{label}: {text} {before} → {after}",
                    before,
                    after,
                )
            )
    changes += _members(
        old.decisions, new.decisions, "decisions", where, f"{label}: decision {{}} {{}}"
    )
    for field, text, unit in (
        ("remind_after_hours", "reminder after", " h"),
        ("sla_hours", "SLA", " h"),
        ("on_timeout", "at the SLA the policy decides", ""),
    ):
        before, after = getattr(old.timing, field), getattr(new.timing, field)
        if before != after:
            shown = [
                f"{v:g}{unit}" if isinstance(v, float) else (v or "none") for v in (before, after)
            ]
            changes.append(
                Change(
                    "changed",
                    "timing",
                    where,
                    f"{label}: {text} {shown[0]} → {shown[1]}",
                    before,
                    after,
                )
            )
    changes += _criteria(old, new, where, label)
    return changes


def _criteria(old: Gate, new: Gate, where: str, label: str) -> list[Change]:
    def kinds(gate: Gate) -> dict[str, tuple[str, Criterion]]:
        found = {c.key: ("must-meet", c) for c in gate.must_meet}
        found.update({c.key: ("should-meet", c) for c in gate.should_meet})
        return found

    before, after = kinds(old), kinds(new)
    changes = []
    for key, (kind, criterion) in after.items():
        if key not in before:
            weight = f" (weight {criterion.weight})" if kind == "should-meet" else ""
            changes.append(
                Change(
                    "added",
                    "criterion",
                    where,
                    f"{label}: new {kind} criterion{weight}: {criterion.text}",
                    after=key,
                )
            )
            continue
        was_kind, was = before[key]
        if was_kind != kind:
            changes.append(
                Change(
                    "changed",
                    "criterion",
                    where,
                    f"{label}: {criterion.text} is now {kind} (was {was_kind})",
                    was_kind,
                    kind,
                )
            )
        if was.text != criterion.text:
            changes.append(
                Change(
                    "changed",
                    "criterion",
                    where,
                    f"{label}: criterion {key} now reads: {criterion.text}",
                    was.text,
                    criterion.text,
                )
            )
        if was.weight != criterion.weight and kind == "should-meet":
            changes.append(
                Change(
                    "changed",
                    "criterion",
                    where,
                    f"{label}: weight of {criterion.text} {was.weight} → {criterion.weight}",
                    was.weight,
                    criterion.weight,
                )
            )
        if was.evidence != criterion.evidence:
            changes.append(
                Change(
                    "changed",
                    "criterion",
                    where,
                    f"{label}: evidence for {criterion.text} "
                    f"{was.evidence or 'the approvers judge'} → "
                    f"{criterion.evidence or 'the approvers judge'}",
                    was.evidence,
                    criterion.evidence,
                )
            )
    changes += [
        Change(
            "removed",
            "criterion",
            where,
            f"{label}: {kind} criterion removed: {criterion.text}",
            before=key,
        )
        for key, (kind, criterion) in before.items()
        if key not in after
    ]
    return changes


def _tailoring(old: Lifecycle, new: Lifecycle) -> list[Change]:
    before = {r.key: r for r in old.tailoring}
    after = {r.key: r for r in new.tailoring}
    changes = [
        Change("added", "tailoring", new.title, f"New tailoring rule {key}: {rule.why}", after=key)
        for key, rule in after.items()
        if key not in before
    ]
    changes += [
        Change("removed", "tailoring", new.title, f"Tailoring rule {key} removed", before=key)
        for key in before
        if key not in after
    ]
    changes += [
        Change("changed", "tailoring", new.title, f"Tailoring rule {key} changed: {rule.why}")
        for key, rule in after.items()
        if key in before and before[key] != rule
    ]
    return changes


def _members(
    before: Iterable[str], after: Iterable[str], area: str, where: str, pattern: str
) -> list[Change]:
    before, after = list(before), list(after)
    return [
        Change("added", area, where, pattern.format(value, "added"), after=value)
        for value in after
        if value not in before
    ] + [
        Change("removed", area, where, pattern.format(value, "removed"), before=value)
        for value in before
        if value not in after
    ]


def _title(key: str) -> str:
    return DOCUMENT_TITLES.get(key, key)


def _titles(keys: Iterable[str]) -> str:
    return ", ".join(_title(k) for k in keys) or "none"


@dataclass(frozen=True)
class LifecycleDiff:
    """One lifecycle compared across two versions of the library."""

    name: str
    status: Literal["added", "removed", "changed", "unchanged"]
    old_version: str | None
    new_version: str | None
    changes: list[Change]

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "old_version": self.old_version,
            "new_version": self.new_version,
            "changes": [c.as_json() for c in self.changes],
        }


def diff_libraries(
    old: dict[str, LoadedLifecycle], new: dict[str, LoadedLifecycle]
) -> list[LifecycleDiff]:
    """Each lifecycle of either side, compared by name; one lifecycle on each side (two
    files) is compared whatever their names."""
    if len(old) == 1 and len(new) == 1:
        (before,), (after,) = old.values(), new.values()
        pairs = [(after.lifecycle.name, before, after)]
    else:
        pairs = [(name, old.get(name), new.get(name)) for name in sorted(old.keys() | new.keys())]
    found = []
    for name, before, after in pairs:
        if before is None:
            found.append(LifecycleDiff(name, "added", None, after.version, []))
        elif after is None:
            found.append(LifecycleDiff(name, "removed", before.version, None, []))
        else:
            changes = diff_lifecycles(before.lifecycle, after.lifecycle)
            status = "changed" if changes or before.version != after.version else "unchanged"
            found.append(LifecycleDiff(name, status, before.version, after.version, changes))
    return found
