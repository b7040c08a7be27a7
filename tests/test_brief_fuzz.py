"""Generated briefs: each is accepted or refused in one line naming the file, never a traceback."""

import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from pmo.brief import load_brief
from pmo.errors import PmoInputError
from process_library.errors import LifecycleError
from process_library.loader import load_lifecycle
from tests.factories import BRIEF_DATA
from tests.fuzz import TEXT, fuzz, mutated

pytestmark = pytest.mark.unit

LIFECYCLE = load_lifecycle("pmbok-waterfall").lifecycle
FOLDER = Path(tempfile.mkdtemp(prefix="pmo-brief-fuzz-"))


def check(text: str) -> None:
    """What `pmo start` does with a brief before it talks to Prefect."""
    path = FOLDER / "brief.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        brief = load_brief(path)
        brief.check_against(LIFECYCLE.tailored_for(brief.tier), source=str(path))
    except (PmoInputError, LifecycleError) as refused:
        line = str(refused)
        assert line.startswith(str(path)), line
        assert "\n" not in line and "\r" not in line, repr(line)


@fuzz(400)
@given(mutated(BRIEF_DATA))
def test_a_changed_brief_is_accepted_or_refused_in_one_line(data):
    check(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))


@fuzz(100)
@given(st.one_of(TEXT, st.binary(max_size=200).map(lambda b: b.decode("latin-1"))))
def test_any_text_as_a_brief_is_refused_in_one_line(text):
    check(text)
