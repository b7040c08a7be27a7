"""The lifecycle versions pinned on a project, and the version each stage ran under.

A project is pinned to the lifecycle it started on; `pmo library migrate` pins another
version later. Every version stays on record, so a stage is always read (its gate's rules,
its tolerances, its documents) by the version in force when it ran. Definitions are
immutable, so each is parsed once per process, by its digest.
"""

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pmo.store.audited import canonical_json
from pmo.store.models import Project, ProjectLifecycle, StageRun, utcnow
from process_library.schema import Lifecycle

_PARSED: dict[str, Lifecycle] = {}
_PARSED_LIMIT = 512


def definition_digest(definition: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_json(definition).encode()).hexdigest()


def parsed(digest: str, definition: Mapping[str, Any]) -> Lifecycle:
    """The lifecycle of a stored definition, validated once per digest in this process."""
    lifecycle = _PARSED.get(digest)
    if lifecycle is None:
        if len(_PARSED) >= _PARSED_LIMIT:
            _PARSED.clear()
        lifecycle = _PARSED[digest] = Lifecycle.model_validate(definition)
    return lifecycle


@dataclass(frozen=True)
class Pin:
    """One version a project has run under, as `project_lifecycles` keeps it."""

    seq: int
    lifecycle: str
    version: str
    digest: str
    definition: Mapping[str, Any]
    tailoring: Sequence[Mapping[str, Any]]
    mapping: Mapping[str, str]
    entry_stage: str | None
    pinned_by: str | None
    reason: str

    @property
    def label(self) -> str:
        return f"{self.lifecycle}@{self.version}"

    @property
    def parsed(self) -> Lifecycle:
        return parsed(self.digest, self.definition)


def _pin(row: ProjectLifecycle) -> Pin:
    return Pin(
        row.seq,
        row.lifecycle,
        row.version,
        row.digest,
        row.definition,
        row.tailoring,
        row.mapping,
        row.entry_stage,
        row.pinned_by,
        row.reason,
    )


def add_pin(
    session: Session,
    *,
    project: Project,
    lifecycle: Lifecycle,
    version: str,
    tailoring: Sequence[Mapping[str, Any]] = (),
    mapping: Mapping[str, str] | None = None,
    entry_stage: str | None = None,
    pinned_by: str | None = None,
    reason: str = "",
    first: bool = False,
) -> ProjectLifecycle:
    """Pin a version on the project: it governs every stage attempt started from now on.

    A project started before versions were kept has its first version only on its row:
    that one is kept first, so its earlier stages are still read by it."""
    definition = lifecycle.model_dump(mode="json")
    seq = len(pins(session, project=project, stored_only=True)) + 1
    if seq == 1 and not first:
        session.add(_row(project, pins(session, project=project)[0], reason=LEGACY))
        seq = 2
    row = ProjectLifecycle(
        project_id=project.id,
        seq=seq,
        lifecycle=lifecycle.name,
        version=version,
        digest=definition_digest(definition),
        definition=definition,
        tailoring=list(tailoring),
        mapping=dict(mapping or {}),
        entry_stage=entry_stage,
        pinned_by=pinned_by,
        reason=reason,
        pinned_at=utcnow(),
    )
    session.add(row)
    project.lifecycle = lifecycle.name
    project.lifecycle_version = version
    project.lifecycle_definition = definition
    session.flush()
    return row


LEGACY = "The project started on it (recorded before versions were kept)."


def _row(project: Project, pin: Pin, *, reason: str) -> ProjectLifecycle:
    return ProjectLifecycle(
        project_id=project.id,
        seq=pin.seq,
        lifecycle=pin.lifecycle,
        version=pin.version,
        digest=pin.digest,
        definition=dict(pin.definition),
        tailoring=[],
        mapping={},
        entry_stage=None,
        pinned_by=None,
        reason=reason,
        pinned_at=project.created_at,
    )


def pins(session: Session, *, project: Project, stored_only: bool = False) -> list[Pin]:
    """Every version pinned on the project, oldest first. A project started before
    versions were kept has its one version, read from the project row."""
    rows = session.scalars(
        select(ProjectLifecycle)
        .where(ProjectLifecycle.project_id == project.id)
        .order_by(ProjectLifecycle.seq)
    ).all()
    if rows or stored_only:
        return [_pin(row) for row in rows]
    definition = project.lifecycle_definition
    return [
        Pin(
            1,
            project.lifecycle,
            project.lifecycle_version,
            definition_digest(definition),
            definition,
            (),
            {},
            None,
            None,
            "",
        )
    ]


def pin_of(pinned: Sequence[Pin], version: str | None) -> Pin:
    """The pin a stage run's version names (the latest with it); the first without one."""
    if version is None:
        return pinned[0]
    return next((p for p in reversed(pinned) if p.version == version), pinned[-1])


def lifecycle_for(session: Session, *, stage_run: StageRun) -> Lifecycle:
    """The lifecycle as it governed this stage attempt: the version it ran under."""
    project = session.get(Project, stage_run.project_id)
    return pin_of(pins(session, project=project), stage_run.lifecycle_version).parsed


def counterpart(pinned: Sequence[Pin], key: str, since: str | None) -> str:
    """What a stage or gate key of version `since` is called in the latest version: each
    migration after it renames it by its mapping, or keeps it."""
    start = pinned.index(pin_of(pinned, since))
    for pin in pinned[start + 1 :]:
        key = pin.mapping.get(key, key)
    return key
