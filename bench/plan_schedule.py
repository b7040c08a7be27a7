"""Benchmark: scheduling a large plan (critical path method) and earned value on it.

Run by hand, not by pytest:

    .venv/bin/python bench/plan_schedule.py [RUNS]

A seeded random network of 5,000 work packages and 10,000 finish-to-start dependencies
(each from an earlier package to a later one, so it has no cycle), 1 to 20 working days
each, on a Monday-to-Friday calendar with ten holidays a year. Timed, each the median of
RUNS runs:

- `schedule_plan`: the forward and backward pass, floats, critical path and every date;
- baseline: the same passes in a plain loop over networkx's `topological_sort` of the same
  graph, positions turned into dates through a precomputed list of working days;
- `earned_value`: PV, EV, AC, the indexes and earned schedule as of mid-project;
- baseline: PV and earned schedule from a day-by-day curve built package by package over
  networkx's order (the obvious way to do it).

Validating the plan (pydantic, 5,000 owners through email-validator) is timed on its own.
Goal: scheduling <= 0.5 s.
"""

import os
import random
import statistics
import sys
import time
from datetime import date, timedelta
from decimal import Decimal

import networkx as nx

from pmo.plan.calendar import WorkCalendar
from pmo.plan.evm import earned_value
from pmo.plan.model import parse_plan
from pmo.plan.schedule import schedule_plan

PACKAGES = 5_000
DEPENDENCIES = 10_000
START = date(2027, 2, 1)


def network(seed: int = 12) -> dict:
    rng = random.Random(seed)
    edges: set[tuple[int, int]] = set()
    while len(edges) < DEPENDENCIES:
        a, b = sorted(rng.sample(range(PACKAGES), 2))
        if b - a <= 200:  # local links, as a real plan's are: a long, branching network
            edges.add((a, b))
    before: dict[int, list[int]] = {i: [] for i in range(PACKAGES)}
    for a, b in edges:
        before[b].append(a)
    holidays = [START + timedelta(days=rng.randrange(3650)) for _ in range(100)]
    return {
        "start": START.isoformat(),
        "calendar": {"holidays": [d.isoformat() for d in holidays]},
        "work_packages": [
            {
                "key": f"WP{i}",
                "name": f"Work package {i}",
                "owner": f"owner{i % 50}@example.com",
                "duration_days": rng.randint(1, 20),
                "depends_on": [f"WP{a}" for a in sorted(before[i])],
                "budget": rng.randint(1, 100) * 1000,
            }
            for i in range(PACKAGES)
        ],
    }


def timed(runs: int, work) -> tuple[float, object]:
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def baseline_schedule(plan):
    """CPM with networkx's topological sort: forward, backward, floats, dates."""
    graph = nx.DiGraph()
    graph.add_nodes_from(p.key for p in plan.work_packages)
    graph.add_edges_from((k, p.key) for p in plan.work_packages for k in p.depends_on)
    days = {p.key: p.duration_days for p in plan.work_packages}
    order = list(nx.topological_sort(graph))
    early = {}
    for key in order:
        early[key] = max((early[k] + days[k] for k in graph.predecessors(key)), default=0)
    end = max(early[k] + days[k] for k in order)
    late = {}
    for key in reversed(order):
        late[key] = min((late[k] for k in graph.successors(key)), default=end) - days[key]
    calendar = WorkCalendar(plan.calendar)
    line = calendar.workdays(START, calendar.add_workdays(START, end + 1))
    dates = {
        k: (
            line[early[k]],
            line[early[k] + days[k] - 1],
            line[late[k]],
            line[late[k] + days[k] - 1],
        )
        for k in order
    }
    critical = [k for k in order if late[k] == early[k]]
    return end, critical, dates, order, early


def baseline_evm(plan, order, early, as_of_days: int, progress: dict[str, float]):
    """PV and earned schedule from a day-by-day curve, package by package."""
    budget = {p.key: float(p.budget) for p in plan.work_packages}
    days = {p.key: p.duration_days for p in plan.work_packages}
    end = max(early[k] + days[k] for k in order)
    curve = [0.0] * (end + 1)
    for key in order:
        for day in range(early[key], early[key] + days[key]):
            curve[day + 1] += budget[key] / days[key]
    for n in range(1, end + 1):
        curve[n] += curve[n - 1]
    ev = sum(budget[k] * progress.get(k, 0) / 100 for k in order)
    pv = curve[min(as_of_days, end)]
    whole = max(n for n in range(end + 1) if curve[n] <= ev)
    es = whole + (ev - curve[whole]) / (curve[whole + 1] - curve[whole]) if whole < end else end
    return pv, ev, es


def main(runs: int) -> None:
    data = network()
    validate, plan = timed(runs, lambda: parse_plan(data))
    ours, schedule = timed(runs, lambda: schedule_plan(plan))
    theirs, (end, critical, _, order, early) = timed(runs, lambda: baseline_schedule(plan))
    assert end == schedule.duration_days and critical == [
        k for k in order if k in set(schedule.critical_path)
    ], "the baseline and schedule_plan disagree"

    as_of = schedule.day(schedule.duration_days // 2)
    at = schedule.duration_days // 2 + 1
    rng = random.Random(7)
    progress = {
        key: float(rng.choice([0, 25, 50, 100]))
        for key, p in schedule.packages.items()
        if p.early_position < at
    }
    ev_ours, figures = timed(
        runs,
        lambda: earned_value(
            schedule, as_of=as_of, progress=progress, actual_cost=Decimal(10_000_000)
        ),
    )
    ev_theirs, (pv, ev, es) = timed(runs, lambda: baseline_evm(plan, order, early, at, progress))
    assert abs(float(figures.pv) - pv) < 1 and abs(float(figures.es_days) - es) < 0.01

    load = os.getloadavg()
    print(
        f"{PACKAGES:,} work packages, {DEPENDENCIES:,} dependencies, median of {runs} runs "
        f"(load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f})"
    )
    print(
        f"  project: {schedule.duration_days:,} working days, finish {schedule.finish}, "
        f"critical path {len(schedule.critical_path):,} packages"
    )
    print(f"  validate the plan (pydantic)    {validate:7.3f} s")
    print(f"  schedule_plan                   {ours:7.3f} s   goal <= 0.5 s")
    print(f"  networkx baseline               {theirs:7.3f} s   ratio {theirs / ours:.2f}")
    print(
        f"  earned_value                    {ev_ours:7.3f} s   (as of {as_of}, "
        f"{len(progress):,} packages reported)"
    )
    print(f"  day-by-day baseline             {ev_theirs:7.3f} s   ratio {ev_theirs / ev_ours:.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
