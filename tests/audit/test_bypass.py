"""Runs moved past a gate other than through it, found in a run's state history."""

from datetime import UTC, datetime, timedelta

import pytest

from pmo.audit.bypass import RunReason, find_bypasses
from pmo.audit.run_history import RunHistory, StateMark

pytestmark = pytest.mark.unit

T0 = datetime(2027, 3, 1, 9, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def run(*marks: tuple[float, str, str, str], state: str = "PAUSED") -> RunHistory:
    states = tuple(StateMark(at(m), kind, name, message) for m, kind, name, message in marks)
    return RunHistory("run-1", state, states[-1].name, T0, states)


STARTED = [(0, "RUNNING", "Running", ""), (1, "PAUSED", "Suspended", "Waiting at gate")]
RESUMED = [(10, "SCHEDULED", "Resuming", ""), (10.1, "RUNNING", "Running", "")]
PAUSED_AGAIN = [(11, "PAUSED", "Suspended", "")]


def answer(minutes: float, kind: str = "answer", *, before_resume: bool = False) -> RunReason:
    """An answer (or policy decision) on record; the Resume form's follow the resume,
    `pmo approve`'s and the policy's come first and wake the run."""
    follows = not before_resume and kind != "policy"
    return RunReason(at(minutes), "Charter approval", kind, "go by dana.reyes@example.com", follows)


def test_a_resume_followed_by_a_recorded_answer_is_no_bypass():
    history = run(*STARTED, *RESUMED, *PAUSED_AGAIN)
    assert find_bypasses(history, project_status="active", waiting_at="Plan approval",
                         reasons=[answer(10.5)]) == []  # fmt: skip


def test_an_answer_pmo_approve_recorded_before_the_wake_explains_it():
    history = run(*STARTED, *RESUMED, *PAUSED_AGAIN)
    assert find_bypasses(history, project_status="active", waiting_at="Plan approval",
                         reasons=[answer(9.9, before_resume=True)]) == []  # fmt: skip
    # recorded long after the run was woken, it explains nothing
    late = [answer(10.5, before_resume=True)]
    assert len(find_bypasses(history, project_status="active", waiting_at="Plan approval",
                             reasons=late)) == 1  # fmt: skip


def test_a_policy_decision_recorded_before_the_wake_explains_it():
    history = run(*STARTED, *RESUMED, *PAUSED_AGAIN)
    reasons = [answer(9, "policy")]
    assert find_bypasses(history, project_status="on-hold", waiting_at="Charter approval",
                         reasons=reasons) == []  # fmt: skip


def test_a_resume_with_nothing_recorded_is_a_control_gap_naming_the_state_set():
    history = run(
        *STARTED,
        (10, "SCHEDULED", "Scheduled", "set by hand in the UI"),
        (10.1, "RUNNING", "Running", ""),
        *PAUSED_AGAIN,
    )
    found = find_bypasses(history, project_status="active", waiting_at="Charter approval",
                          reasons=[])  # fmt: skip
    assert len(found) == 1
    assert found[0].finding == "control gap" and found[0].at == at(10)
    assert found[0].what == (
        "left its pause at 2027-03-01 09:10:00 UTC (state set to Scheduled ('set by hand in "
        "the UI')) with no answer, policy decision or update recorded"
    )


def test_an_answer_recorded_before_the_resume_does_not_explain_it():
    history = run(*STARTED, *RESUMED, *PAUSED_AGAIN)
    found = find_bypasses(history, project_status="active", waiting_at="Charter approval",
                          reasons=[answer(5)])  # fmt: skip
    assert [b.at for b in found] == [at(10)]


def test_each_answer_explains_one_resume_only():
    history = run(*STARTED, *RESUMED, *PAUSED_AGAIN, (20, "SCHEDULED", "Resuming", ""),
                  (20.1, "RUNNING", "Running", ""), (21, "PAUSED", "Suspended", ""))  # fmt: skip
    found = find_bypasses(history, project_status="active", waiting_at="Charter approval",
                          reasons=[answer(10.5)])  # fmt: skip
    assert [b.at for b in found] == [at(20)]


def test_a_refused_response_is_reported_with_its_reason():
    history = run(*STARTED, *RESUMED, *PAUSED_AGAIN)
    refused = RunReason(at(10.5), "Charter approval", "refused", "the code is wrong")
    found = find_bypasses(history, project_status="active", waiting_at="Charter approval",
                          reasons=[refused])  # fmt: skip
    assert [b.what for b in found] == [
        "resumed at Charter approval with a response the gate refused: the code is wrong"
    ]


def test_a_run_marked_completed_while_its_project_waits_at_a_gate():
    history = run(*STARTED, (30, "COMPLETED", "Completed", "done by hand"), state="COMPLETED")
    found = find_bypasses(history, project_status="active", waiting_at="Plan approval",
                          reasons=[])  # fmt: skip
    assert [(b.finding, b.what) for b in found] == [
        (
            "control gap",
            "marked Completed ('done by hand') while the project waited at Plan approval; "
            "the project is still active in the store, no gate closed it",
        )
    ]


def test_a_crashed_run_is_a_delivery_risk_and_a_closed_project_is_no_finding():
    crashed = run(*STARTED[:1], (3, "CRASHED", "Crashed", "worker lost"), state="CRASHED")
    found = find_bypasses(crashed, project_status="active", waiting_at=None, reasons=[])
    assert [b.finding for b in found] == ["delivery risk"]
    assert "ended Crashed ('worker lost') mid-stage" in found[0].what
    done = run(*STARTED[:1], (3, "COMPLETED", "Completed", ""), state="COMPLETED")
    assert find_bypasses(done, project_status="closed", waiting_at=None, reasons=[]) == []
