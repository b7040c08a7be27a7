"""The portfolio review: Markdown, Word, JSON and charts on disk, an artifact in Prefect.

Rendered through the one document path (`write_document`: the sandboxed template
`templates/portfolio-review.md.j2`, overridable with PMO_TEMPLATES_DIR).
"""

import json
from datetime import datetime
from pathlib import Path

from pmo.documents.docx import DocumentHeader
from pmo.documents.embed import with_embedded_images
from pmo.documents.output import write_document
from pmo.documents.portfolio_charts import PortfolioReviewCharts
from pmo.files import write_atomically
from pmo.portfolio.report import Portfolio, portfolio_json
from pmo.templating import format_datetime

TEMPLATE = "portfolio-review.md.j2"
ARTIFACT_KEY = "portfolio-review"


def review_stem(generated_at: datetime) -> str:
    return f"portfolio-review-{generated_at:%Y%m%d-%H%M}"


def write_portfolio_review(
    portfolio: Portfolio, out_dir: Path, *, generated_at: datetime, what_if: str = ""
) -> list[Path]:
    """Write `<stem>.md`, `<stem>.docx`, `<stem>.json` and the charts into `out_dir`;
    return their paths, Markdown first."""
    stem = review_stem(generated_at)
    charts = PortfolioReviewCharts(out_dir, stem, portfolio)
    conflicts = portfolio.conflicts
    worst = max(conflicts, key=lambda r: r.demand - r.capacity) if conflicts else None
    written = write_document(
        out_dir,
        stem,
        template=TEMPLATE,
        context={
            "portfolio": portfolio,
            "charts": charts,
            "generated_at": generated_at,
            "what_if": what_if,
            "worst": worst,
            "scored": any(e.candidate.score is not None for e in portfolio.ranked),
        },
        header=DocumentHeader(
            project="Portfolio",
            document="Portfolio review",
            version=f"of {format_datetime(generated_at)}",
        ),
    )
    data = {"generated_at": generated_at.isoformat(), "what_if": what_if}
    data |= portfolio_json(portfolio)
    json_path = write_atomically(
        out_dir / f"{stem}.json", (json.dumps(data, indent=2) + "\n").encode()
    )
    return [written.markdown_path, written.docx_path, json_path, *charts.written]


def publish_portfolio_review(portfolio: Portfolio, markdown_path: Path) -> None:
    """The review as the Markdown artifact `portfolio-review` of the current run, its
    charts inline (the Prefect UI cannot read the report's folder)."""
    from prefect.artifacts import create_markdown_artifact

    markdown = with_embedded_images(markdown_path.read_text(encoding="utf-8"), markdown_path.parent)
    above = sum(1 for e in portfolio.ranked if e.above_funding_line)
    create_markdown_artifact(
        markdown=markdown,
        key=ARTIFACT_KEY,
        description=(
            f"Portfolio review: {len(portfolio.ranked)} open project(s), {above} above the "
            f"funding line, {len(portfolio.conflicts)} over-allocated role-month(s)"
        ),
    )
