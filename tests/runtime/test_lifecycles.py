"""PM² and hybrid agile from start to closure on a real Prefect server: the demo's approvers
answer every gate (a recycle, the exception gate of a release whose forecast breaks its
tolerance) and its project manager every status update, through the Prefect API.
PRINCE2 runs the same way in `pmo demo` (tests/runtime/test_demo.py)."""

import pytest

from pmo.methodology.project import prepare_lifecycle
from pmo.runtime.demo_projects import SponsorRecyclesOnce, run_with_bot
from pmo.settings import get_settings
from pmo.store import session_scope
from pmo.store.models import DocumentRecord, Gate
from pmo.store.records import get_project, project_stage_runs
from process_library.loader import load_lifecycle
from tests.factories import make_brief

pytestmark = pytest.mark.integration


def run_to_closure(name: str, key: str, recycle: str) -> list:
    brief = make_brief(key=key)
    lifecycle = prepare_lifecycle(brief, load_lifecycle(name)).loaded.lifecycle
    result, answers, updates = run_with_bot(brief, name, lifecycle, SponsorRecyclesOnce(recycle))
    assert result == {"project": key, "status": "closed", "stopped_at": None}
    return answers, updates


@pytest.fixture
def quick_pauses(prefect_api, monkeypatch):
    monkeypatch.setenv("PMO_GATE_POLL_SECONDS", "0.2")
    get_settings.cache_clear()


def test_pm2_runs_its_four_phases_and_three_phase_gates_to_closure(quick_pauses):
    answers, updates = run_to_closure("pm2", "PMTWO", recycle="ready-for-executing")
    with session_scope() as session:
        project = get_project(session, key="PMTWO")
        runs = [
            (r.stage_key, r.attempt, r.status) for r in project_stage_runs(session, project=project)
        ]
        assert runs == [
            ("initiating", 1, "passed"),
            ("planning", 1, "recycled"),
            ("planning", 2, "passed"),
            ("executing", 1, "passed"),
            ("closing", 1, "passed"),
        ]
        documents = {d.document_key for d in session.query(DocumentRecord).all()}
    assert {
        "project-initiation-request",
        "business-case",
        "charter",
        "project-handbook",
        "plan-baseline",
        "status-report",
        "closure-report",
    } <= documents
    # RfE is the steering committee's by majority: two of the three suffice
    rfe = [t for t in answers if t.gate_key == "ready-for-executing" and t.attempt == 2]
    assert len(rfe) == 2
    assert [(u.stage_key, u.number) for u in updates] == [("executing", 1), ("executing", 2)]


def test_hybrid_agile_runs_one_construction_stage_per_release_to_closure(quick_pauses):
    answers, updates = run_to_closure("hybrid-agile", "AGILE", recycle="stakeholder-vision")
    with session_scope() as session:
        project = get_project(session, key="AGILE")
        runs = [
            (r.stage_key, r.stage_name, r.status)
            for r in project_stage_runs(session, project=project)
        ]
        exception = session.query(Gate).filter(Gate.kind == "exception").one()
        releases = [
            d for d in session.query(DocumentRecord).all() if d.document_key == "release-review"
        ]
    assert runs == [
        ("inception", "Inception", "recycled"),
        ("inception", "Inception", "passed"),
        ("construction-1", "Construction 1: Order tracking", "passed"),
        ("construction-2", "Construction 2: Invoices and tickets", "passed"),
        ("transition", "Transition", "passed"),
    ]
    # the demo's project manager forecasts an overrun in the last release: the sponsor
    # accepts it with wider tolerances, and the release goes on to its decision
    assert (exception.gate_key, exception.outcome) == ("release-exception-2-1", "go")
    assert [t.gate_key for t in answers if t.kind == "exception"] == ["release-exception-2-1"]
    assert [(u.stage_key, u.number) for u in updates] == [
        ("construction-1", 1),
        ("construction-1", 2),
        ("construction-2", 1),
        ("construction-2", 2),
    ]
    assert len(releases) == 2
