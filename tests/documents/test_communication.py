"""Stakeholder quadrants and the communication plan, derived from policy, brief and gates."""

import pytest

from pmo.documents.communication import communication_plan, engaged_stakeholders
from process_library.communication import load_communication_policy
from process_library.loader import load_lifecycle
from tests.factories import make_brief

pytestmark = pytest.mark.unit

POLICY = load_communication_policy()
LIFECYCLE = load_lifecycle("pmbok-waterfall").lifecycle


@pytest.mark.parametrize(
    ("influence", "interest", "quadrant"),
    [
        ("high", "high", "Manage closely"),
        ("high", "medium", "Keep satisfied"),
        ("low", "high", "Keep informed"),
        ("medium", "medium", "Monitor"),
    ],
)
def test_the_policy_places_each_level_pair_in_one_quadrant(influence, interest, quadrant):
    assert POLICY.quadrant(influence, interest).name == quadrant


def test_stakeholders_are_numbered_in_brief_order():
    engaged = engaged_stakeholders(make_brief())
    assert [(e.number, e.person.name) for e in engaged][:2] == [
        (1, "Dana Reyes"),
        (2, "Lee Park"),
    ]


def test_the_plan_sends_each_stakeholder_their_quadrants_messages_and_approvers_their_packs():
    brief = make_brief()
    lines = communication_plan(brief, LIFECYCLE)
    per_quadrant = sum(
        len(POLICY.quadrant(s.influence, s.interest).messages) for s in brief.stakeholders
    )
    stakeholder_lines, approver_lines = lines[:per_quadrant], lines[per_quadrant:]
    assert {line.audience for line in stakeholder_lines} == {s.name for s in brief.stakeholders}
    assert [(a.audience, a.basis) for a in approver_lines] == [
        ("Dana Reyes", "Gate approver (sponsor)"),
        ("pmo@example.com", "Gate approver (pmo)"),
    ]
    assert approver_lines[0].frequency == (
        "At each of their gates: Charter approval, Plan approval, Acceptance, Closure sign-off"
    )
    assert approver_lines[1].frequency == (
        "At each of their gates: Charter approval, Plan approval, Closure sign-off"
    )


def test_a_brief_without_stakeholders_still_plans_the_approvers_messages():
    lines = communication_plan(make_brief(stakeholders=[]), LIFECYCLE)
    assert {line.basis for line in lines} == {"Gate approver (sponsor)", "Gate approver (pmo)"}
