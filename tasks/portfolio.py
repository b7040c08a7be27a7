"""Tasks of the `portfolio-review` flow: weigh the portfolio, write the review, tell the PMO."""

from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from pmo.portfolio.report import Portfolio, current_portfolio


@task(name="weigh-portfolio", cache_policy=NO_CACHE)
def weigh_portfolio() -> Portfolio:
    """Rank the open projects, draw the funding line, sum the plans' demand on people."""
    return current_portfolio()


@task(name="write-portfolio-review", cache_policy=NO_CACHE)
def write_portfolio_review(portfolio: Portfolio, out_dir: Path, generated_at) -> list[Path]:
    """Write the review (.md, .docx, .json, charts) into `out_dir` and show it as the
    `portfolio-review` artifact of this run."""
    from pmo.documents.portfolio_review import publish_portfolio_review
    from pmo.documents.portfolio_review import write_portfolio_review as write

    written = write(portfolio, out_dir, generated_at=generated_at)
    publish_portfolio_review(portfolio, written[0])
    return written


@task(name="mail-portfolio-review", cache_policy=NO_CACHE)
def mail_portfolio_review(portfolio: Portfolio, written: list[Path], review_key: str) -> list[str]:
    """Mail the review to the PMO (the policy's `review_recipients`), once per review."""
    from pmo.portfolio.mailing import mail_review

    return mail_review(portfolio, written, review_key)
