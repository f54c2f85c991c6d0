"""The one way invoicesync writes a file: atomically, privately, never through a planted link.

Every file the tool writes (token file, connection file, config.toml) holds either a secret or
something a later run trusts, so all of them go through `write_atomic`:

- the new content goes to a temp file created with O_CREAT|O_EXCL|O_NOFOLLOW and a random name
  in the target's directory, so a symlink planted at a predictable name cannot redirect it;
- the temp file gets the requested mode (0600 by default) before any byte is written;
- the file is fsynced, renamed over the target, and the directory fsynced, so a crash leaves
  the old or the new content, never half of it and never neither;
- a target that is a symbolic link (or not a regular file) is refused, not written through.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from pathlib import Path

from invoicesync.errors import ConfigError

_ATTEMPTS = 16  # random temp names that already exist before we give up (only an attacker)
_OPEN_FLAGS = (
    os.O_WRONLY
    | os.O_CREAT
    | os.O_EXCL
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)


class UnsafeFile(ConfigError):
    """A file the tool must write is a link, not a regular file, or cannot be written."""


def temp_path(target: Path) -> Path:
    """A fresh, unpredictable temp name beside `target` (same directory, so rename is atomic)."""
    return target.with_name(f".{target.name}.{secrets.token_hex(8)}.tmp")


def check_target(path: Path) -> None:
    """Refuse a target that is a symbolic link or not a regular file (exit 8)."""
    try:
        info = path.lstat()
    except (FileNotFoundError, NotADirectoryError):
        return  # nothing there yet; `ensure_dir` explains a parent that is not a directory
    except OSError as exc:
        raise UnsafeFile(f"{path}: cannot inspect the file ({exc.strerror})") from None
    if stat.S_ISLNK(info.st_mode):
        raise UnsafeFile(
            f"{path} is a symbolic link; invoicesync does not write through links: replace it "
            "with a regular file (or point the setting at the real file)"
        )
    if not stat.S_ISREG(info.st_mode):
        raise UnsafeFile(f"{path} exists and is not a regular file; move it aside")


def read_text(path: Path) -> str | None:
    """The text of a regular file, None if it does not exist; a FIFO, device or directory is
    refused (exit 8) rather than read forever."""
    try:
        info = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise UnsafeFile(f"{path}: cannot read the file ({exc.strerror})") from None
    if not stat.S_ISREG(info.st_mode):
        raise UnsafeFile(f"{path} is not a regular file; move it aside")
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise UnsafeFile(f"{path}: cannot read the file ({exc})") from None


def ensure_dir(path: Path) -> None:
    """Create a directory (and parents) private to the user if it does not exist."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise UnsafeFile(f"{path}: cannot create the directory ({exc.strerror})") from None


def _create_temp(target: Path, mode: int) -> tuple[int, Path]:
    for _ in range(_ATTEMPTS):
        tmp = temp_path(target)
        try:
            return os.open(tmp, _OPEN_FLAGS, mode), tmp
        except FileExistsError:
            continue  # something already sits at that name (perhaps a planted link): skip it
        except OSError as exc:
            raise UnsafeFile(f"{target}: cannot write beside it ({exc.strerror})") from None
    raise UnsafeFile(f"{target}: could not create a private temp file beside it")


def probe_writable(path: Path) -> None:
    """Prove that `write_atomic(path, ...)` would succeed, without touching `path`: refuse a
    link, create the directory, create and remove a private temp file beside it."""
    check_target(path)
    ensure_dir(path.parent)
    fd, tmp = _create_temp(path, 0o600)
    os.close(fd)
    tmp.unlink()


def _fsync_dir(directory: Path) -> None:
    """Make the rename durable; platforms that cannot open a directory skip it."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_atomic(path: Path, data: str | bytes, *, mode: int = 0o600) -> None:
    """Replace `path` with `data` atomically and durably; the file ends with `mode`."""
    check_target(path)
    ensure_dir(path.parent)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = _create_temp(path, mode)
    try:
        try:
            if hasattr(os, "fchmod"):
                os.fchmod(fd, mode)  # exactly `mode`, whatever the umask
            view = memoryview(payload)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        check_target(path)  # a link planted while we wrote is refused too
        os.replace(tmp, path)
    except OSError as exc:
        raise UnsafeFile(f"{path}: cannot write the file ({exc.strerror})") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    _fsync_dir(path.parent)
