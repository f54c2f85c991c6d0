"""Writing a file the user asked for, atomically: a temporary file in the same folder, fsync,
rename. A reader sees the old file or the new one, never half of one, and a crash leaves at
most a stray `.NAME.*.tmp`. Symbolic links and special files (FIFOs, devices) are refused
rather than written through.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from invoicesync.errors import UsageError


def write_atomic(path: Path, data: bytes) -> None:
    if path.is_symlink():
        raise UsageError(f"{path} is a symbolic link; refusing to write through it")
    if path.exists() and not path.is_file():
        raise UsageError(f"{path} exists and is not a regular file; choose another path")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise UsageError(f"{folder} is not a folder; create it first")
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise UsageError(f"cannot write in {folder}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise UsageError(f"cannot write {path}: {exc.strerror}") from None
        raise
    _sync_folder(folder)


def _sync_folder(folder: Path) -> None:
    """Make the rename durable (POSIX; a no-op where folders cannot be opened)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
