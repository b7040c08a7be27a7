"""The status update's Resume form: what the Prefect UI draws, and its round trip."""

import ast
import inspect
import json
from datetime import date
from decimal import Decimal

import pytest

import flows.reporting
from flows.planning import plan_form
from flows.reporting import update_form
from pmo.control.updates import (
    ReportedRisk,
    StatusUpdate,
    as_run_input,
    from_run_input,
    work_packages,
)
from pmo.plan.formats import read_plan_text
from pmo.plan.schedule import schedule_plan
from process_library.loader import load_lifecycle
from tests.factories import make_brief

EXECUTION = load_lifecycle("pmbok-waterfall").lifecycle.stage("execution")


def packages_of(brief) -> dict[str, str]:
    """The work packages of baseline 1 (the brief's plan): key -> name."""
    return work_packages(schedule_plan(brief.plan, brief.start_date))


pytestmark = pytest.mark.unit


def test_the_form_has_a_percent_field_per_work_package_and_dropdowns_for_risks():
    brief = make_brief()
    packages = packages_of(brief)
    form = update_form(brief, EXECUTION, packages, {"1.1": 40.0}, "## Status update")
    schema = form.model_json_schema()
    fields = schema["properties"]
    assert fields["wp_1"]["title"] == "1.1 Requirements and design"
    assert fields["wp_12"]["title"] == "4.4 Go-live and hypercare"
    assert (fields["wp_1"]["default"], fields["wp_2"]["default"]) == (40.0, 0.0)
    assert (fields["wp_1"]["minimum"], fields["wp_1"]["maximum"]) == (0, 100)
    assert fields["as_of"]["format"] == "date"
    risk = schema["$defs"]["NewRisk"]["properties"]
    assert risk["probability"]["enum"] == ["low", "medium", "high"]
    confirmed = fields["confirmed_activities"]["items"]["enum"]
    assert confirmed == [a.key for a in EXECUTION.activities]
    assert set(schema["required"]) == {
        "as_of",
        "actual_cost",
        "forecast_finish",
        "forecast_cost",
    }


def test_the_flow_module_keeps_its_annotations_evaluated_so_the_ui_form_is_defined():
    # DESIGN.md: `from __future__ import annotations` left a served flow's models undefined.
    tree = ast.parse(inspect.getsource(flows.reporting))
    futures = [n for n in tree.body if isinstance(n, ast.ImportFrom) and n.module == "__future__"]
    assert futures == []


def test_what_pmo_status_sends_is_what_the_flow_reads_back():
    brief = make_brief()
    names = packages_of(brief)
    packages = list(names)
    update = StatusUpdate(
        as_of=date(2027, 6, 30),
        progress={key: 50.0 for key in packages},
        actual_cost=Decimal("1234.50"),
        forecast_finish=date(2027, 11, 5),
        forecast_cost=Decimal(255000),
        commentary="On track",
        risks=(ReportedRisk("Vendor late", "high", "medium"),),
        issues=("Test rig broken",),
        complete=True,
        confirmed_activities=(EXECUTION.activities[0].key,),
    )
    form = update_form(brief, EXECUTION, names, {}, "")
    submitted = as_run_input(update, packages)
    received = form.model_validate(submitted).model_dump()
    assert from_run_input(received, packages) == update
    # as Prefect keeps it (JSON: dates as text), when a resumed run reads it back
    assert from_run_input(json.loads(json.dumps(submitted)), packages) == update


def test_the_plan_form_takes_the_plan_as_yaml_and_the_activities_as_choices():
    planning = load_lifecycle("pmbok-waterfall").lifecycle.stage("planning")
    form = plan_form(planning, "## Plan")
    schema = form.model_json_schema()
    assert set(schema["required"]) == {"plan_yaml"}
    choices = schema["properties"]["confirmed_activities"]["items"]["enum"]
    assert choices == ["define-milestones", "baseline-budget", "plan-risk-responses"]
    brief = make_brief()
    given = form.model_validate(
        {"plan_yaml": brief.plan.to_yaml(), "confirmed_activities": ["baseline-budget"]}
    )
    assert read_plan_text(given.plan_yaml, fmt="yaml", source="plan_yaml") == brief.plan
