"""`portfolio-review`: the PMO's monthly look at the portfolio, published and mailed."""

from datetime import UTC, datetime

from prefect import flow
from prefect.runtime import flow_run

from pmo.settings import get_settings
from tasks.portfolio import mail_portfolio_review, weigh_portfolio, write_portfolio_review


@flow(name="portfolio-review", log_prints=True)
def portfolio_review() -> dict:
    """Rank every open project, draw the funding line against the budget envelope and
    check the plans' demand on people against the capacity; publish the review as the
    `portfolio-review` artifact, keep it under the PMO home's `portfolio` folder and mail
    it to the PMO."""
    generated_at = datetime.now(UTC)
    portfolio = weigh_portfolio()
    out_dir = get_settings().resolved_home / "portfolio" / f"{generated_at:%Y%m%d-%H%M%S}"
    written = write_portfolio_review(portfolio, out_dir, generated_at)
    # Keyed by the run: a re-run of this review mails nobody twice.
    mailed = mail_portfolio_review(
        portfolio, written, flow_run.get_id() or f"{generated_at:%Y%m%d%H%M%S}"
    )
    return {
        "projects": len(portfolio.ranked),
        "above_funding_line": sum(1 for e in portfolio.ranked if e.above_funding_line),
        "capacity_conflicts": len(portfolio.conflicts),
        "mailed": mailed,
        "report": [str(p) for p in written],
    }
