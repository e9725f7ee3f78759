"""Writing files so that a reader never sees a half-written one.

A file is written under a temporary name in the same directory, flushed and
fsynced, then renamed over the target (``os.replace`` is atomic on POSIX and
Windows), and the directory is fsynced so the rename survives a power cut.
A process killed at any moment leaves either the old file or the new one,
never a mixture; the temporary file of a killed writer is left behind under a
name that starts with ``.`` and ends with ``.partial``.

>>> from pathlib import Path
>>> import tempfile
>>> target = Path(tempfile.mkdtemp()) / "results.json"
>>> with atomic_writer(target) as handle:
...     _ = handle.write(b"{}")
>>> target.read_bytes()
b'{}'
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

__all__ = ["atomic_writer", "write_bytes_atomically"]


@contextlib.contextmanager
def atomic_writer(path: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    """A binary file handle whose contents replace ``path`` only when the block ends cleanly.

    If the block raises, the target is left untouched and the temporary file removed.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    descriptor, staging = tempfile.mkstemp(
        dir=target.parent, prefix=f".{target.name}.", suffix=".partial"
    )
    try:
        with os.fdopen(descriptor, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(staging, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(staging)
        raise
    _fsync_directory(target.parent)


def write_bytes_atomically(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_writer`); returns the path."""
    with atomic_writer(path) as handle:
        handle.write(data)
    return Path(path)


def _fsync_directory(directory: Path) -> None:
    # Directories cannot be opened for fsync on every platform (Windows); the rename
    # is still atomic there, only its durability across a power cut is weaker.
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
