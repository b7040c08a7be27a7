"""The plan model: what it keeps, its hash and YAML, and every refusal in one line."""

import copy
from decimal import Decimal

import pytest
import yaml

from pmo.errors import PmoInputError
from pmo.plan.model import PlanError, parse_plan
from tests.plan.worked import WORKED

pytestmark = pytest.mark.unit


def changed(path: str, value) -> dict:
    """WORKED with the value at `path` (`work_packages.1.budget`) replaced."""
    data = copy.deepcopy(WORKED)
    *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
    node = data
    for part in parents:
        node = node[part]
    node[last] = value
    return data


def test_a_plan_keeps_its_packages_budget_and_normalised_owners():
    plan = parse_plan(changed("work_packages.0.owner", "Sam.Okafor@Example.COM"))
    assert plan.work_packages[0].owner == "sam.okafor@example.com"
    assert plan.budget() == Decimal(29000)
    assert plan.calendar.workdays == ["mon", "tue", "wed", "thu", "fri"]
    assert parse_plan({"work_packages": WORKED["work_packages"]}).calendar.holidays == []


def test_the_yaml_round_trips_and_the_hash_is_stable():
    plan = parse_plan(WORKED)
    text = plan.to_yaml()
    again = parse_plan(yaml.safe_load(text))
    assert again == plan
    assert again.content_hash() == plan.content_hash()
    assert len(plan.content_hash()) == 64
    assert "start_no_earlier_than: 2027-02-13" in text


def test_the_same_plan_written_differently_has_the_same_hash():
    plan = parse_plan(WORKED)
    spelled = changed("work_packages.0.budget", "5000.00")
    spelled["work_packages"][0]["effort"] = {"analyst": 5.0}
    spelled["work_packages"][4]["depends_on"] = ["1.3", "1.2"]
    assert parse_plan(spelled).content_hash() == plan.content_hash()
    assert parse_plan(changed("work_packages.0.budget", 5001)).content_hash() != (
        plan.content_hash()
    )


def test_a_fractional_amount_survives_the_yaml():
    plan = parse_plan(changed("work_packages.0.budget", "999999999999999.99"))
    assert parse_plan(yaml.safe_load(plan.to_yaml())).work_packages[0].budget == Decimal(
        "999999999999999.99"
    )


def with_cycle() -> dict:
    data = copy.deepcopy(WORKED)
    data["work_packages"][0]["depends_on"] = ["3.1"]
    return data


@pytest.mark.parametrize(
    ("data", "line"),
    [
        (
            changed("work_packages.3.key", "1.2"),
            "plan: work_packages[3].key: '1.2' is used twice",
        ),
        (
            changed("work_packages.1.depends_on", ["1.1", "9.9"]),
            "plan: work_packages[1].depends_on[1]: '9.9' is not a work package key",
        ),
        (
            changed("work_packages.1.depends_on", ["1.2"]),
            "plan: work_packages[1].depends_on[0]: '1.2' cannot depend on itself",
        ),
        (
            with_cycle(),
            "plan: work_packages: dependency cycle 1.1 -> 1.2 -> 2.2 -> 3.1 -> 1.1",
        ),
        (
            changed("milestones.1.after", ["4.4"]),
            "plan: milestones[1].after[0]: '4.4' is not a work package key",
        ),
        (
            changed("work_packages.2.duration_days", -1),
            "plan: work_packages[2].duration_days: Input should be greater than or equal to 0",
        ),
        (
            changed("work_packages.2.budget", -5),
            "plan: work_packages[2].budget: Input should be greater than or equal to 0",
        ),
        (
            changed("calendar.workdays", ["mon", "funday"]),
            "plan: calendar.workdays[1]: Input should be 'mon', 'tue', 'wed', 'thu', 'fri', "
            "'sat' or 'sun'",
        ),
        (
            changed("calendar.workdays", []),
            "plan: calendar.workdays: at least one weekday must be worked",
        ),
        (
            changed("work_packages.4.effort", {"developer": -8}),
            "plan: work_packages[4].effort.developer: Input should be greater than or equal to 0",
        ),
        (
            changed("work_packages.0.owner", "sam at example"),
            "plan: work_packages[0].owner: 'sam at example' is not a valid email address: "
            "An email address must have an @-sign.",
        ),
        (
            changed("work_packages.0.duration_days", 2.5),
            "plan: work_packages[0].duration_days: Input should be a valid integer, got a "
            "number with a fractional part",
        ),
        (
            changed("work_packages", []),
            "plan: work_packages: List should have at least 1 item after validation, not 0",
        ),
        (
            changed("milestones.1.name", "Design done"),
            "plan: milestones[1].name: 'Design done' is used twice",
        ),
        (changed("colour", "blue"), "plan: colour: Extra inputs are not permitted"),
        (
            ["not", "a", "mapping"],
            "plan: must be a mapping of plan fields (start, work_packages, ...)",
        ),
    ],
)
def test_each_refusal_is_one_line_naming_the_field(data, line):
    with pytest.raises(PlanError) as refused:
        parse_plan(data)
    assert str(refused.value) == line
    assert isinstance(refused.value, PmoInputError)


def test_a_long_chain_is_checked_without_recursion():
    chain = [
        {"key": f"k{i}", "name": "step", "owner": "a@example.com", "duration_days": 1,
         "budget": 1, "depends_on": [f"k{i - 1}"] if i else []}
        for i in range(5000)
    ]  # fmt: skip
    assert len(parse_plan({"work_packages": chain}).work_packages) == 5000
    chain[0]["depends_on"] = ["k4999"]
    with pytest.raises(PlanError, match=r"dependency cycle k0 -> k1 -> .* -> k4999 -> k0$"):
        parse_plan({"work_packages": chain})
