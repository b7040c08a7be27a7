"""The portfolio audit report as Prefect artifacts, on a real Prefect server, read back."""

import json
from typing import Any
from uuid import UUID

import pytest
from prefect import flow, get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    ArtifactFilterKey,
)

from pmo.documents.audit_report import publish_portfolio_artifacts, write_portfolio_report
from tests.audit_portfolios import CHARTER, portfolio, project_audit
from tests.documents.test_audit_report import HOSTILE, three_projects

pytestmark = pytest.mark.integration

KEYS = [
    "portfolio-audit",
    "portfolio-audit-findings",
    "portfolio-audit-kpis",
    "portfolio-audit-gates",
]


def published_by(run_id: UUID) -> dict[str, Any]:
    """The artifacts one run published, by key (the server is shared by the whole session,
    and other runs publish under the same keys)."""
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(
                flow_run_id=ArtifactFilterFlowRunId(any_=[run_id]),
                key=ArtifactFilterKey(any_=KEYS),
            )
        )
    return {a.key: a for a in artifacts}


def table(artifact: Any) -> list[dict[str, Any]]:
    assert artifact.type == "table"
    return json.loads(artifact.data) if isinstance(artifact.data, str) else artifact.data


def test_the_report_is_published_with_its_charts_inline_and_its_tables(prefect_api, tmp_path):
    audit = three_projects()
    paths = write_portfolio_report(audit, tmp_path)

    @flow(name="publish-portfolio-audit")
    def publish() -> None:
        publish_portfolio_artifacts(audit, paths[0].read_text(), images_dir=tmp_path)

    state = publish(return_state=True)

    assert state.is_completed()
    artifacts = published_by(state.state_details.flow_run_id)
    assert sorted(artifacts) == sorted(KEYS)
    report = artifacts["portfolio-audit"]
    assert report.type == "markdown"
    assert report.data.startswith("# Portfolio audit\n")
    assert report.data.count("](data:image/png;base64,iVBORw0KGgo") == 4
    assert ".png)" not in report.data
    assert "3 project(s), 3 finding(s), ledger NOT intact" in report.description
    findings = table(artifacts["portfolio-audit-findings"])
    assert [f["project"] for f in findings] == ["ORION", "ORION", "VEGA"]
    assert findings[0]["question"] == CHARTER
    kpis = {
        (row["kpi"], row["for"]): row["value"] for row in table(artifacts["portfolio-audit-kpis"])
    }
    assert kpis[("compliance rate (%)", "portfolio")] == 66.7
    gates = table(artifacts["portfolio-audit-gates"])
    assert [g["gate"] for g in gates] == ["charter-approval", "plan-approval"]
    assert gates[1]["hold"] == 1


def test_an_empty_portfolio_publishes_empty_tables_and_typed_text_stays_text(prefect_api, tmp_path):
    hostile = portfolio([project_audit("ORION", no={CHARTER: HOSTILE})])
    empty = portfolio([])

    @flow(name="publish-portfolio-audit")
    def publish(audit_index: int) -> None:
        audit = (hostile, empty)[audit_index]
        paths = write_portfolio_report(audit, tmp_path / str(audit_index))
        publish_portfolio_artifacts(audit, paths[0].read_text(), images_dir=paths[0].parent)

    first = published_by(publish(0, return_state=True).state_details.flow_run_id)
    (finding,) = table(first["portfolio-audit-findings"])
    assert finding["evidence"] == HOSTILE
    assert "| {{ 7\\*7 }} \\| a pipe {% raw %} \\<b\\>x" in first["portfolio-audit"].data

    # a later audit with nothing to report still replaces every table, so none shows old rows
    latest = published_by(publish(1, return_state=True).state_details.flow_run_id)
    assert sorted(latest) == sorted(KEYS)
    assert table(latest["portfolio-audit-findings"]) == []
    assert table(latest["portfolio-audit-gates"]) == []
    assert "No projects to audit" in latest["portfolio-audit"].data
