"""Charts of the portfolio review: the projects as bubbles (score against risk, size the
budget, colour the RAG), the capacity heat map (role by month), the funding line and the
alignment with the strategy. Drawn as every other document's charts are."""

from pathlib import Path
from urllib.parse import quote

from pmo.documents.audit_charts import RAG_COLOURS
from pmo.documents.charts import _figure, _png
from pmo.files import write_atomically
from pmo.portfolio.report import Portfolio
from pmo.templating import MarkdownText

NO_RAG = "#9AA3AD"  # grey: no status reported yet
_MOST_LABELS = 40  # beyond this many bubbles, names would hide the picture


class PortfolioReviewCharts:
    """The charts of one portfolio review, saved as `<stem>-<chart>.png` in `folder`."""

    def __init__(self, folder: Path, stem: str, portfolio: Portfolio) -> None:
        self._folder = folder
        self._stem = stem
        self._portfolio = portfolio
        self.written: list[Path] = []

    def bubbles(self) -> MarkdownText:
        return self._save("bubbles", draw_bubbles(self._portfolio))

    def capacity(self) -> MarkdownText:
        return self._save("capacity", draw_capacity(self._portfolio))

    def funding_line(self) -> MarkdownText:
        return self._save("funding-line", draw_funding_line(self._portfolio))

    def alignment(self) -> MarkdownText:
        return self._save("alignment", draw_alignment(self._portfolio))

    def _save(self, chart: str, png: bytes) -> MarkdownText:
        name = f"{self._stem}-{chart}.png"
        self.written.append(write_atomically(self._folder / name, png))
        return MarkdownText(quote(name))


def draw_bubbles(portfolio: Portfolio) -> bytes:
    """Gate score across, highest risk rating up; area for budget; colour for RAG."""
    scored = [e for e in portfolio.ranked if e.candidate.score is not None]
    figure = _figure(7.2, 5.0)
    axes = figure.add_subplot()
    largest = max((float(e.candidate.budget) for e in scored), default=1.0) or 1.0
    for entry in scored:
        c = entry.candidate
        axes.scatter(
            float(c.score),
            c.risk,
            s=60 + 1400 * float(c.budget) / largest,
            color=RAG_COLOURS.get(c.rag or "", NO_RAG),
            alpha=0.7,
            edgecolors="0.25" if entry.above_funding_line else "none",
            linewidths=1.2,
        )
        if len(scored) <= _MOST_LABELS:
            axes.annotate(c.key, (float(c.score), c.risk), ha="center", va="center", fontsize=7)
    axes.set_xlim(0, 10)
    axes.set_ylim(0, 9.5)
    axes.set_xlabel("Gatekeepers' weighted score (0 to 10)")
    axes.set_ylabel("Highest risk rating (probability x impact)")
    axes.set_title("Projects: score against risk (area: budget; colour: RAG; ringed: funded)")
    axes.grid(color="0.9")
    for label, colour in (*RAG_COLOURS.items(), ("no status yet", NO_RAG)):
        axes.scatter([], [], color=colour, label=label)
    axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False, title="RAG")
    return _png(figure)


def draw_capacity(portfolio: Portfolio) -> bytes:
    """Demand over capacity per role and month: the darker, the more over-allocated."""
    import numpy as np
    from matplotlib.colors import LinearSegmentedColormap

    roles = sorted({row.role for row in portfolio.capacity})
    months = sorted({row.month for row in portfolio.capacity})
    load = np.full((len(roles), len(months)), np.nan)
    for row in portfolio.capacity:
        share = float(row.demand / row.capacity) if row.capacity else 2.0
        load[roles.index(row.role), months.index(row.month)] = min(share, 2.0)
    figure = _figure(max(5.0, 1.6 + 0.42 * len(months)), 1.4 + 0.42 * max(len(roles), 1))
    axes = figure.add_subplot()
    colours = LinearSegmentedColormap.from_list("load", ["#E8F1E4", "#E0A526", "#C8553D"])
    image = axes.imshow(load, aspect="auto", cmap=colours, vmin=0, vmax=2)
    axes.set_yticks(range(len(roles)), roles)
    axes.set_xticks(range(len(months)), months, rotation=90, fontsize=7)
    for r, c in zip(*np.where(load > 1), strict=True):
        axes.text(c, r, "!", ha="center", va="center", fontsize=8, color="white")
    figure.colorbar(image, ax=axes, label="Demand / capacity (2 = twice or more; ! = over)")
    axes.set_title("Capacity: demand of the plans against people available, by month")
    return _png(figure)


def draw_funding_line(portfolio: Portfolio) -> bytes:
    """Cumulative budget down the ranking, against the envelope."""
    figure = _figure(7.2, 4.2)
    axes = figure.add_subplot()
    ranks = [e.rank for e in portfolio.ranked]
    cumulative = [float(e.cumulative_budget) for e in portfolio.ranked]
    colours = ["#1F4E9A" if e.above_funding_line else "#9DB9E3" for e in portfolio.ranked]
    axes.bar(ranks, cumulative, color=colours, width=0.8)
    axes.axhline(float(portfolio.envelope), color="#C8553D", linewidth=1.5)
    axes.annotate(
        f"envelope of the years they spend in: {portfolio.envelope:,.0f} {portfolio.currency}",
        (ranks[0] if ranks else 1, float(portfolio.envelope)),
        xytext=(0, 4),
        textcoords="offset points",
        color="#C8553D",
        fontsize=8,
    )
    funded = sum(1 for e in portfolio.ranked if e.above_funding_line)
    if 0 < funded < len(ranks):
        axes.axvline(funded + 0.5, color="0.2", linestyle="--", linewidth=1)
        axes.annotate(
            "funding line",
            (funded + 0.5, 0),
            xytext=(3, 3),
            textcoords="offset points",
            fontsize=8,
            rotation=90,
            va="bottom",
        )
    if len(ranks) <= _MOST_LABELS:
        axes.set_xticks(
            ranks, [e.candidate.key for e in portfolio.ranked], rotation=45, ha="right", fontsize=7
        )
    axes.set_xlabel("Projects in rank order (dark: above the funding line)")
    axes.set_ylabel(f"Cumulative budget ({portfolio.currency})")
    axes.set_title("The funding line")
    axes.grid(axis="y", color="0.9")
    return _png(figure)


def draw_alignment(portfolio: Portfolio) -> bytes:
    """Share of the funded budget per objective, beside the share its weight asks for."""
    shares = portfolio.alignment
    figure = _figure(7.2, 1.2 + 0.55 * max(len(shares), 1))
    axes = figure.add_subplot()
    rows = list(reversed(range(len(shares))))
    axes.barh(
        [r + 0.18 for r in rows],
        [100 * float(s.weight_share) for s in shares],
        height=0.36,
        color="#9DB9E3",
        label="share its weight asks for",
    )
    axes.barh(
        [r - 0.18 for r in rows],
        [100 * float(s.budget_share) for s in shares],
        height=0.36,
        color="#1F4E9A",
        label="share of the funded budget",
    )
    axes.set_yticks(rows, [s.name for s in shares])
    axes.set_xlabel("Percent")
    axes.set_title("Alignment: funded budget per strategic objective")
    axes.grid(axis="x", color="0.9")
    axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    return _png(figure)
