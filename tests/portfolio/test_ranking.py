"""Ranking, the funding line, capacity, alignment and the what-if, on figures worked out by
hand in the comments."""

from datetime import date
from decimal import Decimal as D

import pytest

from pmo.portfolio.candidates import (
    Candidate,
    PortfolioError,
    apply_what_if,
    shift_month,
    spread_by_month,
)
from pmo.portfolio.report import build_portfolio, portfolio_json
from process_library.portfolio import PortfolioPolicy

pytestmark = pytest.mark.unit

POLICY = PortfolioPolicy.model_validate(
    {
        "objectives": [
            {"key": "growth", "name": "Grow", "weight": 3},
            {"key": "compliance", "name": "Comply", "weight": 1},
        ],
        "envelope": {"years": {2027: 300}},
        "capacity": {"default": {"developer": 20}, "months": {"2027-03": {"developer": 10}}},
        "funding_gate_score": 6,
    }
)


def project(key: str, **fields) -> Candidate:
    base = dict(
        name=key.title(),
        status="proposed",
        stage="initiation",
        category="grow",
        budget=D(100),
        benefits=None,
        objectives=(),
        score=None,
        risk=0,
        rag=None,
        spi=None,
        cpi=None,
        spend={"2027-02": D(100)},
        effort={},
    )
    base.update(fields)
    return Candidate(key=key, **base)


def test_mandatory_first_then_score_then_benefits_per_cost():
    candidates = [
        project("LOW", score=D(5)),
        project("RICH", score=D(8), benefits=D(500), budget=D(100)),  # 5 per unit of cost
        project("LEAN", score=D(8), benefits=D(300), budget=D(50)),  # 6 per unit: above RICH
        project("LAW", category="mandatory", score=None),  # unscored, still first
        project("NONE"),  # no score, no benefits: last
    ]
    ranked = build_portfolio(candidates, POLICY).ranked
    assert [e.candidate.key for e in ranked] == ["LAW", "LEAN", "RICH", "LOW", "NONE"]
    assert [e.rank for e in ranked] == [1, 2, 3, 4, 5]


def test_the_funding_line_falls_where_the_envelope_runs_out():
    # envelope 2027: 300. A 100 + B 150 = 250 fit; C 100 would make 350: the line falls
    # above C, and D (50, which would fit alone) stays below it: a line, not a knapsack.
    candidates = [
        project("A", score=D(9), budget=D(100), spend={"2027-01": D(100)}),
        project("B", score=D(8), budget=D(150), spend={"2027-06": D(150)}),
        project("C", score=D(7), budget=D(100), spend={"2027-09": D(100)}),
        project("D", score=D(6), budget=D(50), spend={"2027-10": D(50)}),
    ]
    portfolio = build_portfolio(candidates, POLICY)
    line = [(e.candidate.key, e.cumulative_budget, e.above_funding_line) for e in portfolio.ranked]
    assert line == [
        ("A", D(100), True),
        ("B", D(250), True),
        ("C", D(350), False),
        ("D", D(400), False),
    ]
    assert portfolio.envelope == D(300)
    assert portfolio.committed == D(250)


def test_spend_in_a_year_without_envelope_is_below_the_line():
    # 2028 has no envelope in the policy: nothing can be committed there.
    portfolio = build_portfolio([project("LATE", spend={"2028-01": D(10)})], POLICY)
    assert not portfolio.ranked[0].above_funding_line
    assert [(y.year, y.envelope, y.committed) for y in portfolio.funding] == [(2028, D(0), D(0))]


def test_capacity_flags_the_months_and_names_who_causes_them():
    candidates = [
        project("A", effort={("developer", "2027-02"): D(12), ("developer", "2027-03"): D(6)}),
        project("B", effort={("developer", "2027-03"): D(8), ("tester", "2027-03"): D(5)}),
    ]
    rows = {(r.role, r.month): r for r in build_portfolio(candidates, POLICY).capacity}
    # February: 12 of 20 developer days. March: 6 + 8 = 14 against the override of 10.
    february = rows["developer", "2027-02"]
    assert (february.demand, february.over) == (D(12), False)
    march = rows["developer", "2027-03"]
    assert (march.demand, march.capacity, march.over, march.projects) == (
        D(14),
        D(10),
        True,
        ("B", "A"),
    )
    # A role the policy does not list has no capacity: every day of it is over.
    assert rows["tester", "2027-03"].capacity == D(0) and rows["tester", "2027-03"].over


def test_alignment_splits_a_budget_between_the_objectives_it_serves():
    candidates = [
        project("A", score=D(9), budget=D(100), objectives=("growth", "compliance")),
        project("B", score=D(8), budget=D(100), objectives=("growth",)),
        project("C", score=D(7), budget=D(50), objectives=()),
        project("OUT", score=D(1), budget=D(500), spend={"2027-05": D(500)}),  # below the line
    ]
    shares = {s.key: s for s in build_portfolio(candidates, POLICY).alignment}
    # growth: 50 + 100 = 150; compliance: 50; unaligned: 50; funded 250.
    assert shares["growth"].budget == D(150)
    assert shares["growth"].budget_share == D("0.6")
    assert shares["growth"].weight_share == D("0.75")
    assert shares["compliance"].budget == D(50)
    assert shares["unaligned"].budget == D(50)


def test_what_if_without_and_delay_recompute_without_changing_the_candidates():
    candidates = [
        project("A", score=D(9), budget=D(200), spend={"2027-11": D(200)}),
        project("B", score=D(8), budget=D(150), spend={"2027-12": D(150)}),
    ]
    assert not build_portfolio(candidates, POLICY).ranked[1].above_funding_line
    without_a = apply_what_if(candidates, without=["A"], delay={})
    assert build_portfolio(without_a, POLICY).ranked[0].above_funding_line
    # B moved one month into 2028, where there is no envelope: still below the line.
    moved = apply_what_if(candidates, without=[], delay={"B": 1})
    assert moved[1].spend == {"2028-01": D(150)}
    assert candidates[1].spend == {"2027-12": D(150)}


@pytest.mark.parametrize(
    ("without", "delay", "message"),
    [
        (["NOPE"], {}, "--without: no open project has the key 'NOPE'"),
        ([], {"NOPE": 2}, "--delay: no open project has the key 'NOPE'"),
        (["A"], {"A": 2}, "--delay: 'A' is also given to --without"),
        ([], {"A": 500}, "--delay: A=500: give -120 to 120 months"),
    ],
)
def test_what_if_refuses_unknown_projects_in_one_line(without, delay, message):
    with pytest.raises(PortfolioError) as refused:
        apply_what_if([project("A")], without=without, delay=delay)
    assert str(refused.value) == message


def test_months_shift_across_years_and_money_spreads_by_calendar_days():
    assert shift_month("2027-11", 3) == "2028-02"
    assert shift_month("2027-01", -1) == "2026-12"
    # 31 days of January and 28 of February: 59 days for 590.
    assert spread_by_month(D(590), date(2027, 1, 1), date(2027, 2, 28)) == {
        "2027-01": D(310),
        "2027-02": D(280),
    }


def test_json_carries_the_contract_keys():
    data = portfolio_json(build_portfolio([project("A", score=D(7))], POLICY))
    assert set(data) >= {"projects", "funding", "capacity", "alignment"}
    assert set(data["projects"][0]) >= {
        "key",
        "rank",
        "score",
        "budget",
        "cumulative_budget",
        "above_funding_line",
        "stage",
        "status",
        "rag",
    }
    assert set(data["funding"]) >= {"envelope", "committed"}
