"""A connected invoicesync against an in-process sandbox, driven through the real CLI."""

from __future__ import annotations

import contextlib
import json
import random
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner, Result

from invoicesync.cli import AppState, app
from invoicesync.targets.quickbooks.sandbox import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    Sandbox,
    SandboxServer,
    SandboxTransport,
)
from invoicesync.targets.quickbooks.settings import local_environment

SAMPLES = Path(__file__).parents[1] / "src" / "invoicesync" / "data" / "samples"
BASE = "http://qbo.test"
US = "9130350000000001"
UK = "9130350000000002"


class FakeClock:
    """A clock that `sleep` moves: no test really waits."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class Driven:
    """Runs the real CLI in-process over a world's transport (no sockets), keeping every
    output for the secret checks. Shared by `World` and the B2BRouter world."""

    outputs: list[str]

    @property
    def transport(self) -> httpx.BaseTransport:
        raise NotImplementedError

    def browser(self, url: str) -> str:
        """Follow the authorize URL like a browser would and return where it lands."""
        response = httpx.Client(transport=self.transport).get(url)
        assert response.status_code == 302, response.text
        return str(response.headers["location"])

    def run(self, *args: str, input: str | None = None) -> Result:
        result = CliRunner().invoke(
            app,
            list(args),
            obj=AppState(transport=self.transport, browser=self.browser),
            input=input,
        )
        self.outputs += [result.stdout, result.stderr]
        return result


@dataclass
class World(Driven):
    sandbox: Sandbox
    home: Path
    monkeypatch: pytest.MonkeyPatch
    outputs: list[str] = field(default_factory=list)

    @property
    def transport(self) -> SandboxTransport:
        return SandboxTransport(self.sandbox)

    def connect(self, realm: str = US) -> Result:
        self.sandbox.auto_approve = True
        first = next(iter(self.sandbox.companies))
        if realm != first:  # the consent page picks the first company when auto-approving
            self.sandbox.companies = {
                realm: self.sandbox.companies[realm],
                **{k: v for k, v in self.sandbox.companies.items() if k != realm},
            }
        result = self.run("connect", "--manual")
        assert result.exit_code == 0, result.stderr
        return result

    def source(self, company: str = "us", fmt: str = "json") -> Path:
        dest = self.home.parent / f"source-{company}.{fmt}"
        shutil.copy(SAMPLES / company / f"invoices.{fmt}", dest)
        self.monkeypatch.setenv("INVOICESYNC_SOURCE", str(dest))
        return dest

    def invoices(self, realm: str = US) -> list[dict[str, Any]]:
        return list(self.sandbox.company(realm).entities["Invoice"].values())

    def json(self, *args: str) -> Any:
        result = self.run(*args, "--json")
        assert result.stdout, result.stderr
        return json.loads(result.stdout)


def make_world(
    monkeypatch: pytest.MonkeyPatch, home: Path, companies: tuple[str, ...] = ("us", "uk")
) -> World:
    sandbox = Sandbox(list(companies), auto_approve=True, base_url=BASE)
    for key, value in local_environment(BASE, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET).items():
        monkeypatch.setenv(key, value)
    return World(sandbox, home, monkeypatch)


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    """Wait for an observable event rather than a fixed sleep; fail with `what` after `timeout`
    seconds (a generous bound: it only ends a test that is already broken)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.005)


def signal_when(
    proc: subprocess.Popen[str], reached: Callable[[], bool], what: str, sig: int = signal.SIGKILL
) -> None:
    """Send `sig` to `proc` once `reached()` holds: the signal lands at the point of the run the
    test chose (after so many creates, say), not wherever a timer happens to fall on a busy
    machine. A run that ended before getting there is left alone (the test sees its exit)."""
    wait_until(lambda: proc.poll() is not None or reached(), what)
    proc.send_signal(sig)  # a no-op once the process has exited


def kill_point(rng: random.Random, total: int) -> int:
    """A seeded point of a run of `total` steps to kill it at: 0 (as soon as it has started
    talking to the server, before its first write lands) about one time in six, `total` (every
    write done, the bookkeeping maybe not) about one in twelve, and anywhere between the rest."""
    return min(max(rng.randint(-total // 5, total + total // 10), 0), total)


@contextlib.contextmanager
def loopback_server(sandbox: Sandbox) -> Iterator[SandboxServer]:
    """A sandbox on loopback that stops at once when the test ends: `serve_forever` polls for
    shutdown every 10 ms instead of the default half second, and the thread is joined."""
    server = SandboxServer(sandbox)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
    )
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
