"""Every deployment pmo-flows serves, wired in one place."""

from datetime import timedelta

from prefect import serve
from prefect.deployments.runner import RunnerDeployment

from flows.audit import pmo_audit
from flows.gate_sla import gate_sla
from flows.lifecycle import project_lifecycle
from flows.portfolio_review import portfolio_review
from pmo.settings import get_settings

LIFECYCLE_DEPLOYMENT = "project-lifecycle/project-lifecycle"


def deployments() -> list[RunnerDeployment]:
    return [
        project_lifecycle.to_deployment(
            name="project-lifecycle",
            description="Start a project: fill in its brief and pick the lifecycle.",
            tags=["pmo"],
        ),
        gate_sla.to_deployment(
            name="gate-sla",
            description="Remind, escalate and apply timeout policies at gates that wait too long.",
            interval=timedelta(minutes=get_settings().gate_sla_interval_minutes),
            tags=["pmo"],
        ),
        pmo_audit.to_deployment(
            name="pmo-audit",
            description="The PMO's daily audit: checklists from evidence, bypassed gates, "
            "the tamper-evident ledger and the portfolio KPIs.",
            cron=get_settings().audit_cron,
            tags=["pmo"],
        ),
        portfolio_review.to_deployment(
            name="portfolio-review",
            description="The portfolio review: projects ranked, the funding line, capacity by "
            "role and month, alignment; published and mailed to the PMO.",
            cron=get_settings().portfolio_review_cron,
            tags=["pmo"],
        ),
    ]


def serve_deployments() -> None:
    """Serve every deployment from this process until interrupted."""
    serve(*deployments(), print_starting_message=False)
