"""Limits on input: every field of a brief has one, and each refusal names its field."""

from typing import Any

import pytest

from pmo.brief import EXAMPLE_BRIEF, ProjectBrief, load_brief
from pmo.errors import BriefError
from pmo.limits import (
    BRIEF_BYTES,
    LINE_CHARS,
    LIST_ITEMS,
    NAME_CHARS,
    REGISTER_ROWS,
    TEXT_CHARS,
)
from tests.factories import BRIEF_DATA, brief_data, write_brief

pytestmark = pytest.mark.unit


def unlimited(schema: dict[str, Any], defs: dict[str, Any], path: str) -> list[str]:
    """The paths in a JSON schema where a string, a list or a mapping has no upper bound."""
    if "$ref" in schema:
        return unlimited(defs[schema["$ref"].rsplit("/", 1)[1]], defs, path)
    branches = schema.get("anyOf", [])
    if branches:
        types = {b.get("type") for b in branches}
        if types - {"null"} == {"number", "string"}:
            return []  # pydantic's Decimal (or None): a number, or the same number as text
        return [p for b in branches for p in unlimited(b, defs, path)]
    found = []
    match schema.get("type"):
        case "string":
            bounded = "maxLength" in schema or "enum" in schema or "const" in schema
            if not bounded and schema.get("format") not in ("date", "date-time"):
                found.append(path)
        case "array":
            if "maxItems" not in schema:
                found.append(path)
            found += unlimited(schema.get("items", {}), defs, f"{path}[]")
        case "object":
            for name, field in schema.get("properties", {}).items():
                found += unlimited(field, defs, f"{path}.{name}".lstrip("."))
            open_ended = {**schema.get("patternProperties", {})}
            if isinstance(schema.get("additionalProperties"), dict):
                open_ended["*"] = schema["additionalProperties"]
            if open_ended and "maxProperties" not in schema:
                found.append(path)
            for value in open_ended.values():
                found += unlimited(value, defs, f"{path}.*")
    return found


def test_every_text_list_and_mapping_of_a_brief_has_a_limit():
    schema = ProjectBrief.model_json_schema()
    assert unlimited(schema, schema.get("$defs", {}), "") == []


def test_the_schema_check_finds_a_field_without_a_limit():
    from pydantic import BaseModel

    class Loose(BaseModel):
        category: str
        tags: list[str] = []

    schema = Loose.model_json_schema()
    assert unlimited(schema, {}, "") == ["category", "tags", "tags[]"]


def refusal(tmp_path, data: dict[str, Any]) -> str:
    path = write_brief(tmp_path, data)
    with pytest.raises(BriefError) as error:
        load_brief(path)
    message = str(error.value)
    assert "\n" not in message and message.startswith(f"{path}")
    return message.removeprefix(f"{path}").removeprefix(": ")


def test_a_brief_file_over_the_size_limit_is_refused_before_it_is_parsed(tmp_path):
    path = tmp_path / "huge.yaml"
    path.write_text("name: " + "x" * 3_000_000 + "\n", encoding="utf-8")
    with pytest.raises(BriefError) as error:
        load_brief(path)
    assert str(error.value) == (
        f"{path}: is 3,000,007 bytes; a brief may be at most {BRIEF_BYTES:,} bytes"
    )


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("name", "N" * (NAME_CHARS + 1), f"at most {NAME_CHARS} characters"),
        ("purpose", "P" * (TEXT_CHARS + 1), f"at most {TEXT_CHARS} characters"),
        ("objectives", ["O" * (LINE_CHARS + 1)], f"at most {LINE_CHARS} characters"),
        ("objectives", ["Measurable"] * (LIST_ITEMS + 1), f"at most {LIST_ITEMS} items"),
        ("scope_in", ["In scope"] * (LIST_ITEMS + 1), f"at most {LIST_ITEMS} items"),
        ("key", "K" * 41, "at most 40 characters"),
        ("budget", "9" * 19, "no more than 18 digits"),
    ],
)
def test_text_and_lists_over_their_limit_are_refused_naming_the_field(
    tmp_path, field, value, problem
):
    message = refusal(tmp_path, brief_data(**{field: value}))
    assert message.startswith(f"{field}") and problem in message


def test_a_stakeholder_field_over_its_limit_names_the_item(tmp_path):
    people = [dict(p) for p in BRIEF_DATA["stakeholders"]]
    people[1]["role"] = "R" * (NAME_CHARS + 1)
    message = refusal(tmp_path, brief_data(stakeholders=people))
    assert message == f"stakeholders[1].role: String should have at most {NAME_CHARS} characters"


def test_more_stakeholders_than_a_register_takes_are_refused(tmp_path):
    people = [
        {"name": f"Person {n}", "email": f"person{n}@example.com", "role": "User"}
        for n in range(REGISTER_ROWS + 1)
    ]
    message = refusal(tmp_path, brief_data(stakeholders=people))
    assert message.startswith(f"stakeholders: List should have at most {REGISTER_ROWS} items")


def test_a_person_appears_once_among_the_stakeholders(tmp_path):
    people = [*BRIEF_DATA["stakeholders"], {**BRIEF_DATA["stakeholders"][0], "role": "Owner"}]
    people[-1]["email"] = "Dana.Reyes@Example.com"  # the same address, however it is written
    message = refusal(tmp_path, brief_data(stakeholders=people))
    assert message == (
        "stakeholders: dana.reyes@example.com is listed as stakeholders 1 and 6; a person "
        "appears once (give them one role)"
    )


def test_an_approver_appears_once_per_role(tmp_path):
    approvers = {"sponsor": ["dana.reyes@example.com", "DANA.REYES@example.com"], "pmo": []}
    message = refusal(tmp_path, brief_data(approvers=approvers))
    assert message == "approvers: sponsor: dana.reyes@example.com is listed more than once"


def test_the_example_brief_is_far_inside_every_limit():
    brief = load_brief(EXAMPLE_BRIEF)
    assert EXAMPLE_BRIEF.stat().st_size < BRIEF_BYTES // 100
    assert len(brief.purpose) < TEXT_CHARS // 10
    assert len(brief.stakeholders) < REGISTER_ROWS // 10
