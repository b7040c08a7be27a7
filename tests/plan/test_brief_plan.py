"""A brief may bring its plan: it is checked like a plan file, its packages named by position."""

import copy
from pathlib import Path

import pytest

from pmo.brief import EXAMPLE_BRIEF, load_brief, parse_brief
from pmo.errors import BriefError
from pmo.plan.formats import load_plan
from tests.factories import BRIEF_DATA, brief_data, write_brief

pytestmark = pytest.mark.unit


def test_the_example_brief_carries_the_apollo_plan():
    plan = load_brief(EXAMPLE_BRIEF).plan
    assert plan is not None
    assert plan == load_plan(Path(EXAMPLE_BRIEF).with_name("apollo-plan.yaml"))


def test_a_brief_without_a_plan_is_still_a_brief():
    data = brief_data()
    del data["plan"]
    assert parse_brief(data).plan is None


def with_plan_change(index: int, field: str, value) -> dict:
    data = copy.deepcopy(BRIEF_DATA)
    data["plan"]["work_packages"][index][field] = value
    return data


@pytest.mark.parametrize(
    ("data", "line"),
    [
        (
            with_plan_change(2, "owner", "ada at example"),
            "plan.work_packages[2].owner: 'ada at example' is not a valid email address: An "
            "email address must have an @-sign.",
        ),
        (
            with_plan_change(3, "key", "1.1"),
            "plan.work_packages[3].key: '1.1' is used twice",
        ),
        (
            with_plan_change(0, "depends_on", ["4.4"]),
            "plan.work_packages: dependency cycle 1.1 -> 1.2 -> 2.1 -> 4.1 -> 4.3 -> 4.4 -> 1.1",
        ),
        (
            with_plan_change(5, "duration_days", -3),
            "plan.work_packages[5].duration_days: Input should be greater than or equal to 0",
        ),
    ],
)
def test_a_bad_plan_in_a_brief_is_refused_naming_the_field(tmp_path, data, line):
    path = write_brief(tmp_path, data)
    with pytest.raises(BriefError) as refused:
        load_brief(path)
    assert str(refused.value) == f"{path}: {line}"
