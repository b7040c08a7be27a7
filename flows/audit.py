"""`pmo-audit`: the PMO's daily audit of the portfolio, from Prefect's history and the store."""

from datetime import UTC, date, datetime, time

from prefect import flow, get_run_logger
from prefect.states import Failed, State

from pmo.audit.run_history import RunSelection
from pmo.settings import get_settings
from tasks.audit import audit_portfolio, publish_audit_artifacts, write_audit_report


@flow(name="pmo-audit", log_prints=True)
def pmo_audit(project: str | None = None, since: date | None = None) -> dict | State:
    """Audit every project (or one): each project's audit checklist answered from its run
    history and record, gates passed by any other way than an answer, a check of the
    tamper-evident ledger, and the portfolio KPIs. The report lands as artifacts of this
    run and as files under the PMO home's `audits` folder.

    The run fails when the ledger shows the record was altered, so it stands out."""
    selection = RunSelection(
        project_key=project,
        since=datetime.combine(since, time(), tzinfo=UTC) if since else None,
    )
    audit = audit_portfolio(selection)
    stamp = f"{audit.generated_at:%Y%m%d-%H%M%S}"
    written = write_audit_report(audit, get_settings().resolved_home / "audits" / stamp)
    publish_audit_artifacts(audit, next(p for p in written if p.suffix == ".md"))
    summary = {
        "projects": audit.kpis.projects,
        "findings": len(audit.findings),
        "compliance_rate": audit.kpis.compliance_rate,
        "ledger_intact": not audit.tampered,
        "report": [str(p) for p in written],
    }
    if audit.tampered:
        for problem in audit.ledger_problems:
            get_run_logger().error("ledger: %s", problem.message)
        return Failed(
            message=f"the record was altered: {len(audit.ledger_problems)} ledger problem(s)",
            data=summary,
        )
    return summary
