"""Charts of the portfolio audit report, drawn as the project documents' charts are.

The template asks for a chart (`{{ charts.gate_cycle_time() }}`) only when there is data to
draw; each is saved beside the report as `<stem>-<chart>.png` and embedded in the .docx.
"""

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import quote

from pmo.audit.kpis import GateKpi
from pmo.documents.charts import _figure, _png
from pmo.files import write_atomically
from pmo.templating import MarkdownText

FINDING_TYPES = ("control gap", "evidence gap", "delivery risk")
FINDING_COLOURS = {"control gap": "#C8553D", "evidence gap": "#E0A526", "delivery risk": "#1F4E9A"}
BLUES = ("#1F4E9A", "#9DB9E3", "#5B7DB8", "#C8553D", "#E0A526", "#7A9E7E", "0.55")
RAG_COLOURS = {"green": "#4C9A5B", "amber": "#E0A526", "red": "#C8553D"}
_MOST_BARS = 25  # more categories than this would be unreadable: the rest become "other"


class PortfolioCharts:
    """The charts of one portfolio audit report, saved in `folder`."""

    def __init__(
        self,
        folder: Path,
        stem: str,
        *,
        gates: Sequence[GateKpi],
        stage_status: Sequence[tuple[str, str]],
        findings: Sequence[tuple[str, str]],
        spi_cpi: Sequence[tuple[float, float, str | None]],
    ) -> None:
        self._folder = folder
        self._stem = stem
        self._gates = gates
        self._stage_status = stage_status  # (stage, status) per project
        self._findings = findings  # (area, type) per finding
        self._spi_cpi = spi_cpi  # (SPI, CPI, RAG) per project with both
        self.written: list[Path] = []

    def gate_cycle_time(self) -> MarkdownText:
        """p50 and p90 hours from a gate opening to its decision, per gate."""
        return self._save("gate-cycle-time", draw_gate_cycle_time(self._gates))

    def projects_by_stage(self) -> MarkdownText:
        """Projects per stage, each bar split by project status."""
        return self._save("projects-by-stage", draw_projects_by_stage(self._stage_status))

    def findings_by_type(self) -> MarkdownText:
        """Findings per checklist area, each bar split by finding type."""
        return self._save("findings-by-type", draw_findings_by_type(self._findings))

    def spi_cpi(self) -> MarkdownText:
        """Each project with earned value as a point: SPI across, CPI up."""
        return self._save("spi-cpi", draw_spi_cpi(self._spi_cpi))

    def _save(self, chart: str, png: bytes) -> MarkdownText:
        name = f"{self._stem}-{chart}.png"
        self.written.append(write_atomically(self._folder / name, png))
        return MarkdownText(quote(name))


def _top(counts: Counter[str]) -> list[str]:
    names = [name for name, _ in counts.most_common()]
    return names if len(names) <= _MOST_BARS else [*names[: _MOST_BARS - 1], "other"]


def draw_gate_cycle_time(gates: Sequence[GateKpi]) -> bytes:
    timed = [g for g in gates if g.cycle_hours.p50 is not None]
    figure = _figure(7.2, 0.9 + 0.5 * max(len(timed), 1))
    axes = figure.add_subplot()
    rows = list(reversed(range(len(timed))))
    p90 = [g.cycle_hours.p90 or 0.0 for g in timed]
    p50 = [g.cycle_hours.p50 or 0.0 for g in timed]
    axes.barh(rows, p90, height=0.6, color="#9DB9E3", label="p90")
    axes.barh(rows, p50, height=0.35, color="#1F4E9A", label="p50")
    axes.set_yticks(rows, [f"{g.gate_name} ({g.decided})" for g in timed])
    axes.set_xlabel("Hours from gate opened to decided")
    axes.set_title("Gate cycle time (decided gates in brackets)")
    axes.grid(axis="x", color="0.85")
    _legend_beside(axes)
    return _png(figure)


def draw_projects_by_stage(stage_status: Sequence[tuple[str, str]]) -> bytes:
    stages = _top(Counter(stage for stage, _ in stage_status))
    statuses = _top(Counter(status for _, status in stage_status))
    shown_stages, shown_statuses = set(stages), set(statuses)
    counts = Counter(
        (
            stage if stage in shown_stages else "other",
            status if status in shown_statuses else "other",
        )
        for stage, status in stage_status
    )
    figure = _figure(7.2, 0.9 + 0.45 * max(len(stages), 1))
    axes = figure.add_subplot()
    rows = list(reversed(range(len(stages))))
    left = [0] * len(stages)
    for index, status in enumerate(statuses):
        widths = [counts[(stage, status)] for stage in stages]
        axes.barh(rows, widths, left=left, height=0.6, label=status, color=BLUES[index % 7])
        left = [a + b for a, b in zip(left, widths, strict=True)]
    axes.set_yticks(rows, stages)
    _room_after(axes, left)
    axes.set_xlabel("Projects")
    axes.set_title("Projects by stage and status")
    axes.grid(axis="x", color="0.85")
    _legend_beside(axes, title="Status")
    return _png(figure)


def draw_findings_by_type(findings: Sequence[tuple[str, str]]) -> bytes:
    areas = _top(Counter(area for area, _ in findings))
    shown = set(areas)
    counts = Counter((area if area in shown else "other", kind) for area, kind in findings)
    figure = _figure(7.2, 0.9 + 0.45 * max(len(areas), 1))
    axes = figure.add_subplot()
    rows = list(reversed(range(len(areas))))
    left = [0] * len(areas)
    for kind in FINDING_TYPES:
        widths = [counts[(area, kind)] for area in areas]
        if any(widths):
            axes.barh(rows, widths, left=left, height=0.6, label=kind, color=FINDING_COLOURS[kind])
        left = [a + b for a, b in zip(left, widths, strict=True)]
    axes.set_yticks(rows, areas)
    _room_after(axes, left)
    axes.set_xlabel("Findings")
    axes.set_title("Findings by checklist area and type")
    axes.grid(axis="x", color="0.85")
    _legend_beside(axes)
    return _png(figure)


def draw_spi_cpi(points: Sequence[tuple[float, float, str | None]]) -> bytes:
    figure = _figure(6.4, 5.2)
    axes = figure.add_subplot()
    # Thousands of projects: small, translucent dots, so where they crowd still shows.
    size, alpha, scale = (40, 0.9, 1) if len(points) <= 200 else (8, 0.35, 2.5)
    for rag in (*RAG_COLOURS, None):
        chosen = [(s, c) for s, c, r in points if (r if r in RAG_COLOURS else None) == rag]
        if chosen:
            xs, ys = zip(*chosen, strict=True)
            colour = RAG_COLOURS.get(rag or "", "0.5")
            label = rag or "no RAG"
            axes.scatter(xs, ys, s=size, alpha=alpha, color=colour, label=label, linewidths=0)
    axes.axhline(1.0, color="0.6", linewidth=1, linestyle="--")
    axes.axvline(1.0, color="0.6", linewidth=1, linestyle="--")
    axes.set_xlabel("SPI (schedule: 1.0 = on plan, below = late)")
    axes.set_ylabel("CPI (cost: 1.0 = on plan, below = over budget)")
    axes.set_title("Schedule and cost performance per project")
    axes.grid(color="0.92")
    legend = axes.legend(loc="best", title="RAG", markerscale=scale)
    for handle in legend.legend_handles:
        if handle is not None:
            handle.set_alpha(1)  # the dots' translucency is for crowds, not for the key
    return _png(figure)


def _room_after(axes, totals: Sequence[float]) -> None:
    # A stacked segment of width 0 pins the axis to the longest bar's end: leave a margin.
    from matplotlib.ticker import MaxNLocator

    axes.set_xlim(0, max(max(totals, default=0) * 1.05, 1))
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))  # whole projects, whole findings


def _legend_beside(axes, title: str | None = None) -> None:
    # Beside the plot, not on it: the longest bar runs under a legend drawn inside.
    axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False, title=title)
