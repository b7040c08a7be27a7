"""Files written whole or not at all, readable as any file the process creates."""

import os
import stat

import pytest

from pmo.files import write_atomically

pytestmark = pytest.mark.unit


def test_a_written_file_is_readable_by_others_as_the_umask_allows(tmp_path):
    previous = os.umask(0o022)
    try:
        path = write_atomically(tmp_path / "doc.md", b"# Title\n")
    finally:
        os.umask(previous)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert path.read_bytes() == b"# Title\n"
    assert [p.name for p in tmp_path.iterdir()] == ["doc.md"]  # no temporary file left
