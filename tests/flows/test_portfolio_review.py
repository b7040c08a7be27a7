"""The `portfolio-review` flow on a real Prefect server: the review as an artifact with
its charts inline, the files under the PMO home, and one mail per recipient."""

import pytest
from prefect import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

from flows.portfolio_review import portfolio_review
from pmo.mail import read_outbox
from tests.portfolio.test_portfolio_command import portfolio_of_three

pytestmark = pytest.mark.integration


def test_the_review_is_published_kept_and_mailed(store_url, prefect_api, pmo_home):
    portfolio_of_three()
    summary = portfolio_review()
    assert (summary["projects"], summary["above_funding_line"]) == (3, 2)
    assert summary["mailed"] == ["pmo-office@example.com"]
    assert any(p.endswith(".docx") for p in summary["report"])
    (mail,) = [m for m in read_outbox() if "Portfolio review" in m["Subject"]]
    body = mail.get_body(("plain",)).get_content()
    assert "Below the line: SMALL" in body
    assert any(part.get_filename("").endswith(".docx") for part in mail.iter_attachments())

    async def latest():
        async with get_client() as client:
            return await client.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["portfolio-review"]))
            )

    import asyncio

    (artifact, *_) = asyncio.run(latest())
    assert "data:image/png;base64" in artifact.data and "SMALL" in artifact.data
