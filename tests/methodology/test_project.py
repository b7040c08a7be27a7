"""A project's lifecycle: tailored to its tier, category and risk, its repeated stages laid
out from the brief, checked against the brief; refusals name the brief's field."""

import pytest

from pmo.errors import BriefError
from pmo.methodology.project import prepare_lifecycle, project_facts
from process_library.loader import load_lifecycle
from tests.factories import make_brief

pytestmark = pytest.mark.unit

PRINCE2 = load_lifecycle("prince2")
HYBRID = load_lifecycle("hybrid-agile")


def refused(brief, loaded) -> str:
    with pytest.raises(BriefError) as error:
        prepare_lifecycle(brief, loaded, source="brief.yaml")
    assert "\n" not in str(error.value)
    return str(error.value)


def test_the_example_brief_runs_two_management_stages_and_is_tailored_for_its_risk():
    prepared = prepare_lifecycle(make_brief(), PRINCE2)
    lifecycle = prepared.loaded.lifecycle
    assert prepared.loaded.version == PRINCE2.version
    assert [s.name for s in lifecycle.stages] == [
        "Starting up a project",
        "Initiating a project",
        "Management stage 1: Integration",
        "Management stage 2: Roll-out",
        "Closing a project",
    ]
    assert [n.rule for n in prepared.tailoring] == ["high-risk-closer-control"]
    assert lifecycle.tailoring == ()
    assert "pmo" in lifecycle.stage("management-stage-2").gate.approvers


def test_risk_level_is_the_highest_rating_and_low_without_risks():
    assert project_facts(make_brief()).risk == "high"
    assert project_facts(make_brief(risks=[])).risk == "low"
    medium = [
        {"description": "Late", "probability": "medium", "impact": "medium", "owner": "a@b.co"}
    ]
    assert project_facts(make_brief(risks=medium)).risk == "medium"


def test_a_lifecycle_that_repeats_a_stage_needs_its_items_in_the_brief():
    assert refused(make_brief(repetitions={}), HYBRID) == (
        "brief.yaml: repetitions.releases: lifecycle 'hybrid-agile' runs stage 'Construction' "
        "once per item of repetitions.releases: give 1 to 12 (each a name and a goal); none given"
    )
    many = {"releases": [{"name": f"Release {n}"} for n in range(13)]}
    assert refused(make_brief(repetitions=many), HYBRID).endswith("; 13 given")


def test_an_unknown_category_is_refused_with_the_known_ones():
    assert refused(make_brief(category="fun"), HYBRID) == (
        "brief.yaml: category: 'fun' is not a project category "
        "(known: mandatory, grow, run, transform)"
    )


def test_a_role_the_tailoring_adds_must_have_people():
    approvers = {k: v for k, v in make_brief().approvers.items() if k != "pmo"}
    assert refused(make_brief(approvers=approvers), PRINCE2) == (
        "brief.yaml: approvers.pmo: lifecycle 'prince2' gate 'authorise-initiation' needs at "
        "least one 'pmo' approver"
    )
    # without the high-rated risk, no rule adds the PMO to the board's gates
    prepare_lifecycle(make_brief(approvers=approvers, risks=[]), PRINCE2)


def test_a_category_tailors_what_the_gates_ask():
    prepared = prepare_lifecycle(make_brief(category="mandatory", risks=[]), PRINCE2)
    assert [n.rule for n in prepared.tailoring] == ["mandatory-no-business-case-scoring"]
    should = prepared.loaded.lifecycle.stage("starting-up").gate.should_meet
    assert [c.key for c in should] == ["lessons-applied"]
