"""render_document on a real Prefect server: one artifact per version, charts inside."""

import uuid
from pathlib import Path

import pytest
from prefect import flow, get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

from tasks.documents import render_document
from tests.factories import make_brief
from tests.project_record import LIFECYCLE, register

pytestmark = pytest.mark.integration


@flow
def render_twice(brief, stage) -> list:
    """A resumed run renders again from the top: the second call must find the first."""
    return [render_document(brief, LIFECYCLE, stage, 1, "stakeholder-register") for _ in "12"]


def test_a_document_is_published_once_as_a_markdown_artifact_with_its_chart(store_url, prefect_api):
    # the Prefect server is the session's: each run of this test needs its own artifact key
    key = f"ARTEMIS-{uuid.uuid4().hex[:6].upper()}"
    brief = make_brief(key=key)
    register(brief)

    first, again = render_twice(brief, LIFECYCLE.lifecycle.stages[0])

    assert first == again
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(
                key=ArtifactFilterKey(any_=[f"{key.lower()}-stakeholder-register"])
            )
        )
    (artifact,) = artifacts
    assert artifact.type == "markdown"
    assert artifact.data.startswith("# Stakeholder register: Apollo customer portal")
    assert "](data:image/png;base64,iVBORw0KGgo" in artifact.data
    on_disk = Path(first.markdown_path).read_text(encoding="utf-8")
    assert f"]({key}-stakeholder-register-v1-power-interest-grid.png)" in on_disk
