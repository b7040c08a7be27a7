from typing import get_args

import pytest

from pmo.templating import BUNDLED_TEMPLATES
from process_library.errors import LifecycleError
from process_library.loader import (
    available_lifecycles,
    load_lifecycle,
    load_lifecycle_file,
    validate_library,
)
from process_library.schema import DOCUMENT_TITLES, DocumentKey
from tests.factories import lifecycle_data, write_lifecycle

pytestmark = pytest.mark.unit


def test_the_library_holds_five_lifecycles_and_each_validates():
    assert set(available_lifecycles()) == {
        "hybrid-agile",
        "pm2",
        "pmbok-waterfall",
        "prince2",
        "stage-gate",
    }
    assert [loaded.lifecycle.name for loaded in validate_library()] == available_lifecycles()


def test_pmbok_waterfall_is_the_four_stages_the_pmo_expects():
    lifecycle = load_lifecycle("pmbok-waterfall").lifecycle
    assert [(s.key, s.gate.key) for s in lifecycle.stages] == [
        ("initiation", "charter-approval"),
        ("planning", "plan-approval"),
        ("execution", "acceptance"),
        ("closure", "closure-sign-off"),
    ]
    assert [d.key for d in lifecycle.stages[0].documents] == [
        "charter",
        "stakeholder-register",
        "raid-log",
    ]
    assert [d.key for d in lifecycle.stages[3].documents] == [
        "lessons-learned",
        "closure-report",
        "audit-checklist",
    ]
    assert lifecycle.approver_roles == {"sponsor", "pmo"}


def test_stage_gate_has_cooper_gates_with_four_decisions_and_both_kinds_of_criteria():
    lifecycle = load_lifecycle("stage-gate").lifecycle
    gates = [s.gate for s in lifecycle.stages]
    assert [g.key for g in gates[:5]] == [
        "gate-1-idea-screen",
        "gate-2-second-screen",
        "gate-3-go-to-development",
        "gate-4-go-to-testing",
        "gate-5-go-to-launch",
    ]
    for gate in gates[:5]:
        assert set(gate.decisions) == {"go", "kill", "hold", "recycle"}
        assert gate.must_meet and gate.should_meet


def test_version_is_a_content_hash_that_changes_with_the_content(tmp_path):
    data = lifecycle_data()
    first = load_lifecycle_file(write_lifecycle(tmp_path, data))
    assert first.version == load_lifecycle_file(write_lifecycle(tmp_path, data)).version
    data["stages"][0]["purpose"] = "Authorise the project."
    assert load_lifecycle_file(write_lifecycle(tmp_path, data)).version != first.version


def test_tailoring_drops_documents_a_small_project_does_not_need():
    lifecycle = load_lifecycle("pmbok-waterfall").lifecycle
    execution = {s.key: s for s in lifecycle.tailored_for("small").stages}["execution"]
    assert [d.key for d in execution.documents] == ["deliverables"]


def test_unknown_lifecycle_names_the_known_ones():
    with pytest.raises(LifecycleError) as error:
        load_lifecycle("prince3")
    assert str(error.value) == (
        "lifecycle: unknown lifecycle 'prince3' "
        "(known: hybrid-agile, pm2, pmbok-waterfall, prince2, stage-gate)"
    )


def broken(tmp_path, change) -> str:
    data = lifecycle_data()
    change(data)
    path = write_lifecycle(tmp_path, data)
    with pytest.raises(LifecycleError) as error:
        load_lifecycle_file(path)
    message = str(error.value)
    assert "\n" not in message and message.startswith(str(path))
    return message.removeprefix(f"{path}: ")


def test_a_gate_without_approvers_is_named_by_its_stage(tmp_path):
    message = broken(tmp_path, lambda d: d["stages"][1]["gate"].pop("approvers"))
    assert message == "stages[planning].gate.approvers: Field required"


def test_an_unknown_decision_is_refused(tmp_path):
    def change(d):
        d["stages"][0]["gate"]["decisions"] = ["go", "maybe"]

    assert "stages[initiation].gate.decisions" in broken(tmp_path, change)


def test_duplicate_stage_keys_are_refused(tmp_path):
    def change(d):
        d["stages"][1]["key"] = "initiation"

    assert "stage keys must be unique, repeated: initiation" in broken(tmp_path, change)


def test_a_gate_that_cannot_say_go_is_refused(tmp_path):
    def change(d):
        d["stages"][0]["gate"]["decisions"] = ["kill"]

    assert "must allow 'go'" in broken(tmp_path, change)


def test_malformed_evidence_is_refused(tmp_path):
    def change(d):
        d["stages"][0]["gate"]["must_meet"][0]["evidence"] = "charter"

    assert "must_meet[charter-complete].evidence" in broken(tmp_path, change)


def test_unknown_document_is_refused(tmp_path):
    def change(d):
        d["stages"][0]["documents"] = [{"key": "memo"}]

    assert "stages[initiation].documents" in broken(tmp_path, change)


def test_invalid_yaml_names_the_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("name: bad\nstages: [\n  - key: x\n", encoding="utf-8")
    with pytest.raises(LifecycleError, match=r"bad.yaml:\d+: is not valid YAML"):
        load_lifecycle_file(path)


def test_name_must_match_the_file(tmp_path):
    data = lifecycle_data()
    path = tmp_path / "other.yaml"
    path.write_text((write_lifecycle(tmp_path, data)).read_text(), encoding="utf-8")
    with pytest.raises(LifecycleError, match="must match the file name 'other'"):
        load_lifecycle_file(path)


def test_every_document_a_lifecycle_may_name_has_a_title_and_a_bundled_template():
    for key in (*get_args(DocumentKey), "gate-review"):
        assert key in DOCUMENT_TITLES
        assert (BUNDLED_TEMPLATES / f"{key}.md.j2").is_file(), key


def test_a_timeout_policy_must_be_a_decision_the_gate_allows(tmp_path):
    def change(d):
        d["stages"][3]["gate"]["timing"] = {"sla_hours": 24, "on_timeout": "kill"}

    message = broken(tmp_path, change)
    assert message.startswith("stages[closure].gate")
    assert "timing.on_timeout 'kill' is not in decisions" in message


def test_a_timeout_policy_needs_an_sla_and_a_reminder_comes_first(tmp_path):
    def no_sla(d):
        d["stages"][0]["gate"]["timing"] = {"on_timeout": "hold"}

    def late_reminder(d):
        d["stages"][0]["gate"]["timing"] = {"remind_after_hours": 50, "sla_hours": 48}

    assert "on_timeout needs sla_hours" in broken(tmp_path, no_sla)
    assert "remind_after_hours must come before sla_hours" in broken(tmp_path, late_reminder)


def test_contacts_are_checked_email_addresses(tmp_path):
    def change(d):
        d["pmo_contacts"] = ["pmo-office at example.com"]

    assert broken(tmp_path, change) == (
        "pmo_contacts[0]: 'pmo-office at example.com' is not a valid email address: "
        "An email address must have an @-sign."
    )


def test_reporting_tolerances_and_the_exception_gate_are_checked_naming_the_field(tmp_path):
    def negative(d):
        d["stages"][2]["tolerances"]["cost_percent"] = -5

    def no_tolerances(d):
        d["stages"][2].pop("tolerances")

    def later_replan(d):
        d["stages"][2]["exception_gate"]["replan_stage"] = "closure"

    def rag_share(d):
        d["rag"] = {"amber_share": 1.5}

    assert broken(tmp_path, negative) == (
        "stages[execution].tolerances.cost_percent: Input should be greater than or equal to 0"
    )
    assert "needs tolerances and an exception_gate" in broken(tmp_path, no_tolerances)
    assert "replan_stage 'closure' must be this stage or an earlier one" in broken(
        tmp_path, later_replan
    )
    assert broken(tmp_path, rag_share) == "rag.amber_share: Input should be less than 1"


def test_both_lifecycles_report_status_in_their_delivery_stage():
    for name, stage in (("pmbok-waterfall", "execution"), ("stage-gate", "development")):
        lifecycle = load_lifecycle(name).lifecycle
        assert [s.key for s in lifecycle.stages if s.reporting] == [stage]
        assert lifecycle.stage(stage).exception_gate.approvers == ("sponsor",)
