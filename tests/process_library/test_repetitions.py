"""Repeated stages as data: a stage run once per item of a list the project gives."""

import pytest

from process_library.errors import LifecycleError
from process_library.loader import load_lifecycle, load_lifecycle_file
from process_library.schema import Repetition
from tests.factories import lifecycle_data, write_lifecycle

pytestmark = pytest.mark.unit

RELEASES = [
    Repetition(name="Order tracking", goal="Customers see their orders"),
    Repetition(name="Invoices", goal="Customers download invoices"),
    Repetition(name="Tickets"),
]


def refusal(tmp_path, data) -> str:
    path = write_lifecycle(tmp_path, data)
    with pytest.raises(LifecycleError) as error:
        load_lifecycle_file(path)
    message = str(error.value)
    assert "\n" not in message
    return message.removeprefix(f"{path}: ")


def test_a_repeated_stage_becomes_one_stage_and_gate_per_item_in_order():
    lifecycle = load_lifecycle("hybrid-agile").lifecycle
    expanded = lifecycle.expanded({"releases": RELEASES})
    assert [s.key for s in expanded.stages] == [
        "inception",
        "construction-1",
        "construction-2",
        "construction-3",
        "transition",
    ]
    second = expanded.stage("construction-2")
    assert second.name == "Construction 2: Invoices"
    assert second.gate.key == "release-decision-2"
    assert second.gate.name == "Release decision 2"
    assert second.exception_gate.key == "release-exception-2"
    # a re-plan of a release re-plans that release
    assert second.exception_gate.replan_stage == "construction-2"
    assert second.occurrence.model_dump() == {
        "stage": "construction",
        "source": "releases",
        "number": 2,
        "of": 3,
        "item": {"name": "Invoices", "goal": "Customers download invoices"},
    }
    assert second.repeat is None
    # the expanded lifecycle is a plain lifecycle: it validates as one (pinned definitions)
    assert type(expanded).model_validate(expanded.model_dump(mode="json")) == expanded


def test_prince2_repeats_its_management_stage_per_stage_the_brief_names():
    lifecycle = load_lifecycle("prince2").lifecycle
    repeat = lifecycle.stage("management-stage").repeat
    assert (repeat.for_each, repeat.min) == ("management_stages", 1)
    expanded = lifecycle.expanded({"management_stages": RELEASES[:1]})
    assert [s.key for s in expanded.stages] == [
        "starting-up",
        "initiating",
        "management-stage-1",
        "closing",
    ]
    assert [g.key for g in expanded.gates] == [
        "authorise-initiation",
        "authorise-project",
        "end-stage-assessment-1",
        "stage-exception-1",
        "change-authority-1",  # each repetition its own change gate
        "authorise-closure",
    ]


def test_a_repeated_stage_without_a_source_for_its_repetitions_is_refused(tmp_path):
    data = lifecycle_data()
    data["stages"][2]["repeat"] = {"min": 1}
    assert refusal(tmp_path, data) == (
        "stages[execution].repeat: a repeated stage needs `for_each`: the list in the brief's "
        "`repetitions` it runs once per item (e.g. `for_each: releases`)"
    )


def test_a_repetition_source_must_be_a_brief_list_name(tmp_path):
    data = lifecycle_data()
    data["stages"][2]["repeat"] = {"for_each": "Releases!"}
    assert refusal(tmp_path, data).startswith("stages[execution].repeat.for_each: String should")


def test_fewer_allowed_than_required_is_refused(tmp_path):
    data = lifecycle_data()
    data["stages"][2]["repeat"] = {"for_each": "releases", "min": 3, "max": 2}
    assert refusal(tmp_path, data) == "stages[execution].repeat: min 3 is more than max 2"


def test_a_stage_key_that_would_clash_with_a_repetition_is_refused(tmp_path):
    data = lifecycle_data()
    data["stages"][1]["repeat"] = {"for_each": "phases"}
    data["stages"][3]["key"] = "planning-2"
    assert refusal(tmp_path, data) == (
        "stage key 'planning-2' would clash with the repetitions of repeated stage 'planning' "
        "(planning-1, planning-2, ...)"
    )


def test_an_occurrence_is_never_written_in_a_library_file(tmp_path):
    data = lifecycle_data()
    data["stages"][2]["occurrence"] = {
        "stage": "execution",
        "source": "releases",
        "number": 1,
        "of": 1,
        "item": {"name": "One"},
    }
    assert refusal(tmp_path, data) == (
        "stages[execution].occurrence: is set by pmo-flows when a repeated stage is expanded; "
        "write `repeat:` instead"
    )


def test_re_planning_from_an_earlier_repeated_stage_is_refused(tmp_path):
    data = lifecycle_data()
    data["stages"][1]["repeat"] = {"for_each": "phases"}
    assert refusal(tmp_path, data) == (
        "stages[execution].exception_gate.replan_stage 'planning' is a repeated stage: which "
        "of its repetitions would be re-planned?"
    )
