"""Portfolio KPIs from the gate record, with worked figures."""

from datetime import UTC, datetime, timedelta

import pytest

from pmo.audit.kpis import GateRound, ProjectStanding, Turnaround, percentile, portfolio_kpis

pytestmark = pytest.mark.unit

T0 = datetime(2027, 3, 1, tzinfo=UTC)


def gate(key: str, hours: float | None, outcome: str | None = "go", **more) -> GateRound:
    values = {
        "project_key": "APOLLO",
        "gate_key": key,
        "gate_name": key.replace("-", " ").capitalize(),
        "opened_at": T0,
        "round_opened_at": T0,
        "decided_at": T0 + timedelta(hours=hours) if hours is not None else None,
        "status": "decided" if hours is not None else "open",
        "outcome": outcome,
        "rounds": 1,
        "sla_hours": 120,
    }
    return GateRound(**(values | more))


def standing(key: str, **more) -> ProjectStanding:
    values = {"key": key, "stage": "planning", "status": "active", "rag": None, "spi": None,
              "cpi": None, "compliant": True}  # fmt: skip
    return ProjectStanding(**(values | more))


def test_percentiles_follow_the_inclusive_method():
    assert percentile([], 50) is None
    assert percentile([7], 90) == 7
    assert percentile([10, 20, 30, 40], 50) == 25
    assert percentile([10, 20, 30, 40, 50, 60, 70, 80, 90, 100], 90) == pytest.approx(91)


def test_gate_cycle_times_sla_share_and_outcomes_per_gate():
    rounds = [
        gate("charter-approval", 24),
        gate("charter-approval", 48),
        gate("charter-approval", 130, "kill"),
        gate("plan-approval", 10, "recycle"),
        gate("plan-approval", None, None, rounds=2),  # held once, waiting again
    ]
    kpis = portfolio_kpis([standing("APOLLO")], rounds, [])
    charter, plan = kpis.gates
    assert (charter.gate_key, charter.decided) == ("charter-approval", 3)
    assert charter.cycle_hours.p50 == 48
    assert charter.cycle_hours.p90 == pytest.approx(113.6)  # 48 + 0.8 * (130 - 48)
    assert (charter.within_sla, charter.with_sla) == (2, 3)
    assert charter.outcomes == {"go": 2, "recycle": 0, "hold": 0, "kill": 1, "waiting": 0}
    assert plan.outcomes == {"go": 0, "recycle": 1, "hold": 1, "kill": 0, "waiting": 1}
    assert kpis.within_sla_share == pytest.approx(3 / 4)


def test_portfolio_standing_compliance_and_earned_value():
    projects = [
        standing("A", rag="Green", spi=1.0, cpi=0.9),
        standing("B", rag="Red", spi=0.8, cpi=1.1, compliant=False),
        standing("C", stage="execution", status="on-hold"),
    ]
    kpis = portfolio_kpis(projects, [], [Turnaround("sponsor", 2), Turnaround("sponsor", 6)])
    assert kpis.by_stage == {"planning": 2, "execution": 1}
    assert kpis.by_status == {"active": 2, "on-hold": 1}
    assert kpis.by_rag == {"Green": 1, "Red": 1, "no status yet": 1}
    assert kpis.compliance_rate == pytest.approx(2 / 3)
    assert (kpis.spi.count, kpis.spi.p50, kpis.cpi.p50) == (2, 0.9, 1.0)
    assert kpis.lowest_spi[0] == ("B", 0.8)
    assert kpis.turnaround_by_role["sponsor"].p50 == 4
    assert kpis.within_sla_share is None


def test_an_empty_portfolio_has_no_rates_rather_than_zero():
    kpis = portfolio_kpis([], [], [])
    assert (kpis.projects, kpis.compliance_rate, kpis.within_sla_share) == (0, None, None)
    assert kpis.spi.p50 is None and kpis.gates == []
