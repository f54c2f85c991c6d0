"""The one way invoicesync touches its own files: privately, and never through a planted link.

Every file the tool writes (token file, connection file, config.toml) holds either a secret or
something a later run trusts, so all of them go through `write_atomic`:

- the new content goes to a temp file created with O_CREAT|O_EXCL|O_NOFOLLOW and a random name
  in the target's directory, so a symlink planted at a predictable name cannot redirect it;
- the temp file gets the requested mode (0600 by default) before any byte is written;
- the file is fsynced, renamed over the target, and the directory fsynced, so a crash leaves
  the old or the new content, never half of it and never neither;
- a target that is a symbolic link (or not a regular file) is refused, not written through.

Reading is as careful (`read_text`: no link, a regular file of the user's), directories are
created 0700 whatever the umask and checked on use (`private_dir`: no link, the user's, nobody
else can write to them), and locks are files opened the same way (`FileLock`). Every refusal is
`UnsafePath` (exit 8) naming the path and what to do (docs/troubleshooting.md).
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from invoicesync.errors import ConfigError

if TYPE_CHECKING:
    import filelock

_ATTEMPTS = 16  # random temp names that already exist before we give up (only an attacker)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # a FIFO planted at the path must not hang the open
_OPEN_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC
_PRIVATE_OPEN = os.O_RDWR | os.O_CREAT | _NONBLOCK
_LOCK_POLL = 0.05  # seconds between tries while waiting for a lock another process holds


class UnsafeFile(ConfigError):
    """A file the tool must write is a link, not a regular file, or cannot be written."""


class UnsafePath(UnsafeFile):
    """A path the tool must use is a link, not what it should be, another user's, or a
    directory others can write to: a refusal, never an environment to work around."""


_REPLACE = "replace it with the file itself (or point the setting at the real file)"
_DELETE = "delete the link (the file holds nothing invoicesync needs; a new one is created)"


def _link(path: Path, use: str = "read or write", fix: str = _REPLACE) -> UnsafePath:
    return UnsafePath(f"{path} is a symbolic link; invoicesync does not {use} through links: {fix}")


def _foreign(path: Path, uid: int) -> UnsafePath:
    return UnsafePath(
        f"{path} belongs to another user (uid {uid}); invoicesync uses only files and folders "
        "of yours: move it aside, or point INVOICESYNC_HOME (or the setting) at a folder of yours"
    )


def _check_owner(path: Path, info: os.stat_result) -> None:
    """The user's own file or directory (platforms without uids skip this)."""
    if hasattr(os, "geteuid") and info.st_uid != os.geteuid():
        raise _foreign(path, info.st_uid)


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
        raise _link(path, "write")
    if not stat.S_ISREG(info.st_mode):
        raise UnsafePath(f"{path} exists and is not a regular file; move it aside")


def _opened(path: Path, flags: int, mode: int = 0o600, fix: str = _REPLACE) -> int:
    """`os.open` that never follows a link at `path` itself; a link is refused (exit 8)."""
    if not _NOFOLLOW and os.path.islink(path):
        raise _link(path, fix=fix)  # no O_NOFOLLOW (Windows): the check is all there is
    try:
        return os.open(path, flags | _NOFOLLOW | _CLOEXEC, mode)
    except OSError as exc:
        # ELOOP on Linux and macOS, EMLINK on FreeBSD.
        if exc.errno in {errno.ELOOP, errno.EMLINK} or os.path.islink(path):
            raise _link(path, fix=fix) from None
        raise


def _checked(fd: int, path: Path) -> os.stat_result:
    """The open file is a regular file of the user's, or it is closed and refused."""
    info = os.fstat(fd)
    try:
        if not stat.S_ISREG(info.st_mode):
            raise UnsafePath(f"{path} is not a regular file; move it aside")
        _check_owner(path, info)
    except UnsafePath:
        os.close(fd)
        raise
    return info


def read_text(path: Path) -> str | None:
    """The text of a regular file of the user's, None if it does not exist. A link is refused
    before anything is read through it (it could name another connection's token file, or a
    file someone else can change); a FIFO, device or directory is refused rather than read
    forever; all exit 8."""
    try:
        fd = _opened(path, os.O_RDONLY | _NONBLOCK)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise UnsafeFile(f"{path}: cannot read the file ({exc.strerror})") from None
    _checked(fd, path)
    try:
        with os.fdopen(fd, "rb") as file:
            data = file.read()
        return data.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UnsafeFile(f"{path}: cannot read the file ({exc})") from None


def ensure_dir(path: Path) -> None:
    """Create a directory and its missing parents, each 0700 whatever the umask (os.mkdir's
    mode is masked by the umask, never widened: pathlib gives the parents 0777 under umask 0).
    Directories that exist are left as they are."""
    missing: list[Path] = []
    here = path
    while not os.path.lexists(here) and here != here.parent:
        missing.append(here)
        here = here.parent
    try:
        for directory in reversed(missing):
            with contextlib.suppress(FileExistsError):  # another process made it meanwhile
                os.mkdir(directory, 0o700)
        if not path.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, "not a directory")
    except OSError as exc:
        raise UnsafeFile(f"{path}: cannot create the directory ({exc.strerror})") from None


def _check_dir(path: Path) -> bool:
    """Whether `path` exists; if it does it must be a real directory of the user's that no one
    else can write to (else they could plant links or files in it): exit 8 otherwise."""
    try:
        info = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return False
    if stat.S_ISLNK(info.st_mode):
        raise UnsafePath(
            f"{path} is a symbolic link; invoicesync keeps its state only in real folders: "
            "replace the link with the folder itself (move what it points at there)"
        )
    if not stat.S_ISDIR(info.st_mode):
        raise UnsafeFile(f"{path} is not a directory; move it aside")
    _check_owner(path, info)
    if hasattr(os, "geteuid") and info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise UnsafePath(
            f"{path}: other users can write to this folder (mode {stat.S_IMODE(info.st_mode):o}),"
            f" so they could plant links or files in it; run `chmod 700 {path}`"
        )
    return True


def private_dir(path: Path, root: Path | None = None, *, create: bool = True) -> Path:
    """`path` as a private directory: it and every folder from `root` (default: `path` itself)
    down to it checked (`_check_dir`) before anything is created in it, and the missing ones
    created 0700 (unless `create` is False). Above `root` is the user's business (a home
    reached through a link, /tmp)."""
    top = root or path
    parts = path.relative_to(top).parts
    if create:
        ensure_dir(top.parent)
    for depth in range(len(parts) + 1):
        directory = top.joinpath(*parts[:depth])
        if _check_dir(directory):
            continue
        if not create:
            break  # nothing below a missing folder exists either
        ensure_dir(directory)  # its parent is checked: no link can redirect this
        _check_dir(directory)  # what another process may have made meanwhile
    return path


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


def write_atomic(path: Path, data: str | bytes, *, mode: int = 0o600, replace: bool = True) -> None:
    """Replace `path` with `data` atomically and durably; the file ends with `mode`. With
    `replace=False` an existing file is kept and `FileExistsError` raised (a hard link of the
    finished temporary file, which never overwrites)."""
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
        if replace:
            os.replace(tmp, path)
        else:
            os.link(tmp, path, follow_symlinks=False)  # EEXIST if anything is there
    except FileExistsError:
        raise
    except OSError as exc:
        raise UnsafeFile(f"{path}: cannot write the file ({exc.strerror})") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    _fsync_dir(path.parent)


def open_private(path: Path) -> int:
    """A file of ours for reading and writing (a lock, the request budget): created 0600, never
    through a link, refused if it is not a regular file of the user's (exit 8), and put back to
    0600 if an earlier version left it wider. Other failures (a read-only disk) stay `OSError`."""
    fd = _opened(path, _PRIVATE_OPEN, fix=_DELETE)
    info = _checked(fd, path)
    if stat.S_IMODE(info.st_mode) != 0o600 and hasattr(os, "fchmod"):
        os.fchmod(fd, 0o600)
    return fd


class LockTimeout(Exception):
    """Another process held the lock for longer than the caller would wait."""


class FileLock:
    """An exclusive lock on a file `open_private` opened: flock(2) on POSIX, released when the
    descriptor closes (also when the process dies). It replaces filelock there, which created
    the file 0644 (0666 under umask 0), and whose 3.13.1 followed a link planted at the path
    and truncated its target. Elsewhere (Windows) filelock >= 3.20.3, which refuses reparse
    points, after the same checks."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self._other: filelock.BaseFileLock | None = None

    def acquire(self, timeout: float | None = None) -> None:
        """Wait at most `timeout` seconds (None: as long as it takes), else `LockTimeout`."""
        if sys.platform == "win32":
            self._acquire_filelock(timeout)
            return
        import fcntl

        fd = open_private(self.path)
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | (0 if deadline is None else fcntl.LOCK_NB))
                    break
                except BlockingIOError:
                    if deadline is None or time.monotonic() >= deadline:
                        raise LockTimeout(str(self.path)) from None
                    time.sleep(_LOCK_POLL)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd

    def _acquire_filelock(self, timeout: float | None) -> None:  # pragma: no cover (Windows)
        import filelock

        if os.path.islink(self.path):
            raise _link(self.path, fix=_DELETE)
        lock = filelock.FileLock(str(self.path), timeout=-1 if timeout is None else timeout)
        try:
            lock.acquire()
        except filelock.Timeout:
            raise LockTimeout(str(self.path)) from None
        self._other = lock

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)  # closing the only descriptor releases the flock
        if self._other is not None:
            lock, self._other = self._other, None
            lock.release()

    def __enter__(self) -> FileLock:
        self.acquire()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.release()
