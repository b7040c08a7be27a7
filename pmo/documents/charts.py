"""Charts a document template may embed: PNG files next to the document, drawn on demand.

A template writes `![Power/interest grid]({{ charts.power_interest_grid() }})`: the chart is
drawn only when a template asks for it, saved beside the Markdown, and embedded in the .docx.
matplotlib is imported on first use, so documents without charts never pay for it.
"""

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from pmo.control.analysis import Milestone
from pmo.documents.communication import EngagedStakeholder
from pmo.files import write_atomically
from pmo.templating import MarkdownText
from process_library.communication import CommunicationPolicy

if TYPE_CHECKING:
    from pmo.documents.plan_view import PlanView

LEVEL_POSITION = {"low": 0.5, "medium": 1.5, "high": 2.5}
DPI = 150
_SPREAD = 0.28  # how far apart stakeholders that share a cell are drawn


class Charts:
    """The charts of one document version, saved as `<stem>-<chart>.png` in `folder`."""

    def __init__(
        self,
        folder: Path,
        stem: str,
        *,
        stakeholders: Sequence[EngagedStakeholder],
        milestones: Sequence[Milestone],
        start: date,
        end: date,
        policy: CommunicationPolicy,
        performance: Sequence[tuple[date, Decimal | None, Decimal | None]] = (),
        plan: "PlanView | None" = None,
        baseline: "PlanView | None" = None,
        earned: Sequence[tuple[date, Decimal, Decimal, Decimal]] = (),
        forecast: tuple[date, Decimal] | None = None,
        currency: str = "",
    ) -> None:
        self._folder = folder
        self._stem = stem
        self._stakeholders = stakeholders
        self._milestones = milestones
        self._start = start
        self._end = end
        self._policy = policy
        self._performance = performance
        self._plan = plan  # the plan the document shows (proposed or in force)
        self._baseline = baseline  # the baseline in force, for performance against it
        self._earned = earned  # (as of, PV, EV, AC) of each update against it
        self._forecast = forecast  # (forecast finish, EAC) of the last update
        self._currency = currency

    def power_interest_grid(self) -> MarkdownText:
        """The stakeholders on Mendelow's grid, numbered as in the register's table."""
        return self._save(
            "power-interest-grid", draw_power_interest_grid(self._stakeholders, self._policy)
        )

    def milestone_timeline(self) -> MarkdownText:
        """The stages as bars from the start date and each gate's milestone as a diamond."""
        return self._save(
            "milestone-timeline",
            draw_milestone_timeline(self._milestones, self._start, self._end),
        )

    def spi_cpi_trend(self) -> MarkdownText:
        """SPI and CPI of every status update so far, against the line at 1.0."""
        return self._save("spi-cpi-trend", draw_spi_cpi_trend(self._performance))

    def gantt(self) -> MarkdownText:
        """The plan's work packages on their early dates, the critical path in red."""
        from pmo.documents.plan_charts import draw_gantt

        assert self._plan is not None, "this document has no plan"
        return self._save("gantt", draw_gantt(self._plan.schedule))

    def cumulative_pv(self) -> MarkdownText:
        """The plan's cumulative planned value by month: its cost S-curve."""
        from pmo.documents.plan_charts import draw_cumulative_pv

        assert self._plan is not None, "this document has no plan"
        return self._save(
            "cumulative-pv", draw_cumulative_pv(self._plan.pv_by_month, self._currency)
        )

    def effort_by_role(self) -> MarkdownText:
        """The plan's effort by role and month."""
        from pmo.documents.plan_charts import draw_effort

        assert self._plan is not None, "this document has no plan"
        return self._save("effort", draw_effort(self._plan.effort))

    def s_curve(self) -> MarkdownText:
        """PV of the baseline in force, EV and AC of each update, and the forecast."""
        from pmo.documents.plan_charts import draw_s_curve

        assert self._baseline is not None, "this document has no baseline"
        schedule = self._baseline.schedule
        ends = sorted({schedule.start, *(day for day in _month_ends(schedule)), schedule.finish})
        planned = [(day, self._baseline.planned_value(day)) for day in ends]
        png = draw_s_curve(planned, self._earned, self._forecast, self._currency)
        return self._save("s-curve", png)

    def _save(self, chart: str, png: bytes) -> MarkdownText:
        name = f"{self._stem}-{chart}.png"
        write_atomically(self._folder / name, png)
        return MarkdownText(quote(name))


def _month_ends(schedule) -> list[date]:
    """The last day of each month the schedule spans."""
    days, day = [], schedule.start
    while day < schedule.finish:
        following = date(day.year + day.month // 12, day.month % 12 + 1, 1)
        days.append(following - timedelta(days=1))
        day = following
    return days


def _figure(width: float, height: float):
    # The object-oriented API with the Agg canvas: no pyplot state, no display, thread-safe.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _png(figure) -> bytes:
    output = BytesIO()
    # No software/date metadata: the same project draws the same bytes.
    figure.savefig(output, format="png", metadata={"Software": None})
    return output.getvalue()


def draw_power_interest_grid(
    stakeholders: Sequence[EngagedStakeholder], policy: CommunicationPolicy
) -> bytes:
    figure = _figure(6.4, 5.2)
    axes = figure.add_subplot()
    axes.set_xlim(0, 3)
    axes.set_ylim(0, 3)
    axes.set_xticks([0.5, 1.5, 2.5], ["low", "medium", "high"])
    axes.set_yticks([0.5, 1.5, 2.5], ["low", "medium", "high"])
    axes.set_xlabel("Interest")
    axes.set_ylabel("Influence (power)")
    axes.set_title("Power/interest grid")
    # The quadrant border sits below the lowest level the policy counts as high.
    border = min(LEVEL_POSITION[level] for level in policy.high_levels) - 0.5
    axes.axhline(border, color="0.6", linewidth=1)
    axes.axvline(border, color="0.6", linewidth=1)
    quadrants = {(q.influence, q.interest): q.name for q in policy.quadrants}
    corners = {
        ("high", "high"): (2.95, 2.9, "right"),
        ("high", "low"): (0.05, 2.9, "left"),
        ("low", "high"): (2.95, 0.1, "right"),
        ("low", "low"): (0.05, 0.1, "left"),
    }
    for cell, (x, y, align) in corners.items():
        axes.text(x, y, quadrants[cell], ha=align, va="top" if y > 1 else "bottom", color="0.35")
    cells: dict[tuple[str, str], list[EngagedStakeholder]] = {}
    for engaged in stakeholders:
        cells.setdefault((engaged.person.influence, engaged.person.interest), []).append(engaged)
    for (influence, interest), people in cells.items():
        for index, engaged in enumerate(people):
            offset = (index - (len(people) - 1) / 2) * _SPREAD
            x = LEVEL_POSITION[interest] + offset
            y = LEVEL_POSITION[influence] - (0.12 if index % 2 else 0)
            axes.scatter([x], [y], s=260, color="#1F4E9A", zorder=3)
            axes.text(x, y, str(engaged.number), ha="center", va="center", color="white", zorder=4)
    return _png(figure)


def draw_milestone_timeline(milestones: Sequence[Milestone], start: date, end: date) -> bytes:
    from matplotlib import dates

    figure = _figure(7.2, 0.9 + 0.45 * max(len(milestones), 1))
    axes = figure.add_subplot()
    rows = list(reversed(range(len(milestones))))
    previous = start
    for row, milestone in zip(rows, milestones, strict=True):
        axes.barh(
            row,
            (milestone.due - previous).days,
            left=dates.date2num(previous),
            height=0.5,
            color="#9DB9E3",
        )
        axes.plot(dates.date2num(milestone.due), row, "D", color="#1F4E9A", markersize=8)
        previous = milestone.due
    axes.set_yticks(rows, [f"{m.stage}: {m.name}" for m in milestones])
    margin = max((end - start).days * 0.03, 1)  # so the last diamond is not cut in half
    axes.set_xlim(dates.date2num(start), dates.date2num(end) + margin)
    axes.xaxis.set_major_formatter(dates.DateFormatter("%d %b %Y"))
    axes.xaxis.set_major_locator(dates.AutoDateLocator(maxticks=6))
    axes.set_title("Milestones: stages and their gates")
    axes.grid(axis="x", color="0.85")
    return _png(figure)


def draw_spi_cpi_trend(performance: Sequence[tuple[date, Decimal | None, Decimal | None]]) -> bytes:
    from matplotlib import dates

    figure = _figure(7.2, 3.2)
    axes = figure.add_subplot()
    when = [dates.date2num(day) for day, _, _ in performance]
    for index, (label, colour) in enumerate((("SPI", "#1F4E9A"), ("CPI", "#C8553D")), start=1):
        points = [(x, float(p[index])) for x, p in zip(when, performance, strict=True) if p[index]]
        if points:
            axes.plot(*zip(*points, strict=True), "o-", color=colour, label=label)
    axes.axhline(1.0, color="0.6", linewidth=1, linestyle="--")
    axes.xaxis.set_major_formatter(dates.DateFormatter("%d %b %Y"))
    axes.xaxis.set_major_locator(dates.AutoDateLocator(maxticks=6))
    axes.set_ylabel("Index (1.0 = on plan)")
    axes.set_title("Schedule (SPI) and cost (CPI) performance")
    axes.grid(axis="y", color="0.85")
    if performance:
        axes.legend(loc="best")
    return _png(figure)
