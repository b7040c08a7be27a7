"""The rules of a gate at the command line and in the gate-sla check, on SQLite and
PostgreSQL: every refusal says why in one line and is recorded, five wrong codes lock
the gate, reminders and escalations go out once, a timeout policy decides as the policy."""

import json
import uuid
from datetime import datetime, timedelta

import pytest
from typer.testing import CliRunner

from pmo.cli import app
from pmo.gates.answers import judge_answer, record_answer, send_approval_request
from pmo.gates.rules import Answer
from pmo.gates.sla import check_gate_slas
from pmo.mail import compose_message, read_outbox
from pmo.store import session_scope
from pmo.store.models import Gate, GateDecision, StageRun, utcnow
from pmo.store.records import mark_decided
from process_library.loader import load_lifecycle
from tests.factories import brief_data, make_brief
from tests.gate_mail import CODE_LINE
from tests.project_record import at_gate

pytestmark = pytest.mark.integration

SPONSOR, PMO = "dana.reyes@example.com", "pmo@example.com"
WATERFALL = load_lifecycle("pmbok-waterfall")


def open_gate(lifecycle=WATERFALL, stage_index=0, brief=None, key="APOLLO"):
    """A project waiting at a gate with a code mailed (to the outbox) to every approver."""
    brief = brief or make_brief(key=key)
    run_id = str(uuid.uuid4())
    stage = lifecycle.lifecycle.stages[stage_index]
    codes = {}
    with session_scope() as session:
        _, _, gate = at_gate(session, brief, stage, lifecycle=lifecycle, run_id=run_id)
        for roles in stage.gate.approvers:
            for approver in brief.approvers[roles]:

                def compose(code, approver=approver, links=None):
                    codes[approver] = code
                    return compose_message(
                        to=[approver],
                        subject="Decide",
                        body=f"Approval code: {code}",
                        message_id_key=f"t/{gate.id}/{approver}",
                    )

                send_approval_request(
                    session, gate=gate, round=1, approver=approver, compose=compose
                )
        gate_id = gate.id
    return run_id, gate_id, stage, brief, codes


def approve(run_id, approver, code, decision="go"):
    return CliRunner().invoke(
        app, ["approve", run_id, "--as", approver, "--decision", decision, "--code", code]
    )


def error_line(result) -> str:
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2, result.output
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    return lines[0]


def refusals(gate_id):
    with session_scope() as session:
        rows = session.query(GateDecision).filter_by(gate_id=gate_id).order_by(GateDecision.id)
        return [(r.approver_email, r.accepted, r.refusal_kind, r.channel) for r in rows]


def test_each_bad_answer_is_refused_in_one_line_and_recorded(store_url, prefect_api):
    run_id, gate_id, stage, brief, codes = open_gate()
    _, other_gate_id, _, _, other_codes = open_gate(key="OTHER")

    assert error_line(approve("not-a-run", SPONSOR, "x")) == (
        "error: RUN_ID: 'not-a-run' is not a run id"
    )
    unknown = str(uuid.uuid4())
    assert error_line(approve(unknown, SPONSOR, "x")) == (
        f"error: RUN_ID: no lifecycle run {unknown} is known to this PMO"
    )
    assert error_line(approve(run_id, "lee.park@example.com", codes[SPONSOR])) == (
        "error: gate 'Charter approval': answer refused: lee.park@example.com is not an "
        "approver of gate 'charter-approval'"
    )
    assert "is the project manager" in error_line(approve(run_id, "sam.okafor@example.com", "x"))
    assert error_line(approve(run_id, SPONSOR, "ZZZZ-ZZZZ-ZZZZ")).endswith(
        "answer refused: the approval code is wrong"
    )
    # a real code, but mailed for another project's gate
    assert error_line(approve(run_id, SPONSOR, other_codes[SPONSOR])).endswith(
        "answer refused: the approval code is wrong"
    )
    assert error_line(approve(run_id, "not an email", "x")).startswith(
        "error: --as: 'not an email' is not a valid email address"
    )

    # the sponsor's answer counts once; the same code again is refused
    with session_scope() as session:
        answer = Answer(SPONSOR, "go", codes[SPONSOR])
        assert record_answer(
            session,
            gate_id=gate_id,
            definition=stage.gate,
            brief=brief,
            response_key="k1",
            answer=answer,
            channel="prefect",
            flow_run_id=run_id,
        ).accepted
    assert error_line(approve(run_id, SPONSOR, codes[SPONSOR])).endswith(
        "answer refused: the approval code was already used"
    )
    assert refusals(gate_id) == [
        ("lee.park@example.com", False, "not-an-approver", "cli"),
        ("sam.okafor@example.com", False, "project-manager", "cli"),
        (SPONSOR, False, "wrong-code", "cli"),
        (SPONSOR, False, "wrong-code", "cli"),
        (SPONSOR, True, None, "prefect"),
        (SPONSOR, False, "code-used", "cli"),
    ]
    assert refusals(other_gate_id) == []

    # a decided gate is not open any more
    with session_scope() as session:
        gate = session.get(Gate, gate_id)
        mark_decided(
            session,
            gate=gate,
            stage_run=session.get(StageRun, gate.stage_run_id),
            round=1,
            outcome="go",
            at=utcnow(),
        )
    assert error_line(approve(run_id, PMO, codes[PMO])) == (
        f"error: RUN_ID: run {run_id} (APOLLO) is not waiting at a gate: the project is active, "
        "at initiation"
    )


def test_a_decision_the_gate_does_not_allow_is_refused(store_url, prefect_api):
    closure = len(WATERFALL.lifecycle.stages) - 1  # closure sign-off: go, recycle, hold
    run_id, gate_id, *_, codes = open_gate(stage_index=closure)
    line = error_line(approve(run_id, SPONSOR, codes[SPONSOR], decision="kill"))
    assert line.endswith(
        "answer refused: decision 'kill' is not allowed at gate 'closure-sign-off' "
        "(go, recycle, hold)"
    )
    assert refusals(gate_id) == [(SPONSOR, False, "decision-not-allowed", "cli")]


def test_five_wrong_codes_lock_the_gate_alert_the_pmo_and_only_the_pmo_unlocks_it(
    store_url, prefect_api, smtp_server
):
    run_id, gate_id, stage, brief, codes = open_gate()
    for attempt in range(5):
        assert error_line(approve(run_id, SPONSOR, f"WRNG-{attempt:04d}-ZZZZ")).endswith(
            "the approval code is wrong"
        )
    listed = json.loads(CliRunner().invoke(app, ["gates", "--json"]).output)
    assert [(g["project"], g["status"], g["waiting_for"]) for g in listed] == [
        ("APOLLO", "locked", [SPONSOR, PMO])
    ]
    since, due = (datetime.fromisoformat(listed[0][k]) for k in ("since", "due"))
    assert due - since == timedelta(hours=120)  # the charter gate's SLA
    alerts = [m for m in smtp_server.messages if "locked" in str(m["Subject"])]
    assert [str(m["To"]) for m in alerts] == ["pmo-office@example.com"]
    assert f"pmo unlock {run_id}" in alerts[0].get_body(("plain",)).get_content()

    # locked: even the right code is refused, and does not count as a sixth guess
    assert error_line(approve(run_id, PMO, codes[PMO])).endswith(
        "gate 'charter-approval' is locked after 5 wrong codes; the PMO must unlock it"
    )
    unlock = ["unlock", run_id, "--as"]
    assert error_line(CliRunner().invoke(app, [*unlock, SPONSOR])) == (
        f"error: --as: {SPONSOR} is not a PMO contact of lifecycle 'pmbok-waterfall'"
    )
    result = CliRunner().invoke(app, [*unlock, "pmo-office@example.com"])
    assert result.exit_code == 0, result.output
    assert error_line(CliRunner().invoke(app, [*unlock, "pmo-office@example.com"])).endswith(
        "is not locked"
    )

    renewed = {
        str(m["To"]): CODE_LINE.search(m.get_body(("plain",)).get_content()).group(1)
        for m in smtp_server.messages
        if "new code" in str(m["Subject"])
    }
    assert set(renewed) == {SPONSOR, PMO}
    with session_scope() as session:
        gate = session.get(Gate, gate_id)
        assert (gate.locked_at, gate.wrong_codes) == (None, 0)
        old = judge_answer(
            session,
            gate=gate,
            definition=stage.gate,
            brief=brief,
            answer=Answer(PMO, "go", codes[PMO]),
        )
        assert old is not None and old.kind == "wrong-code"
        assert (
            judge_answer(
                session,
                gate=gate,
                definition=stage.gate,
                brief=brief,
                answer=Answer(PMO, "go", renewed[PMO]),
            )
            is None
        )


def test_gate_sla_reminds_then_escalates_once_per_round(store_url):
    run_id, gate_id, stage, brief, codes = open_gate()
    opened = utcnow()
    assert check_gate_slas(now=opened + timedelta(hours=1)) == []
    actions = check_gate_slas(now=opened + timedelta(hours=49))
    assert [(a.kind, a.detail) for a in actions] == [("reminded", f"{SPONSOR}, {PMO}")]
    assert check_gate_slas(now=opened + timedelta(hours=50)) == []
    reminders = [m for m in read_outbox() if "reminder" in str(m["Subject"])]
    assert sorted(str(m["To"]) for m in reminders) == [SPONSOR, PMO]
    new_code = CODE_LINE.search(
        next(m for m in reminders if str(m["To"]) == SPONSOR).get_body(("plain",)).get_content()
    ).group(1)
    with session_scope() as session:
        gate = session.get(Gate, gate_id)
        judged = [
            judge_answer(
                session,
                gate=gate,
                definition=stage.gate,
                brief=brief,
                answer=Answer(SPONSOR, "go", code),
            )
            for code in (codes[SPONSOR], new_code)
        ]
        assert judged[0].kind == "wrong-code" and judged[1] is None  # the reminder's code replaces

    actions = check_gate_slas(now=opened + timedelta(hours=121))
    assert [a.kind for a in actions] == ["escalated"]
    assert check_gate_slas(now=opened + timedelta(hours=122)) == []
    with session_scope() as session:
        assert session.get(Gate, gate_id).escalated_at is not None
    escalations = [m for m in read_outbox() if "past its SLA" in str(m["Subject"])]
    assert [str(m["To"]) for m in escalations] == ["pmo-office@example.com"]
    assert "no timeout policy" in escalations[0].get_body(("plain",)).get_content()
    assert refusals(gate_id) == []  # waiting past the SLA decides nothing without a policy


def test_a_timeout_policy_decides_as_the_policy_never_as_a_person(store_url):
    stage_gate = load_lifecycle("stage-gate")
    brief = make_brief(
        key="NOVA",
        approvers={"gatekeepers": [SPONSOR, PMO], "sponsor": [SPONSOR]},
        **{k: v for k, v in brief_data().items() if k not in ("key", "approvers")},
    )
    _, gate_id, *_ = open_gate(lifecycle=stage_gate, brief=brief)
    actions = check_gate_slas(now=utcnow() + timedelta(hours=121))
    assert [(a.kind, a.detail) for a in actions if a.kind != "reminded"] == [
        ("escalated", f"{SPONSOR}, {PMO}"),
        ("decided-by-policy", "hold"),
    ]
    assert check_gate_slas(now=utcnow() + timedelta(hours=122)) == []
    with session_scope() as session:
        (row,) = session.query(GateDecision).filter_by(gate_id=gate_id).all()
        assert (row.approver_email, row.decision, row.channel, row.accepted) == (
            "policy",
            "hold",
            "policy",
            True,
        )
        assert "SLA" in row.comment
    escalations = [m for m in read_outbox() if "past its SLA" in str(m["Subject"])]
    assert [str(m["To"]) for m in escalations] == ["portfolio-board@example.com"]
