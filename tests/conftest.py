"""Test harness: every test runs in an isolated app dir, with an in-memory keyring, no colour,
a fixed width, and no network (tests marked `loopback` may use 127.0.0.1 only)."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.backend
import keyring.errors
import pytest
from hypothesis import HealthCheck, settings

# The reliability figures: counted where tests run, summed and printed where pytest reports.
from tests.figures import (  # noqa: F401  (hooks)
    pytest_runtest_call,
    pytest_runtest_logreport,
    pytest_terminal_summary,
)
from tests.helpers import World, make_world

# Hypothesis's per-example deadline (200 ms) and its "too slow" health check are timings, and a
# busy machine (CI running other jobs, pytest-xdist's workers) misses them with no bug anywhere:
# they would make the suite depend on an idle machine. The properties themselves still run.
settings.register_profile(
    "invoicesync", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("invoicesync")


class MemoryKeyring(keyring.backend.KeyringBackend):
    """A dict-backed keyring that behaves like real backends on delete of a missing entry."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if (service, username) not in self.entries:
            raise keyring.errors.PasswordDeleteError("not found")
        del self.entries[(service, username)]


class StickyKeyring(MemoryKeyring):
    """A keyring that says yes to a delete and keeps the entry (a locked or read-only one)."""

    def delete_password(self, service: str, username: str) -> None:
        return None


def pytest_configure(config: pytest.Config) -> None:
    restore_sigint()


def restore_sigint() -> None:
    """Ctrl-C reaches the programs the tests start, however pytest itself was started. A
    command started in the background (`make test &`, some CI runners, nohup) inherits SIGINT
    ignored, and exec passes that on: `sandbox serve` then never stopped on the test's Ctrl-C,
    and `push` ran on to the end, so the SIGINT tests tested nothing. With a handler here,
    every child starts with SIGINT at its default, as from a terminal."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("loopback"):
            item.add_marker(pytest.mark.enable_socket)
            item.add_marker(pytest.mark.allow_hosts(["127.0.0.1", "::1"]))


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    """The suite's folders get the same modes on every runner: invoicesync refuses an app dir
    other users can write to, which tests creating one under umask 002 would make."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in list(os.environ):
        if name.startswith("INVOICESYNC_"):
            monkeypatch.delenv(name)
    home = tmp_path / "app"
    monkeypatch.setenv("INVOICESYNC_HOME", str(home))
    monkeypatch.setenv("HOME", str(tmp_path / "no-such-home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "no-such-home" / ".config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "no-such-home" / ".cache"))
    monkeypatch.setenv("INVOICESYNC_LOCK_DIR", str(tmp_path / "locks"))  # refresh locks
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("TERM", "dumb")
    return home


@pytest.fixture(autouse=True)
def memory_keyring() -> Iterator[MemoryKeyring]:
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch, isolated_env: Path) -> World:
    return make_world(monkeypatch, isolated_env)


@pytest.fixture
def us(world: World) -> World:
    world.connect()
    world.source("us")
    return world
