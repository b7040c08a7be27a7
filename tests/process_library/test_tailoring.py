"""Tailoring rules as data: by tier, category and risk, each change with its reason."""

import pytest

from process_library.errors import LifecycleError
from process_library.loader import load_lifecycle, load_lifecycle_file
from process_library.schema import Lifecycle
from process_library.tailoring import ProjectFacts, load_categories, tailor
from tests.factories import lifecycle_data, write_lifecycle

pytestmark = pytest.mark.unit

PRINCE2 = load_lifecycle("prince2").lifecycle


def facts(tier="medium", category=None, risk="low") -> ProjectFacts:
    return ProjectFacts(tier=tier, category=category, risk=risk)


def test_nothing_applies_to_a_plain_project_and_the_result_keeps_no_rules():
    tailored, notes = tailor(PRINCE2, facts())
    assert notes == []
    assert tailored.tailoring == ()
    assert tailored.stages == PRINCE2.stages


def test_a_high_risk_project_gets_tighter_control_with_the_reason():
    tailored, notes = tailor(PRINCE2, facts(risk="high"))
    assert [n.rule for n in notes] == ["high-risk-closer-control"]
    assert notes[0].why.startswith("A project with a high-rated risk is managed more closely")
    stage = tailored.stage("management-stage")
    assert stage.reporting.every_days == 7
    assert stage.tolerances.cost_percent == 5 and stage.tolerances.scope_percent == 2.5
    assert stage.tolerances.risk_score == 6  # not a percent: left as it is
    assert tailored.stage("initiating").gate.approvers == (
        "executive",
        "senior-user",
        "senior-supplier",
        "pmo",
    )
    # the exception gate is the executive's alone still
    assert stage.exception_gate.approvers == ("executive",)
    assert "Management stage reports status every 7 days (instead of 14)" in notes[0].changes
    assert "Authorise initiation also needs pmo" in notes[0].changes


def test_a_small_project_drops_documents_by_rule_and_by_their_tiers():
    tailored, notes = tailor(PRINCE2, facts(tier="small"))
    assert [n.rule for n in notes] == ["document-tiers", "small-project-light-paperwork"]
    assert notes[0].changes == (
        "Communication plan not written in Initiating a project (for tiers medium, large)",
        "RAID log not written in Management stage (for tiers medium, large)",
    )
    assert "RAID log not written in Starting up a project" in notes[1].changes
    written = {d.key for s in tailored.stages for d in s.documents}
    assert not written & {"communication-plan", "raid-log"}


def test_a_mandatory_project_is_not_scored_on_its_return():
    tailored, notes = tailor(PRINCE2, facts(category="mandatory"))
    keys = [c.key for c in tailored.stage("starting-up").gate.should_meet]
    assert "return-on-investment" not in keys and "lessons-applied" in keys
    assert notes[0].changes == (
        "Authorise initiation does not ask: The expected return justifies the investment "
        "against other uses of the money.",
    )


def test_rules_apply_only_when_every_facet_given_matches():
    data = lifecycle_data()
    data["tailoring"] = [
        {
            "key": "large-and-risky",
            "when": {"tier": ["large"], "risk": ["high"]},
            "why": "Large and risky projects report weekly.",
            "reporting_every_days": 7,
        }
    ]
    lifecycle = Lifecycle.model_validate(data)
    assert tailor(lifecycle, facts(tier="large", risk="medium"))[1] == []
    assert [n.rule for n in tailor(lifecycle, facts(tier="large", risk="high"))[1]] == [
        "large-and-risky"
    ]


def refusal(tmp_path, rule) -> str:
    data = lifecycle_data()
    data["tailoring"] = [rule]
    path = write_lifecycle(tmp_path, data)
    with pytest.raises(LifecycleError) as error:
        load_lifecycle_file(path)
    return str(error.value).removeprefix(f"{path}: ")


def rule(**fields):
    return {"key": "r", "when": {"tier": ["small"]}, "why": "Because.", **fields}


def test_malformed_rules_are_refused_naming_the_rule(tmp_path):
    assert refusal(tmp_path, rule(drop_documents=["business-case"])) == (
        "tailoring[r].drop_documents: no stage writes 'business-case'"
    )
    assert refusal(tmp_path, rule(drop_documents=["plan-baseline"])) == (
        "tailoring[r].drop_documents: 'plan-baseline' is the evidence of criterion "
        "'baseline-complete'; drop that criterion too"
    )
    assert refusal(tmp_path, rule(drop_criteria=["nonsense"])) == (
        "tailoring[r].drop_criteria: no gate has criterion 'nonsense'"
    )
    assert refusal(tmp_path, rule(add_documents=[{"stage": "nowhere", "key": "raid-log"}])) == (
        "tailoring[r].add_documents: no stage 'nowhere'"
    )
    assert refusal(tmp_path, rule()) == "tailoring[r]: a tailoring rule must change something"
    assert refusal(tmp_path, {**rule(reporting_every_days=7), "when": {}}) == (
        "tailoring[r].when: a rule's `when` needs tier, category or risk"
    )
    assert refusal(tmp_path, {**rule(reporting_every_days=7), "why": " "}).startswith(
        "tailoring[r].why: String should have at least 1 character"
    )


def test_a_rule_for_an_unknown_category_is_refused_with_the_known_ones(tmp_path):
    message = refusal(tmp_path, {**rule(reporting_every_days=7), "when": {"category": ["fun"]}})
    assert message == (
        "tailoring[r].when.category: 'fun' is not a project category "
        "(known: mandatory, grow, run, transform)"
    )


def test_categories_are_data_with_names_and_descriptions():
    categories = load_categories()
    assert categories.keys == ["mandatory", "grow", "run", "transform"]
    assert all(c.name and c.description for c in categories.categories)


def test_added_documents_are_written_where_the_rule_says():
    data = lifecycle_data()
    data["tailoring"] = [
        rule(
            when={"risk": ["high"]},
            add_documents=[{"stage": "planning", "key": "raid-log"}],
        )
    ]
    tailored, notes = tailor(Lifecycle.model_validate(data), facts(risk="high"))
    assert [d.key for d in tailored.stage("planning").documents][-1] == "raid-log"
    assert notes[0].changes == ("RAID log written in Planning",)
