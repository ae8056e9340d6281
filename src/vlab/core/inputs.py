"""Files named on the command line (a ruling to review, a receipt to check): read only if
they are regular files within a size bound, so a FIFO, ``/dev/zero`` or a huge file is a
one-line usage error, never a hang or an unbounded read."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from vlab.core.errors import UsageError

MAX_INPUT_BYTES = 64 * 1024**2  # a ruling or a receipt; real ones are kilobytes


def read_input(path: Path, *, what: str, limit: int = MAX_INPUT_BYTES) -> bytes:
    """The bytes of ``path``, or a ``UsageError`` naming ``what`` it should have been."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise UsageError(f"{what} not found: {path}") from None
    except OSError as exc:
        raise UsageError(f"cannot read {what} {path}: {exc.strerror}") from None
    # The file type is checked on the descriptor before it becomes a file object: Python
    # refuses to wrap a directory (IsADirectoryError), which must be a usage error too.
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise UsageError(f"{path}: not a regular file (a {what} is a file)")
    with os.fdopen(fd, "rb") as fh:
        if st.st_size > limit:
            raise UsageError(f"{path}: {st.st_size} bytes; a {what} is at most {limit}")
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise UsageError(f"{path}: more than {limit} bytes; a {what} is at most {limit}")
    return data
