"""A brief names the strategic objectives it serves; an unknown one is refused by name."""

import pytest

from pmo.errors import BriefError
from pmo.methodology.project import load_brief_for
from tests.factories import brief_data, write_brief

pytestmark = pytest.mark.unit


def test_known_objectives_and_benefits_are_taken(tmp_path):
    data = brief_data(strategic_objectives=["growth", "compliance"], benefits=400000)
    brief = load_brief_for(write_brief(tmp_path, data), "pmbok-waterfall")
    assert brief.strategic_objectives == ["growth", "compliance"]
    assert brief.benefits == 400000


def test_an_unknown_objective_is_refused_naming_it(tmp_path):
    path = write_brief(tmp_path, brief_data(strategic_objectives=["growth", "world-peace"]))
    with pytest.raises(BriefError) as refused:
        load_brief_for(path, "pmbok-waterfall")
    assert str(refused.value).startswith(f"{path}: strategic_objectives[1]: 'world-peace' is not")


def test_negative_benefits_are_refused(tmp_path):
    path = write_brief(tmp_path, brief_data(benefits=-1))
    with pytest.raises(BriefError) as refused:
        load_brief_for(path, "pmbok-waterfall")
    assert "benefits" in str(refused.value)
