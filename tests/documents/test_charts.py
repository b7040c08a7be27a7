"""Charts: PNG files a template asks for, saved beside the document, drawn the same each time."""

from datetime import date
from pathlib import Path

import pytest

from pmo.control.analysis import gate_milestones
from pmo.documents.charts import Charts
from pmo.documents.communication import engaged_stakeholders
from pmo.documents.embed import with_embedded_images
from process_library.communication import load_communication_policy
from process_library.loader import load_lifecycle
from tests.factories import make_brief

pytestmark = pytest.mark.unit


def charts(folder: Path) -> Charts:
    brief = make_brief()
    return Charts(
        folder,
        "APOLLO-plan-summary-v3",
        stakeholders=engaged_stakeholders(brief),
        milestones=gate_milestones(brief, load_lifecycle("pmbok-waterfall").lifecycle),
        start=date(2027, 2, 1),
        end=date(2027, 10, 29),
        policy=load_communication_policy(),
    )


@pytest.mark.parametrize("chart", ["power_interest_grid", "milestone_timeline"])
def test_a_chart_is_a_png_next_to_the_document_and_the_same_every_time(tmp_path, chart):
    name = getattr(charts(tmp_path), chart)()
    png = tmp_path / name
    assert name == f"APOLLO-plan-summary-v3-{chart.replace('_', '-')}.png"
    first = png.read_bytes()
    assert first.startswith(b"\x89PNG\r\n\x1a\n")
    getattr(charts(tmp_path), chart)()
    assert png.read_bytes() == first


def test_no_chart_is_drawn_unless_a_template_asks(tmp_path):
    charts(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_the_artifact_markdown_carries_its_charts_inline(tmp_path):
    name = charts(tmp_path).power_interest_grid()
    markdown = (
        f"# Register\n\n![Grid]({name})\n\n"
        "![Elsewhere](/etc/passwd.png) ![Missing](nowhere.png) !\\[Typed\\](x.png)\n"
    )

    embedded = with_embedded_images(markdown, tmp_path)

    assert "![Grid](data:image/png;base64,iVBORw0KGgo" in embedded
    assert embedded.split("\n\n", 2)[2] == markdown.split("\n\n", 2)[2]  # the rest as it was
