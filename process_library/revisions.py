"""The library as it is and as it was: lifecycles from a file, a folder or a git revision,
and a lifecycle version looked up by its content hash.

The library is kept in git; a version is the first 12 hex digits of a lifecycle file's
sha256 (what a project pins), so any version that was ever committed can be found again.
"""

import subprocess
from functools import cache
from pathlib import Path

from process_library.errors import LifecycleError
from process_library.loader import (
    LIBRARY_DIR,
    LoadedLifecycle,
    content_version,
    load_lifecycle_file,
    parse_lifecycle,
)


def lifecycles_at(
    source: str, what: str, library: Path = LIBRARY_DIR
) -> dict[str, LoadedLifecycle]:
    """The lifecycles `source` names, by name: a lifecycle file, a folder of them, a git
    revision of the library (`main`, `HEAD~2`, a tag, a commit) or a file at a revision
    (`REV:process_library/lifecycles/prince2.yaml`). `what` names the argument in errors."""
    path = Path(source)
    if path.is_file():
        loaded = load_lifecycle_file(path)
        return {loaded.lifecycle.name: loaded}
    if path.is_dir():
        files = sorted(path.glob("*.yaml"))
        if not files:
            raise LifecycleError(what, f"{source} holds no lifecycle (*.yaml) files")
        return {f.stem: load_lifecycle_file(f) for f in files}
    revision, _, inside = source.partition(":")
    repository = _repository(library)
    if repository is None or not _is_revision(repository, revision):
        raise LifecycleError(
            what,
            f"'{source}' is neither a lifecycle file, a folder of them, nor a git revision of "
            "the library's repository",
        )
    root, prefix = repository
    if inside:
        raw = _git(root, "show", f"{revision}:{inside}", what=what)
        loaded = parse_lifecycle(raw, source, Path(inside).stem)
        return {loaded.lifecycle.name: loaded}
    found = {}
    for blob, name in _yaml_blobs(root, revision, prefix):
        where = f"{revision}:{prefix}{name}"
        found[Path(name).stem] = parse_lifecycle(_blob(root, blob), where, Path(name).stem)
    if not found:
        raise LifecycleError(what, f"revision '{revision}' holds no lifecycle under {prefix}")
    return found


def find_version(name: str, version: str, library: Path = LIBRARY_DIR) -> LoadedLifecycle:
    """Lifecycle `name` at `version` (its content hash, or a prefix of six digits or more):
    the library's current file, or any committed version of it."""
    current = library / f"{name}.yaml"
    if current.is_file() and content_version(current.read_bytes()).startswith(version):
        return load_lifecycle_file(current)
    repository = _repository(library)
    if repository is not None:
        root, prefix = repository
        path = f"{prefix}{name}.yaml"
        commits = _git(root, "log", "--format=%H", "--", path, what="--to").decode().split()
        for commit in commits:
            for blob, file in _yaml_blobs(root, commit, prefix):
                if file == f"{name}.yaml":
                    raw = _blob(root, blob)
                    if content_version(raw).startswith(version):
                        return parse_lifecycle(raw, f"{commit[:12]}:{path}", name)
    raise LifecycleError(
        "--to", f"no version {version} of lifecycle '{name}' in the library or its git history"
    )


def _repository(library: Path) -> tuple[Path, str] | None:
    """The git work tree holding the library and the library's folder inside it."""
    try:
        top = subprocess.run(
            ["git", "-C", str(library), "rev-parse", "--show-toplevel", "--show-prefix"],
            capture_output=True,
            check=True,
            text=True,
        ).stdout.splitlines()
    except (OSError, subprocess.CalledProcessError):
        return None
    return Path(top[0]), (top[1] if len(top) > 1 else "")


def _is_revision(repository: tuple[Path, str], revision: str) -> bool:
    if not revision or revision.startswith("-"):
        return False
    result = subprocess.run(
        [
            "git",
            "-C",
            str(repository[0]),
            "rev-parse",
            "--verify",
            "--quiet",
            f"{revision}^{{commit}}",
        ],
        capture_output=True,
    )
    return result.returncode == 0


def _yaml_blobs(root: Path, revision: str, prefix: str) -> list[tuple[str, str]]:
    """(blob id, file name) of every lifecycle file in the library at `revision`."""
    listing = _git(root, "ls-tree", revision, prefix, what=revision).decode()
    found = []
    for line in listing.splitlines():
        meta, _, path = line.partition("\t")
        if meta.split()[1] == "blob" and path.endswith(".yaml"):
            found.append((meta.split()[2], path.removeprefix(prefix)))
    return found


@cache
def _blob(root: Path, blob: str) -> bytes:
    return _git(root, "cat-file", "blob", blob, what=blob)


def _git(root: Path, *args: str, what: str) -> bytes:
    try:
        return subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, check=True
        ).stdout
    except subprocess.CalledProcessError as exc:
        problem = exc.stderr.decode(errors="replace").strip().splitlines()
        raise LifecycleError(
            what, f"git {args[0]}: {problem[-1] if problem else 'failed'}"
        ) from None
