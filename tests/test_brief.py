import pytest

from pmo.brief import ProjectBrief, load_brief
from pmo.errors import BriefError
from process_library.loader import load_lifecycle
from tests.factories import brief_data, make_brief, write_brief

pytestmark = pytest.mark.unit


def test_the_example_brief_loads_with_every_public_key():
    brief = make_brief()
    assert brief.key == "APOLLO"
    assert brief.sponsor.email == "dana.reyes@example.com"
    assert brief.approvers == {
        "sponsor": ["dana.reyes@example.com"],
        "pmo": ["pmo@example.com"],
        "gatekeepers": ["pmo@example.com", "lee.park@example.com"],
        "executive": ["dana.reyes@example.com"],
        "senior-user": ["lee.park@example.com"],
        "senior-supplier": ["priya.natarajan@example.com"],
        "project-owner": ["dana.reyes@example.com"],
        "steering-committee": ["dana.reyes@example.com", "lee.park@example.com", "pmo@example.com"],
        "product-owner": ["lee.park@example.com"],
    }
    assert brief.category == "grow"
    assert [r.name for r in brief.repetitions["releases"]] == [
        "Order tracking",
        "Invoices and tickets",
    ]
    assert {
        "key",
        "name",
        "purpose",
        "objectives",
        "scope_in",
        "scope_out",
        "sponsor",
        "project_manager",
        "budget",
        "currency",
        "start_date",
        "target_end_date",
        "tier",
        "stakeholders",
        "risks",
        "approvers",
    } <= set(ProjectBrief.model_fields)


def refused(tmp_path, **overrides) -> str:
    path = write_brief(tmp_path, brief_data(**overrides))
    with pytest.raises(BriefError) as error:
        load_brief(path)
    message = str(error.value)
    assert "\n" not in message and message.startswith(f"{path}: ")
    return message.removeprefix(f"{path}: ")


def test_an_invalid_sponsor_email_names_the_field(tmp_path):
    message = refused(tmp_path, sponsor={"name": "Dana", "email": "dana@"})
    assert message.startswith("sponsor.email: 'dana@' is not a valid email address")


def test_an_invalid_approver_email_names_the_role(tmp_path):
    message = refused(tmp_path, approvers={"sponsor": ["not-an-address"], "pmo": ["pmo@x.org"]})
    assert message.startswith("approvers.sponsor[0]: 'not-an-address' is not a valid email")


def test_end_before_start_is_refused(tmp_path):
    message = refused(tmp_path, start_date="2027-05-01", target_end_date="2027-04-30")
    assert message == "target_end_date: 2027-04-30 must be after start_date 2027-05-01"


def test_a_bad_key_and_a_bad_tier_are_refused(tmp_path):
    assert refused(tmp_path, key="has space").startswith("key: String should match pattern")
    assert refused(tmp_path, tier="huge").startswith("tier: Input should be")


def test_an_unknown_field_is_refused_so_typos_are_not_silently_ignored(tmp_path):
    assert refused(tmp_path, budjet=5).startswith("budjet: Extra inputs are not permitted")


def test_a_file_that_is_not_a_mapping_is_refused(tmp_path):
    path = tmp_path / "list.yaml"
    path.write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(BriefError, match="must be a YAML mapping"):
        load_brief(path)


def test_a_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(BriefError, match="cannot be read"):
        load_brief(tmp_path / "nope.yaml")


def test_every_gate_role_needs_an_approver():
    brief = make_brief(approvers={"sponsor": ["dana.reyes@example.com"]})
    with pytest.raises(BriefError) as error:
        brief.check_against(load_lifecycle("pmbok-waterfall").lifecycle)
    assert str(error.value) == (
        "brief: approvers.pmo: lifecycle 'pmbok-waterfall' gate 'charter-approval' needs at "
        "least one 'pmo' approver"
    )


def test_the_project_manager_cannot_be_the_only_approver_of_a_role():
    brief = make_brief(approvers={"sponsor": ["sam.okafor@example.com"], "pmo": ["pmo@x.org"]})
    with pytest.raises(BriefError, match="segregation of duties"):
        brief.check_against(load_lifecycle("pmbok-waterfall").lifecycle)


def test_emails_are_normalised_to_lower_case():
    brief = make_brief(sponsor={"name": "Dana Reyes", "email": "Dana.Reyes@Example.com"})
    assert brief.sponsor.email == "dana.reyes@example.com"
