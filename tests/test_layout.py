"""The folders tell the system: `pmo/` is its capabilities, and imports only run downwards."""

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[1]
# Lowest first: a module may import its own unit and the units before it, never one after.
LAYERS = [
    {"process_library", "templates"},
    {"pmo.errors", "pmo.files", "pmo.settings", "pmo.limits"},
    {"pmo.plan"},
    {"pmo.brief"},
    {"pmo.store"},
    {"pmo.templating"},
    {"pmo.mail"},
    {"pmo.control"},
    {"pmo.methodology"},
    {"pmo.gates"},
    {"pmo.portfolio"},
    {"pmo.audit"},
    {"pmo.documents"},
    {"tasks"},
    {"flows"},
    {"pmo.web"},
    {"pmo.runtime"},
    {"pmo.cli"},
]
LAYER_OF = {unit: index for index, units in enumerate(LAYERS) for unit in units}
SHARED_MODULES = {
    "__init__",
    "brief",
    "errors",
    "files",
    "limits",
    "mail",
    "settings",
    "templating",
}


def unit_of(module: str) -> str | None:
    """`pmo.gates.rules` -> `pmo.gates`; `flows.gate` -> `flows`; not ours -> None."""
    parts = module.split(".")
    if parts[0] == "pmo" and len(parts) > 1:
        return f"pmo.{parts[1]}"
    return parts[0] if parts[0] in LAYER_OF else None


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def imports_of(path: Path) -> list[tuple[int, str]]:
    """Every module `path` imports, at the top or inside a function, with its line."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            # `from pmo import templating` imports the module pmo.templating
            found += [(node.lineno, f"{node.module}.{a.name}") for a in node.names]
    return found


def sources() -> list[Path]:
    folders = ("pmo", "flows", "tasks", "process_library")
    return sorted(
        path
        for folder in folders
        for path in (ROOT / folder).rglob("*.py")
        if "migrations" not in path.parts
    )


def test_imports_only_run_downwards():
    upwards = []
    for path in sources():
        if module_name(path) == "pmo":
            continue  # the package's docstring only
        source = unit_of(module_name(path))
        assert source is not None, f"{path.relative_to(ROOT)} belongs to no layer"
        for line, imported in imports_of(path):
            target = unit_of(imported)
            if target is None or target not in LAYER_OF or target == source:
                continue
            if LAYER_OF[target] > LAYER_OF[source]:
                upwards.append(f"{path.relative_to(ROOT)}:{line} imports {imported}")
    assert upwards == []


def test_process_library_stands_alone():
    for path in (ROOT / "process_library").rglob("*.py"):
        for line, imported in imports_of(path):
            assert unit_of(imported) in (None, "process_library"), f"{path}:{line}: {imported}"


def test_pmo_is_its_capabilities_and_the_shared_few():
    modules = {p.stem for p in (ROOT / "pmo").glob("*.py")}
    assert modules == SHARED_MODULES
    for package in (p for p in (ROOT / "pmo").iterdir() if (p / "__init__.py").exists()):
        assert f"pmo.{package.name}" in LAYER_OF, f"pmo/{package.name} has no place in LAYERS"
        docstring = ast.get_docstring(ast.parse((package / "__init__.py").read_text()))
        assert docstring, f"pmo/{package.name}/__init__.py says nothing of what it is"
