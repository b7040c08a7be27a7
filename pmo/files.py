"""The one way we write a file that someone relies on: whole, or not at all."""

import os
import tempfile
from pathlib import Path


def write_atomically(path: Path, data: bytes, *, private: bool = False) -> Path:
    """Write `data` to `path` through a temporary file and a rename, so a crash never
    leaves half a document or half a message behind. A `private` file (a message with an
    approval code in it) is readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
    try:
        # mkstemp makes the file private (0600); a document is for its readers, as any file
        # this process creates would be (0666 less the umask).
        if not private:
            os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as tmp:
            tmp.write(data)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
