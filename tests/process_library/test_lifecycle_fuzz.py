"""Generated lifecycles: each validates or is refused in one line naming the file."""

import re
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import given

from process_library.errors import LifecycleError
from process_library.loader import load_lifecycle_file
from tests.factories import lifecycle_data
from tests.fuzz import fuzz, mutated

pytestmark = pytest.mark.unit

FOLDER = Path(tempfile.mkdtemp(prefix="pmo-lifecycle-fuzz-"))


@fuzz(300)
@given(mutated(lifecycle_data("pmbok-waterfall"), max_changes=5))
def test_a_changed_lifecycle_validates_or_is_refused_in_one_line(data):
    # named after itself, as the library wants, whenever its name can be a file name
    name = data.get("name") if isinstance(data, dict) else None
    stem = name if isinstance(name, str) and re.fullmatch(r"[\w-]{1,60}", name) else "changed"
    path = FOLDER / f"{stem}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    try:
        load_lifecycle_file(path)
    except LifecycleError as refused:
        line = str(refused)
        assert line.startswith(str(path)) and "\n" not in line, line
