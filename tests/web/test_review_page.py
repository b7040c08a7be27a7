"""The review page, served by a real uvicorn server, opened from the links in the mail:
opening changes nothing, deciding is a POST with a CSRF token through the store's one
judge, forged, expired and reused links and forged forms record nothing but a refusal,
and typed text shows literally. On SQLite and PostgreSQL."""

import logging
import re

import httpx
import pytest
from sqlalchemy import func, select

from pmo.settings import get_settings
from pmo.store import session_scope
from pmo.store.models import (
    ApprovalCode,
    Gate,
    GateDecision,
    GateScore,
    LedgerEntry,
    StageRun,
    utcnow,
)
from pmo.store.records import mark_decided
from pmo.web.serving import web_in_thread
from tests.factories import make_brief
from tests.web.pages import free_port, mailed_gate

pytestmark = pytest.mark.integration

SPONSOR, PMO = "dana.reyes@example.com", "pmo@example.com"
HOSTILE = '<script>alert("x")</script> & <img src=x onerror=alert(1)> Portal'


@pytest.fixture
def web(store_url, prefect_api, monkeypatch):
    """The approvers' pages on a free port, their base URL the one the mails carry."""
    port = free_port()
    monkeypatch.setenv("PMO_WEB_URL", f"http://127.0.0.1:{port}")
    get_settings.cache_clear()
    with (
        web_in_thread(port=port) as url,
        httpx.Client(base_url=url, timeout=90, follow_redirects=False) as client,
    ):
        yield client


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)


def decide(client, url, page, decision, comment="", csrf=None):
    form = {"csrf": csrf_of(page) if csrf is None else csrf, "decision": decision}
    form["comment"] = comment
    return client.post(url, data=form)


def answers(gate_id) -> list[GateDecision]:
    with session_scope() as session:
        rows = session.scalars(select(GateDecision).where(GateDecision.gate_id == gate_id))
        return [session.expunge(row) or row for row in rows.all()]


def trace() -> tuple[int, int, list]:
    """What a request could have changed: decisions, ledger entries, codes' use."""
    with session_scope() as session:
        return (
            session.scalar(select(func.count()).select_from(GateDecision)),
            session.scalar(select(func.count()).select_from(LedgerEntry)),
            [c.used_at for c in session.scalars(select(ApprovalCode).order_by(ApprovalCode.id))],
        )


def test_the_page_shows_the_gate_and_opening_it_changes_nothing(web, caplog):
    caplog.set_level(logging.INFO, logger="uvicorn.access")
    gate = mailed_gate(make_brief(key="WEBPG", name=HOSTILE))
    url = gate.review[SPONSOR]
    assert url.startswith(str(web.base_url)) and url != gate.review[PMO]
    before = trace()
    for _ in range(3):  # a mail scanner, a preview, the approver
        page = web.get(url)
        assert page.status_code == 200
    assert trace() == before
    text = page.text
    assert "Project charter approval" in text or "charter" in text.lower()
    assert "dana.reyes@example.com" in text and "Still waiting for" in text
    for decision in ("go", "kill", "hold", "recycle"):
        assert f'name="decision" value="{decision}"' in text
    assert "Scorecard" in text and "must meet" in text
    assert ".docx" in text and ".md" in text and "<h1>Gate review" in text
    # what the brief says is shown as text, never as markup
    assert "<script>" not in text and "<img" not in text and "onerror=alert(1)>" not in text
    assert "&lt;script&gt;alert(" in text
    # headers: no referrer (the URL holds the token), a policy without script, no framing
    headers = page.headers
    assert headers["referrer-policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert "script-src" not in headers["content-security-policy"]
    assert "default-src 'none'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY" and headers["cache-control"] == "no-store"
    # a document to download, of this gate only
    link = re.search(r'href="(/review/[^"]+\.md)"', text).group(1)
    document = web.get(link)
    assert document.status_code == 200 and document.content.startswith(b"# ")
    assert web.get(re.sub(r"/documents/\d+", "/documents/999999", link)).status_code == 404
    # the access log names the page, never its token
    token = url.rsplit("/", 1)[1]
    assert "GET /review/…" in caplog.text and token not in caplog.text


def test_a_decision_is_recorded_by_the_one_judge_and_a_reused_link_shows_it(web):
    gate = mailed_gate(make_brief(key="WEBGO"))
    url, page = gate.review[SPONSOR], web.get(gate.review[SPONSOR]).text
    answered = decide(web, url, page, "go", comment="Charter is sound <b>really</b>")
    assert answered.status_code == 200, answered.text
    assert "Your answer is recorded." in answered.text
    assert "Still waiting for: pmo@example.com" in answered.text
    assert "Charter is sound &lt;b&gt;really&lt;/b&gt;" in answered.text
    assert 'name="decision"' not in answered.text  # no second answer from this link
    # the same form posted again (a double click) is the same answer, not a second one
    again = decide(web, url, page, "go", comment="Charter is sound <b>really</b>")
    assert again.status_code == 200
    rows = answers(gate.gate_id)
    assert [(r.approver_email, r.decision, r.accepted, r.channel) for r in rows] == [
        (SPONSOR, "go", True, "web")
    ]
    # the code mailed with the link was used up with it
    with session_scope() as session:
        code = session.scalar(
            select(ApprovalCode).where(
                ApprovalCode.gate_id == gate.gate_id, ApprovalCode.approver_email == SPONSOR
            )
        )
        assert code.used_at is not None
    # the pmo decides; the round is decided and every link now shows who decided what
    pmo_page = web.get(gate.review[PMO]).text
    assert decide(web, gate.review[PMO], pmo_page, "go").status_code == 200
    shown = web.get(url).text
    assert "Decided: <strong>go</strong>" in shown and "This gate is decided: go." in shown
    assert shown.count("<td>go</td>") == 2 and "pmo@example.com" in shown
    assert 'name="decision"' not in shown


def test_a_decision_taken_while_prefect_is_away_stands_and_the_page_says_so(store_url, monkeypatch):
    from prefect.settings import PREFECT_API_URL, temporary_settings

    port = free_port()
    monkeypatch.setenv("PMO_WEB_URL", f"http://127.0.0.1:{port}")
    get_settings.cache_clear()
    gate = mailed_gate(make_brief(key="WEBAWAY"))
    with session_scope() as session:  # its run waits at the gate, as the flow records it
        session.get(Gate, gate.gate_id).waiting_key = "gate-1-1"
    # nothing listens on Prefect's port: the run cannot be woken when the round is decided
    with (
        temporary_settings(updates={PREFECT_API_URL: f"http://127.0.0.1:{free_port()}/api"}),
        web_in_thread(port=port) as url,
        httpx.Client(base_url=url, timeout=90) as client,
    ):
        first = decide(client, gate.review[SPONSOR], client.get(gate.review[SPONSOR]).text, "go")
        assert first.status_code == 200, first.text
        assert "could not be told" not in first.text  # the round is open: nothing to wake
        last = decide(client, gate.review[PMO], client.get(gate.review[PMO]).text, "go")
    assert last.status_code == 200, last.text
    assert "Your answer is recorded. The gate is decided: go." in last.text
    assert "could not be told just now (Prefect does not answer)" in last.text
    assert "the next gate check, within 15 minutes of Prefect" in last.text
    assert [(r.approver_email, r.decision, r.accepted) for r in answers(gate.gate_id)] == [
        (SPONSOR, "go", True),
        (PMO, "go", True),
    ]


def test_forged_links_and_forms_record_nothing(web):
    gate = mailed_gate(make_brief(key="WEBNO"))
    url, page = gate.review[SPONSOR], web.get(gate.review[SPONSOR]).text
    other_page = web.get(gate.review[PMO]).text
    before = trace()
    forged = str(web.base_url) + "/review/" + "A" * 43
    assert web.get(forged).status_code == 404
    assert "Link not known" in web.get(forged).text
    assert decide(web, forged, page, "go").status_code in (403, 404)
    assert decide(web, url, page, "go", csrf="").status_code == 403
    assert web.post(url, data={"decision": "go"}).status_code == 403
    # the other approver's page's CSRF token does not carry over to this link
    wrong = decide(web, url, page, "go", csrf=csrf_of(other_page))
    assert wrong.status_code == 403 and "nothing was recorded" in wrong.text
    # a cut-short token, and a decision that is not one
    assert web.get(url[:-5]).status_code == 404
    assert decide(web, url, page, "approve!").status_code == 400
    assert trace() == before


def test_a_decision_the_gate_does_not_allow_is_refused_on_the_record(web):
    gate = mailed_gate(make_brief(key="WEBKL"), stage_index=3)  # closure: go, recycle, hold
    url = gate.review[SPONSOR]
    page = web.get(url).text
    assert 'value="kill"' not in page
    refused = decide(web, url, page, "kill")
    assert refused.status_code == 422 and "Your answer was refused" in refused.text
    assert "is not allowed" in refused.text
    rows = answers(gate.gate_id)
    assert [(r.accepted, r.refusal_kind, r.channel) for r in rows] == [
        (False, "decision-not-allowed", "web")
    ]
    # the refusal used nothing up: the approver decides with the same link
    assert decide(web, url, web.get(url).text, "go").status_code == 200


def test_a_link_of_a_round_that_ended_is_dead(web):
    gate = mailed_gate(make_brief(key="WEBHD"))
    url, page = gate.review[SPONSOR], web.get(gate.review[SPONSOR]).text
    with session_scope() as session:  # the gate was held: round 2 opens
        row = session.get(Gate, gate.gate_id)
        stage_run = session.get(StageRun, row.stage_run_id)
        mark_decided(session, gate=row, stage_run=stage_run, round=1, outcome="hold", at=utcnow())
    shown = web.get(url).text
    assert "Round 1 of this gate has ended" in shown and 'name="decision"' not in shown
    refused = decide(web, url, page, "go")
    assert refused.status_code == 422
    assert [(r.accepted, r.refusal_kind, r.round) for r in answers(gate.gate_id)] == [
        (False, "link-expired", 2)
    ]


def test_the_gatekeeper_scores_on_the_page_and_a_bad_score_records_nothing(web):
    gate = mailed_gate(make_brief(key="WEBSCORE"))
    url, page = gate.review[SPONSOR], web.get(gate.review[SPONSOR]).text
    assert 'name="score:strategic-fit"' in page and 'name="meets:objectives-measurable"' in page
    before = trace()
    forged = {"csrf": csrf_of(page), "decision": "go", "score:strategic-fit": "11"}
    refused = web.post(url, data=forged)
    assert refused.status_code == 400 and "from 0 to 10" in refused.text
    unknown = {"csrf": csrf_of(page), "decision": "go", "score:beauty": "5"}
    assert web.post(url, data=unknown).status_code == 400
    assert trace() == before
    form = {
        "csrf": csrf_of(page),
        "decision": "go",
        "comment": "Fits",
        "score:strategic-fit": "9",
        "score:risk-exposure": "7",
        "meets:objectives-measurable": "yes",
    }
    assert web.post(url, data=form).status_code == 200
    with session_scope() as session:
        scores = {(s.criterion_key, s.kind, s.value) for s in session.scalars(select(GateScore))}
    assert scores == {
        ("strategic-fit", "score", 9),
        ("risk-exposure", "score", 7),
        ("objectives-measurable", "check", 1),
    }
