"""Moving a running project onto another lifecycle version: the plan, then the pin.

The plan says where the project stands, which stages it gains and loses ahead of it and
what changes in them, and refuses where the stage it stands in (or the gate it waits at)
has no counterpart in the new version and no `--map OLD=NEW` names one. Applying the plan
pins the new version on the project, on the ledger with who did it and why.

A gate already open is decided by the rules it opened with (its approvers were asked
under them), so a stage attempt at its gate finishes under its version; a stage attempt
still at its work moves onto the new version at once when its key is kept. Every stage
attempt after that runs under the new version: the running flow reads the pinned
version before each stage (`pmo.methodology.route`).
"""

import re
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from pmo.brief import ProjectBrief
from pmo.errors import PmoInputError
from pmo.methodology.project import PreparedLifecycle, prepare_lifecycle
from pmo.methodology.route import UNDER_WAY
from pmo.store.lifecycles import Pin, add_pin, counterpart, definition_digest, pin_of, pins
from pmo.store.models import Gate, Project, ProjectLifecycle, StageRun
from pmo.store.records import get_project, project_stage_runs
from process_library.diff import Change, diff_lifecycles
from process_library.errors import LifecycleError
from process_library.loader import (
    LoadedLifecycle,
    available_lifecycles,
    load_lifecycle,
    load_lifecycle_file,
)
from process_library.revisions import find_version
from process_library.schema import Lifecycle, Stage, checked_email

FINISHED = ("closed", "cancelled")


def target_lifecycle(to: str, current: str) -> LoadedLifecycle:
    """What `--to` names: a lifecycle file, a lifecycle of the library (`prince2`), a
    version of the project's lifecycle (`8a9c3e1f2b7d`, six digits at least) or of another
    (`prince2@8a9c3e1f2b7d`), found in the library or its git history."""
    if Path(to).is_file():
        return load_lifecycle_file(Path(to))
    name, at, version = to.rpartition("@") if "@" in to else ("", "", to)
    if at:
        return find_version(name, version)
    if to in available_lifecycles():
        return load_lifecycle(to)
    if re.fullmatch(r"[0-9a-f]{6,64}", to):
        return find_version(current, to)
    raise LifecycleError(
        "--to",
        f"'{to}' is neither a lifecycle file, a lifecycle of the library, nor a version of "
        f"'{current}'",
    )


@dataclass(frozen=True)
class Standing:
    """Where the project stands: the stage attempt it is in (or last finished) and the
    gate it waits at, if any, with the keys of the version it runs under."""

    stage_key: str
    stage_name: str
    attempt: int
    status: str
    gate_key: str | None = None  # the gate's key in the lifecycle (an exception gate's too)
    gate_name: str | None = None
    gate_round: int = 0

    @property
    def under_way(self) -> bool:
        return self.status in UNDER_WAY

    def describe(self) -> str:
        text = f"{self.stage_name} (attempt {self.attempt}), {self.status}"
        if self.gate_key:
            text += f", waiting at gate {self.gate_name} (round {self.gate_round})"
        return text


@dataclass(frozen=True)
class MigrationPlan:
    project: str
    name: str
    old: Pin
    new: LoadedLifecycle
    prepared: PreparedLifecycle
    standing: Standing | None
    entry_stage: str | None  # the standing stage's counterpart in the new version
    moves_now: bool  # the stage under way moves onto the new version at once
    mapping: dict[str, str]
    gains: list[str] = field(default_factory=list)
    loses: list[str] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)

    @property
    def new_label(self) -> str:
        return f"{self.new.lifecycle.name}@{self.new.version}"

    def as_json(self) -> dict:
        standing = self.standing
        return {
            "project": self.project,
            "from": self.old.label,
            "to": self.new_label,
            "stands_at": None
            if standing is None
            else {
                "stage": standing.stage_key,
                "attempt": standing.attempt,
                "status": standing.status,
                "gate": standing.gate_key,
            },
            "entry_stage": self.entry_stage,
            "moves_now": self.moves_now,
            "mapping": self.mapping,
            "gains": self.gains,
            "loses": self.loses,
            "changes": [c.as_json() for c in self.changes],
        }


def parse_mapping(items: list[str]) -> dict[str, str]:
    mapping = {}
    for item in items:
        old, sep, new = (part.strip() for part in item.partition("="))
        if not sep or not old or not new:
            raise PmoInputError("--map", f"'{item}' is not OLD=NEW (a stage or gate key each)")
        mapping[old] = new
    return mapping


def plan_migration(
    session: Session, *, project_key: str, target: LoadedLifecycle, mapping: dict[str, str]
) -> MigrationPlan:
    """What moving the project onto `target` would do; PmoInputError (or BriefError,
    LifecycleError) with one line where it cannot be moved."""
    project = get_project(session, key=project_key)
    if project is None:
        raise PmoInputError("--project", f"no project with key '{project_key}' in the store")
    if project.status in FINISHED:
        raise PmoInputError(
            "--project",
            f"project {project.key} is {project.status}: only a running project is moved "
            "onto another lifecycle",
        )
    brief = ProjectBrief.model_validate(project.brief)
    prepared = prepare_lifecycle(brief, target, source=f"project {project.key}'s brief")
    pinned = pins(session, project=project)
    current = pinned[-1]
    new = prepared.loaded.lifecycle
    if current.version == target.version and current.digest == definition_digest(
        new.model_dump(mode="json")
    ):
        raise PmoInputError("--to", f"project {project.key} already runs {current.label}")
    _check_mapping(mapping, current, new, target)
    runs = project_stage_runs(session, project=project)
    if not runs:
        return _plan(project, current, target, prepared, None, None, None, False, mapping)
    last = runs[-1]
    if last.status == "killed":
        raise PmoInputError(
            "--project", f"project {project.key} was killed at {last.stage_name} and is closing"
        )
    standing = _standing(session, last, pin_of(pinned, last.lifecycle_version).parsed)
    key_now = counterpart(pinned, last.stage_key, last.lifecycle_version)
    entry = mapping.get(key_now, key_now)
    if entry not in {s.key for s in new.stages}:
        raise PmoInputError(
            "--map",
            f"project {project.key} stands in stage {last.stage_name} ({key_now}), which "
            f"{target.lifecycle.name}@{target.version} has no stage for: name its counterpart "
            f"with --map {key_now}=NEW",
        )
    if standing.gate_key:
        gate_now = counterpart(pinned, standing.gate_key, last.lifecycle_version)
        gate_new = mapping.get(gate_now, gate_now)
        stage_new = new.stage(entry)
        own = [stage_new.gate.key] + (
            [stage_new.exception_gate.key] if stage_new.exception_gate else []
        )
        if gate_new not in own:
            raise PmoInputError(
                "--map",
                f"project {project.key} waits at gate {standing.gate_name} ({gate_now}), which "
                f"stage {stage_new.name} of {target.lifecycle.name}@{target.version} has no "
                f"gate for: name its counterpart with --map {gate_now}=NEW",
            )
    if last.status == "replanned":
        ran_under = pin_of(pinned, last.lifecycle_version).parsed.stage(last.stage_key)
        replan = counterpart(pinned, ran_under.exception_gate.replan_stage, last.lifecycle_version)
        if mapping.get(replan, replan) not in {s.key for s in new.stages}:
            raise PmoInputError(
                "--map",
                f"project {project.key} goes back to re-plan from stage {replan}, which "
                f"{target.lifecycle.name}@{target.version} has no stage for: name its "
                f"counterpart with --map {replan}=NEW",
            )
    moves_now = standing.under_way and standing.gate_key is None and entry == last.stage_key
    return _plan(project, current, target, prepared, standing, key_now, entry, moves_now, mapping)


def _check_mapping(
    mapping: dict[str, str], current: Pin, new: Lifecycle, target: LoadedLifecycle
) -> None:
    old = current.parsed
    old_stages, old_gates = {s.key for s in old.stages}, {g.key for g in old.gates}
    new_stages, new_gates = {s.key for s in new.stages}, {g.key for g in new.gates}
    for key, counterpart_key in mapping.items():
        if key not in old_stages | old_gates:
            raise PmoInputError("--map", f"'{key}' is not a stage or gate of {current.label}")
        kind, keys = ("stage", new_stages) if key in old_stages else ("gate", new_gates)
        if counterpart_key not in keys:
            raise PmoInputError(
                "--map",
                f"'{counterpart_key}' is not a {kind} of {target.lifecycle.name}@{target.version}",
            )


def _standing(session: Session, stage_run: StageRun, ran_under: Lifecycle) -> Standing:
    waiting = session.scalars(
        select(Gate)
        .where(Gate.stage_run_id == stage_run.id, Gate.status != "decided")
        .order_by(Gate.id)
    ).all()
    if not waiting:
        return Standing(
            stage_run.stage_key, stage_run.stage_name, stage_run.attempt, stage_run.status
        )
    gate = waiting[-1]
    stage = ran_under.stage(stage_run.stage_key)
    definition = {"stage": stage.gate, "change": stage.change_gate}.get(
        gate.kind, stage.exception_gate
    )
    return Standing(
        stage_run.stage_key,
        stage_run.stage_name,
        stage_run.attempt,
        stage_run.status,
        definition.key if definition else gate.gate_key,
        gate.gate_name,
        gate.round,
    )


def _plan(
    project: Project,
    current: Pin,
    target: LoadedLifecycle,
    prepared: PreparedLifecycle,
    standing: Standing | None,
    key_now: str | None,
    entry: str | None,
    moves_now: bool,
    mapping: dict[str, str],
) -> MigrationPlan:
    """The plan, with what lies ahead compared: the stages after the one the project
    stands in (that one too when it moves now), old keys renamed by the mapping."""
    old, new = current.parsed, prepared.loaded.lifecycle
    if key_now is None or entry is None:
        old_ahead, new_ahead = list(old.stages), list(new.stages)
    else:
        start = 0 if moves_now else 1
        old_ahead = _after(old, key_now, start)
        new_ahead = _after(new, entry, start)
    renamed = [_renamed(stage, mapping) for stage in old_ahead]
    new_keys = {s.key for s in new_ahead}
    old_keys = {s.key for s in renamed}
    changes = diff_lifecycles(
        old.model_copy(update={"stages": tuple(renamed)}),
        new.model_copy(update={"stages": tuple(new_ahead)}),
    )
    return MigrationPlan(
        project=project.key,
        name=project.name,
        old=current,
        new=target,
        prepared=prepared,
        standing=standing,
        entry_stage=entry,
        moves_now=moves_now,
        mapping=mapping,
        gains=[s.name for s in new_ahead if s.key not in old_keys],
        loses=[s.name for s in renamed if s.key not in new_keys],
        changes=changes,
    )


def _keys(lifecycle: Lifecycle) -> list[str]:
    return [s.key for s in lifecycle.stages]


def _after(lifecycle: Lifecycle, key: str, start: int) -> list[Stage]:
    keys = _keys(lifecycle)
    return (
        list(lifecycle.stages[keys.index(key) + start :]) if key in keys else list(lifecycle.stages)
    )


def _renamed(stage: Stage, mapping: dict[str, str]) -> Stage:
    """An old stage under its new keys, so a mapped stage or gate compares as the same."""
    update: dict = {"key": mapping.get(stage.key, stage.key)}
    update["gate"] = stage.gate.model_copy(
        update={"key": mapping.get(stage.gate.key, stage.gate.key)}
    )
    if stage.exception_gate:
        key = stage.exception_gate.key
        update["exception_gate"] = stage.exception_gate.model_copy(
            update={"key": mapping.get(key, key)}
        )
    return stage.model_copy(update=update)


def apply_migration(
    session: Session, *, plan: MigrationPlan, by: str, reason: str
) -> ProjectLifecycle:
    """Pin the plan's version on the project, on the ledger with who did it and why."""
    project = get_project(session, key=plan.project)
    row = add_pin(
        session,
        project=project,
        lifecycle=plan.prepared.loaded.lifecycle,
        version=plan.new.version,
        tailoring=plan.prepared.tailoring_json,
        mapping=plan.mapping,
        entry_stage=plan.entry_stage,
        pinned_by=by,
        reason=reason,
    )
    if plan.moves_now and plan.entry_stage is not None:
        stage_run = project_stage_runs(session, project=project)[-1]
        stage_run.lifecycle_version = plan.new.version
        stage_run.stage_name = plan.prepared.loaded.lifecycle.stage(plan.entry_stage).name
    return row


def migrate_project(
    session: Session,
    *,
    project_key: str,
    to: str,
    mapping: dict[str, str],
    by: str,
    reason: str,
    dry_run: bool,
) -> MigrationPlan:
    """Plan the move and, unless `dry_run`, pin it. Only a PMO contact of the project's
    current lifecycle may move it."""
    project = get_project(session, key=project_key)
    if project is None:
        raise PmoInputError("--project", f"no project with key '{project_key}' in the store")
    try:
        who = checked_email(by)
    except ValueError as exc:
        raise PmoInputError("--as", str(exc)) from None
    current = pins(session, project=project)[-1].parsed
    if who not in current.pmo_contacts:
        raise PmoInputError(
            "--as",
            f"{who} is not a PMO contact of lifecycle '{current.name}' "
            f"({', '.join(current.pmo_contacts) or 'it names none'}): only they move a project",
        )
    plan = plan_migration(
        session,
        project_key=project_key,
        target=target_lifecycle(to, project.lifecycle),
        mapping=mapping,
    )
    if not dry_run:
        apply_migration(session, plan=plan, by=who, reason=reason)
    return plan


def migrate(
    *, project_key: str, to: str, mapping: dict[str, str], by: str, reason: str, dry_run: bool
) -> MigrationPlan:
    """`pmo library migrate`: plan (and unless `dry_run`, pin) in one transaction; a
    refusal records nothing."""
    from pmo.store import session_scope

    with session_scope() as session:
        return migrate_project(
            session,
            project_key=project_key,
            to=to,
            mapping=mapping,
            by=by,
            reason=reason,
            dry_run=dry_run,
        )
