"""Charts of the plan and of performance against it: the Gantt chart (critical path and
milestones), the time-phased cost curve, effort by role and month, and the PV/EV/AC
S-curve with the forecast. Each returns PNG bytes; `Charts` saves them beside a document.
"""

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from pmo.documents.charts import _figure, _png
from pmo.plan.schedule import Schedule

CRITICAL = "#C8553D"
NORMAL = "#9DB9E3"
MILESTONE = "#1F4E9A"
GANTT_ROWS = 40  # beyond this the chart shows the critical path and the least float


def draw_gantt(schedule: Schedule) -> bytes:
    """Each work package as a bar from its early start to its early finish, the critical
    ones in red, total float as a thin line after the bar, milestones as diamonds. A plan
    of more than GANTT_ROWS packages shows its critical path and the packages with least
    float (the table beside it lists them all)."""
    from matplotlib import dates

    packages = list(schedule.packages.values())
    if len(packages) > GANTT_ROWS:
        critical = [p for p in packages if p.critical]
        others = sorted((p for p in packages if not p.critical), key=lambda p: p.total_float)
        packages = (critical + others)[:GANTT_ROWS]
        packages.sort(key=lambda p: (p.early_start, p.key))
    rows = len(packages) + len(schedule.milestones)
    figure = _figure(7.6, 1.2 + 0.22 * max(rows, 1))
    axes = figure.add_subplot()
    starts = [dates.date2num(p.early_start) for p in packages]
    ends = [dates.date2num(p.early_finish) + 1 for p in packages]
    # One call per kind of mark: a chart of many packages draws in a fraction of a second.
    axes.barh(
        range(len(packages)),
        [end - start for start, end in zip(starts, ends, strict=True)],
        left=starts,
        height=0.6,
        color=[CRITICAL if p.critical else NORMAL for p in packages],
    )
    slack = [(row, end, p) for row, (end, p) in enumerate(zip(ends, packages, strict=True))]
    floating = [(row, end, p) for row, end, p in slack if p.total_float]
    if floating:
        axes.hlines(
            [row for row, _, _ in floating],
            [end for _, end, _ in floating],
            [dates.date2num(p.late_finish) + 1 for _, _, p in floating],
            color="0.55",
            linewidth=1,
        )
    if schedule.milestones:
        axes.plot(
            [dates.date2num(day) + 1 for day in schedule.milestones.values()],
            range(len(packages), rows),
            "D",
            color=MILESTONE,
            markersize=6,
            linestyle="none",
        )
    labels = [f"{p.key} {p.package.name}"[:48] for p in packages]
    labels += [f"◆ {name}"[:48] for name in schedule.milestones]
    axes.set_yticks(range(rows), labels, fontsize=6 if rows > 30 else 7)
    axes.invert_yaxis()
    axes.xaxis.set_major_formatter(dates.DateFormatter("%b %Y"))
    axes.xaxis.set_major_locator(dates.AutoDateLocator(maxticks=8))
    axes.set_title("Schedule: critical path in red, float as a line, milestones as diamonds")
    axes.grid(axis="x", color="0.85")
    return _png(figure)


def draw_cumulative_pv(months: Sequence[tuple[str, Decimal]], currency: str) -> bytes:
    """The baseline's cumulative planned value at the end of each month."""
    figure = _figure(7.2, 3.0)
    axes = figure.add_subplot()
    names = [month for month, _ in months]
    axes.plot(names, [float(value) for _, value in months], "o-", color=MILESTONE)
    axes.set_ylabel(f"Cumulative PV ({currency})")
    axes.set_title("Time-phased cost baseline (cumulative planned value by month)")
    axes.tick_params(axis="x", labelrotation=45, labelsize=7)
    axes.grid(axis="y", color="0.85")
    return _png(figure)


def draw_effort(effort: dict[tuple[str, str], Decimal]) -> bytes:
    """Person-days by role and month, stacked."""
    figure = _figure(7.2, 3.2)
    axes = figure.add_subplot()
    months = sorted({month for _, month in effort})
    roles = sorted({role for role, _ in effort})
    bottom = [0.0] * len(months)
    for role in roles:
        values = [float(effort.get((role, month), 0)) for month in months]
        axes.bar(months, values, bottom=bottom, label=role)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    axes.set_ylabel("Person-days")
    axes.set_title("Effort by role and month")
    axes.tick_params(axis="x", labelrotation=45, labelsize=7)
    if roles:
        axes.legend(loc="best", fontsize=7)
    axes.grid(axis="y", color="0.85")
    return _png(figure)


def draw_s_curve(
    planned: Sequence[tuple[date, Decimal]],
    reported: Sequence[tuple[date, Decimal, Decimal, Decimal]],
    forecast: tuple[date, Decimal] | None,
    currency: str,
) -> bytes:
    """The baseline's PV over time, EV and AC at each update, and the forecast: a line
    from the last update to EAC at the forecast finish."""
    from matplotlib import dates

    figure = _figure(7.2, 3.4)
    axes = figure.add_subplot()
    axes.plot(
        [dates.date2num(d) for d, _ in planned],
        [float(v) for _, v in planned],
        "-",
        color="0.45",
        label="PV (baseline)",
    )
    if reported:
        when = [dates.date2num(d) for d, *_ in reported]
        axes.plot(when, [float(r[2]) for r in reported], "o-", color=MILESTONE, label="EV")
        axes.plot(when, [float(r[3]) for r in reported], "s-", color=CRITICAL, label="AC")
        if forecast is not None:
            last = reported[-1]
            axes.plot(
                [dates.date2num(last[0]), dates.date2num(forecast[0])],
                [float(last[3]), float(forecast[1])],
                "--",
                color=CRITICAL,
                label="Forecast (EAC at the forecast finish)",
            )
    axes.xaxis.set_major_formatter(dates.DateFormatter("%b %Y"))
    axes.xaxis.set_major_locator(dates.AutoDateLocator(maxticks=8))
    axes.set_ylabel(currency)
    axes.set_title("Earned value against the baseline (S-curve)")
    axes.legend(loc="best", fontsize=7)
    axes.grid(color="0.9")
    return _png(figure)
