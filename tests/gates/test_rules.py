import re

import pytest

from pmo.gates.rules import (
    CODE_ALPHABET,
    Answer,
    Refusal,
    gate_approvers,
    gate_outcome,
    hash_code,
    new_code,
    refusal_reason,
)
from process_library.schema import Gate
from tests.factories import make_brief

pytestmark = pytest.mark.unit

GATE = Gate(key="plan-approval", name="Plan approval", approvers=("sponsor", "pmo"))


def test_codes_are_readable_groups_with_60_bits_and_do_not_repeat():
    codes = {new_code() for _ in range(2000)}
    assert len(codes) == 2000
    assert all(
        re.fullmatch(rf"[{CODE_ALPHABET}]{{4}}(-[{CODE_ALPHABET}]{{4}}){{2}}", c) for c in codes
    )
    assert len(CODE_ALPHABET) ** 12 >= 2**60


def test_a_code_hash_is_bound_to_gate_round_and_approver_and_ignores_typing_details():
    base = dict(gate_id=1, round=1, approver="a@example.com", code="ABCD-EFGH-JKMN")
    digest = hash_code(**base)
    assert hash_code(**{**base, "code": "abcd efgh jkmn"}) == digest
    assert hash_code(**{**base, "gate_id": 2}) != digest
    assert hash_code(**{**base, "round": 2}) != digest
    assert hash_code(**{**base, "approver": "b@example.com"}) != digest


def reason(answer: Answer, *, code="ABCD-EFGH-JKMN", used=False, issued=True) -> Refusal | None:
    brief = make_brief()
    stored = hash_code(gate_id=7, round=1, approver=answer.approver, code=code) if issued else None
    return refusal_reason(
        gate=GATE,
        brief=brief,
        answer=answer,
        gate_id=7,
        round=1,
        stored_code_hash=stored,
        code_used=used,
    )


def test_a_valid_answer_has_no_refusal():
    assert reason(Answer("dana.reyes@example.com", "go", "ABCD-EFGH-JKMN")) is None


@pytest.mark.parametrize(
    ("answer", "kwargs", "expected"),
    [
        (
            Answer("dana.reyes@example.com", "go", "ZZZZ-ZZZZ-ZZZZ"),
            {},
            Refusal("wrong-code", "the approval code is wrong"),
        ),
        (
            Answer("dana.reyes@example.com", "go", "ABCD-EFGH-JKMN"),
            {"used": True},
            Refusal("code-used", "the approval code was already used"),
        ),
        (
            Answer("lee.park@example.com", "go", "ABCD-EFGH-JKMN"),
            {},
            Refusal(
                "not-an-approver", "lee.park@example.com is not an approver of gate 'plan-approval'"
            ),
        ),
        (
            Answer("sam.okafor@example.com", "go", "ABCD-EFGH-JKMN"),
            {},
            Refusal(
                "project-manager",
                "sam.okafor@example.com is the project manager and cannot approve their own gate",
            ),
        ),
        (
            Answer("dana.reyes@example.com", "maybe", "ABCD-EFGH-JKMN"),
            {},
            Refusal(
                "decision-not-allowed",
                "decision 'maybe' is not allowed at gate 'plan-approval' (go, kill, hold, recycle)",
            ),
        ),
        (
            Answer("pmo@example.com", "go", "ABCD-EFGH-JKMN"),
            {"issued": False},
            Refusal("no-code", "no approval code was issued to pmo@example.com for this gate"),
        ),
    ],
)
def test_refusals_say_why(answer, kwargs, expected):
    assert reason(answer, **kwargs) == expected


def test_approvers_come_from_the_brief_roles_without_the_project_manager():
    brief = make_brief(
        approvers={
            "sponsor": ["dana.reyes@example.com", "sam.okafor@example.com"],
            "pmo": ["pmo@example.com", "dana.reyes@example.com"],
        }
    )
    assert gate_approvers(GATE, brief) == {
        "dana.reyes@example.com": ["sponsor", "pmo"],
        "pmo@example.com": ["pmo"],
    }


@pytest.mark.parametrize(
    ("quorum", "accepted", "expected"),
    [
        ("all", ["go"], None),
        ("all", ["go", "go", "go"], "go"),
        ("any", ["go"], "go"),
        ("majority", ["go"], None),
        ("majority", ["go", "go"], "go"),
        (2, ["go", "go"], "go"),
        (5, ["go", "go", "go"], "go"),  # never more than there are approvers
        ("all", ["go", "recycle"], "recycle"),
        ("all", ["kill"], "kill"),
        ("any", ["hold"], "hold"),
    ],
)
def test_outcome_follows_quorum_and_an_objection_decides_at_once(quorum, accepted, expected):
    gate = GATE.model_copy(update={"quorum": quorum})
    assert gate_outcome(gate, 3, accepted) == expected
