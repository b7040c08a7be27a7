"""Every deployment `pmo up` serves loads, with its schedule (the smoke test of the wiring)."""

import pytest

from flows.deployments import deployments

pytestmark = pytest.mark.unit


def test_pmo_up_serves_the_lifecycle_the_gate_checks_the_audit_and_the_review(monkeypatch):
    monkeypatch.setenv("PMO_AUDIT_CRON", "30 5 * * 1-5")
    monkeypatch.setenv("PMO_PORTFOLIO_REVIEW_CRON", "0 8 2 * *")
    from pmo.settings import get_settings

    get_settings.cache_clear()
    served = {d.name: d for d in deployments()}
    assert set(served) >= {"project-lifecycle", "gate-sla", "pmo-audit", "portfolio-review"}
    assert served["project-lifecycle"].schedules in (None, [])
    assert served["gate-sla"].schedules[0].schedule.interval.total_seconds() == 15 * 60
    assert served["pmo-audit"].schedules[0].schedule.cron == "30 5 * * 1-5"
    assert served["portfolio-review"].schedules[0].schedule.cron == "0 8 2 * *"
    get_settings.cache_clear()
