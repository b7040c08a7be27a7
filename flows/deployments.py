"""Every deployment pmo-flows serves, wired in one place."""

from prefect import serve
from prefect.deployments.runner import RunnerDeployment

from flows.lifecycle import project_lifecycle

LIFECYCLE_DEPLOYMENT = "project-lifecycle/project-lifecycle"


def deployments() -> list[RunnerDeployment]:
    return [
        project_lifecycle.to_deployment(
            name="project-lifecycle",
            description="Start a project: fill in its brief and pick the lifecycle.",
            tags=["pmo"],
        ),
    ]


def serve_deployments() -> None:
    """Serve every deployment from this process until interrupted."""
    serve(*deployments(), print_starting_message=False)
