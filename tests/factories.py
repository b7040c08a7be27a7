"""Briefs and lifecycles for tests, in one place."""

import copy
from pathlib import Path
from typing import Any

import yaml

from pmo.brief import EXAMPLE_BRIEF, ProjectBrief, parse_brief
from pmo.templating import BUNDLED_TEMPLATES
from process_library.loader import LIBRARY_DIR

BRIEF_DATA: dict[str, Any] = yaml.safe_load(EXAMPLE_BRIEF.read_text(encoding="utf-8"))


def brief_data(**overrides: Any) -> dict[str, Any]:
    """The example brief as data, with top-level fields replaced."""
    data = copy.deepcopy(BRIEF_DATA)
    data.update(overrides)
    return data


def make_brief(**overrides: Any) -> ProjectBrief:
    return parse_brief(brief_data(**overrides), "test brief")


def write_brief(folder: Path, data: dict[str, Any], name: str = "brief.yaml") -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def lifecycle_data(name: str = "pmbok-waterfall") -> dict[str, Any]:
    return yaml.safe_load((LIBRARY_DIR / f"{name}.yaml").read_text(encoding="utf-8"))


def write_lifecycle(folder: Path, data: dict[str, Any]) -> Path:
    path = folder / f"{data['name']}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


FEASIBILITY = {
    "key": "feasibility",
    "name": "Feasibility",
    "purpose": "Check the project can be done before it is planned.",
    "documents": [{"key": "business-case"}],
    "gate": {
        "key": "feasibility-review",
        "name": "Feasibility review",
        "approvers": ["sponsor"],
        "must_meet": [
            {
                "key": "feasible",
                "text": "The business case shows it can be done.",
                "evidence": "document:business-case",
            }
        ],
    },
}


def feasibility_added() -> dict[str, Any]:
    """The PMO's next version of pmbok-waterfall, as data: a feasibility stage after
    initiation, decided by the sponsor alone."""
    data = lifecycle_data()
    data["stages"].insert(1, copy.deepcopy(FEASIBILITY))
    return data


# Renders nothing, slowly (the sandbox caps a range at 100,000): a few seconds in which
# the stakeholder register is being written and the charter already is.
SLOW = "{%- for i in range(100000) %}{% for j in range(100) %}{% endfor %}{% endfor -%}\n"


def slow_stakeholder_register(folder: Path) -> Path:
    """A PMO's own templates folder (PMO_TEMPLATES_DIR) whose stakeholder register takes
    seconds to render; it renders the same text."""
    folder.mkdir()
    bundled = (BUNDLED_TEMPLATES / "stakeholder-register.md.j2").read_text(encoding="utf-8")
    (folder / "stakeholder-register.md.j2").write_text(SLOW + bundled, encoding="utf-8")
    return folder
