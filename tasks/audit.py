"""Tasks of the `pmo-audit` flow: audit the portfolio, write its report, publish it."""

from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from pmo.audit.portfolio import PortfolioAudit, run_audit
from pmo.audit.run_history import RunSelection
from tasks.retries import STORE_RETRIES


@task(name="audit-portfolio", cache_policy=NO_CACHE, **STORE_RETRIES)
def audit_portfolio(selection: RunSelection) -> PortfolioAudit:
    """Answer every project's checklist from evidence, find bypassed gates, verify the
    ledger and compute the portfolio KPIs."""
    return run_audit(selection)


@task(name="write-audit-report", cache_policy=NO_CACHE, **STORE_RETRIES)
def write_audit_report(audit: PortfolioAudit, out_dir: Path) -> list[Path]:
    """Write the portfolio audit report (.md, .docx, .json, charts) into `out_dir`."""
    from pmo.documents.audit_report import write_portfolio_report

    return write_portfolio_report(audit, out_dir)


@task(name="publish-audit-artifacts", cache_policy=NO_CACHE, **STORE_RETRIES)
def publish_audit_artifacts(audit: PortfolioAudit, report: Path) -> None:
    """Show the report (charts inline) and its tables as artifacts of the audit run."""
    from pmo.documents.audit_report import publish_portfolio_artifacts

    publish_portfolio_artifacts(audit, report.read_text(), images_dir=report.parent)
