"""Read, validate and version lifecycles from the process library."""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import ValidationError

from process_library.errors import LifecycleError
from process_library.schema import Lifecycle

LIBRARY_DIR = Path(__file__).parent / "lifecycles"


@dataclass(frozen=True)
class LoadedLifecycle:
    """A validated lifecycle and the content hash that versions it."""

    lifecycle: Lifecycle
    version: str
    path: Path | None = None  # None: read from a project's record, not from a file

    @property
    def label(self) -> str:
        return f"{self.lifecycle.name}@{self.version}"


def available_lifecycles(library: Path = LIBRARY_DIR) -> list[str]:
    return sorted(p.stem for p in library.glob("*.yaml"))


def load_lifecycle(name: str, library: Path = LIBRARY_DIR) -> LoadedLifecycle:
    """The lifecycle called `name`, validated and versioned."""
    path = library / f"{name}.yaml"
    if not path.is_file():
        known = ", ".join(available_lifecycles(library)) or "none"
        raise LifecycleError("lifecycle", f"unknown lifecycle '{name}' (known: {known})")
    return load_lifecycle_file(path)


def load_lifecycle_file(path: Path) -> LoadedLifecycle:
    """Validate one lifecycle file; a problem names the file and the field."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise LifecycleError(str(path), f"cannot be read: {exc.strerror}") from None
    return parse_lifecycle(raw, str(path), path.stem)


def parse_lifecycle(raw: bytes, where: str, name: str | None = None) -> LoadedLifecycle:
    """A lifecycle from the bytes of a file (or of a git revision's), validated; `where`
    names it in errors, `name` is what its `name:` must say (its file's name)."""
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f"{where}:{mark.line + 1}" if mark else where
        raise LifecycleError(at, f"is not valid YAML: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(data, dict):
        raise LifecycleError(where, "must be a YAML mapping with name, title, stages")
    if "stages" not in data:
        raise LifecycleError(where, "is not a lifecycle: it has no stages")
    try:
        lifecycle = Lifecycle.model_validate(data)
    except ValidationError as exc:
        raise LifecycleError(where, describe_validation_error(exc, data)) from None
    if name is not None and lifecycle.name != name:
        raise LifecycleError(
            f"{where}: name", f"'{lifecycle.name}' must match the file name '{name}'"
        )
    for stage in lifecycle.stages:
        if stage.occurrence is not None:
            raise LifecycleError(
                f"{where}: stages[{stage.key}].occurrence",
                "is set by pmo-flows when a repeated stage is expanded; write `repeat:` instead",
            )
    _check_categories(where, lifecycle)
    return LoadedLifecycle(lifecycle, content_version(raw), Path(where))


def content_version(raw: bytes) -> str:
    """A lifecycle's version: the first 12 hex digits of its file's sha256."""
    return hashlib.sha256(raw).hexdigest()[:12]


def _check_categories(where: str, lifecycle: Lifecycle) -> None:
    """Every category a tailoring rule names is one of `categories.yaml`."""
    from process_library.tailoring import load_categories  # it reads YAML through us

    named = [(r.key, c) for r in lifecycle.tailoring for c in r.when.category]
    if not named:
        return
    known = load_categories().keys
    for rule, category in named:
        if category not in known:
            raise LifecycleError(
                f"{where}: tailoring[{rule}].when.category",
                f"'{category}' is not a project category (known: {', '.join(known)})",
            )


def validate_library(path: Path | None = None) -> list[LoadedLifecycle]:
    """Validate one lifecycle file, or every lifecycle in a folder (default: the library)."""
    target = path or LIBRARY_DIR
    if target.is_dir():
        files = sorted(target.glob("*.yaml"))
        if not files:
            raise LifecycleError(str(target), "holds no lifecycle (*.yaml) files")
        return [load_lifecycle_file(f) for f in files]
    return [load_lifecycle_file(target)]


def read_yaml(path: Path, error: Callable[[str, str], Exception]) -> tuple[bytes, object]:
    """The bytes and parsed content of a YAML file a person wrote; `error(where, problem)`
    is raised naming the line."""
    try:
        raw = path.read_bytes()
        return raw, yaml.safe_load(raw)
    except OSError as exc:
        raise error(str(path), f"cannot be read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise error(where, f"is not valid YAML: {getattr(exc, 'problem', exc)}") from None


def describe_validation_error(exc: ValidationError, data: object) -> str:
    """The first problem in pydantic's report, with a readable field path.

    `stages.1.gate.approvers` becomes `stages[planning].gate.approvers`, so the PMO finds
    the line without counting list items.
    """
    error = exc.errors()[0]
    parts: list[str] = []
    node = data
    for loc in error["loc"]:
        if isinstance(loc, int) and isinstance(node, list) and loc < len(node):
            item = node[loc]
            label = item.get("key") if isinstance(item, dict) else None
            parts[-1:] = [f"{parts[-1] if parts else ''}[{label or loc}]"]
            node = item
            continue
        parts.append(str(loc))
        node = node.get(loc) if isinstance(node, dict) else None
    message = error["msg"].removeprefix("Value error, ")
    # A check of the whole file names its own field (`stages[x].exception_gate...`).
    return f"{'.'.join(parts)}: {message}" if parts else message
