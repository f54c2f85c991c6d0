"""Shared pieces of the reliability suite: a synthetic month, a live sandbox, invariants.

`INVOICESYNC_SOAK=1` turns the same tests into a longer soak (more seeds, more invoices).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from invoicesync.marker import marker_of
from invoicesync.store import Store
from invoicesync.targets.quickbooks.sandbox import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Sandbox
from invoicesync.targets.quickbooks.sandbox.company import Company, builtin_company, load_seed
from invoicesync.targets.quickbooks.sandbox.wire import Request, Response
from invoicesync.targets.quickbooks.settings import local_environment

# Figures for docs/reliability.md, printed at the end of the run (also under xdist).
from tests.figures import STATS, count  # noqa: F401  (what the tests import from here)
from tests.helpers import loopback_server

SOAK = os.environ.get("INVOICESYNC_SOAK") == "1"
US = "9130350000000001"
CUSTOMERS = [
    "Acme Localization Inc.",
    "O'Brien & Partners LLP",
    "Globex Corporation:Marketing",
    "Northwind Traders",
    "Contoso Ltd",
    "Globex Corporation",
]
SERVICES = [
    ("Translation", "0.12"),
    ("Proofreading", "40"),
    ("DTP", "25"),
    ("Transcription", "1.75"),
]


def month(n: int, seed: int = 0, prefix: str = "R") -> list[dict[str, Any]]:
    """`n` valid USD invoices over the US sandbox company's customers and items."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        lines = []
        for _ in range(rng.randint(1, 3)):
            service, price = rng.choice(SERVICES)
            lines.append(
                {"service": service, "quantity": str(rng.randint(1, 5000)), "unit_price": price}
            )
        out.append(
            {
                "number": f"{prefix}-{i:05d}",
                "customer": {"name": rng.choice(CUSTOMERS)},
                "issue_date": f"2026-10-{rng.randint(1, 28):02d}",
                "currency": "USD",
                "lines": lines,
            }
        )
    return out


@dataclass
class Live:
    """A sandbox on loopback, and the environment for invoicesync processes to use it."""

    sandbox: Sandbox
    url: str
    env: dict[str, str]
    home: Path
    source: Path
    outputs: list[str] = field(default_factory=list)

    def reset_company(self) -> None:
        with self.sandbox.lock:
            self.sandbox.companies[US] = Company(load_seed(builtin_company("us")), self.sandbox.now)
        for name in ("state.db", "state.db-wal", "state.db-shm"):
            (self.home / name).unlink(missing_ok=True)

    def write_source(self, records: list[dict[str, Any]]) -> None:
        self.source.write_text(json.dumps(records), encoding="utf-8")

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "invoicesync", *args],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [sys.executable, "-m", "invoicesync", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        self.outputs += [done.stdout, done.stderr]
        return done

    def invoices(self) -> list[dict[str, Any]]:
        with self.sandbox.lock:
            return [dict(i) for i in self.sandbox.companies[US].entities["Invoice"].values()]

    def invoice_count(self) -> int:
        """How many invoices the company holds (cheap enough to poll while a run goes on)."""
        with self.sandbox.lock:
            return len(self.sandbox.companies[US].entities["Invoice"])

    def answered(self) -> int:
        """How many requests the sandbox has answered so far (any kind, any client)."""
        with self.sandbox.lock:
            return len(self.sandbox.requests)

    @contextlib.contextmanager
    def writes_held(self) -> Iterator[Callable[[], int]]:
        """Invoice writes reaching the sandbox wait until the block ends: a run that has sent
        one is held mid-run, its state lock taken, for as long as the test needs, however busy
        the machine (a latency only made that likely). Yields how many writes are waiting."""
        release = threading.Event()
        waiting: list[Request] = []
        handle = self.sandbox.handle

        def held(request: Request) -> Response:
            if request.method == "POST" and request.path.endswith(("/batch", "/invoice")):
                waiting.append(request)
                release.wait(120)
            return handle(request)

        self.sandbox.handle = held  # type: ignore[method-assign]
        try:
            yield lambda: len(waiting)
        finally:
            release.set()
            del self.sandbox.handle

    def progress(self, target: int, done: Callable[[], int]) -> Callable[[], bool]:
        """The event a kill waits for: `done()` has reached `target`, or for a target of 0, the
        run has had its first answer (it is under way, its writes not yet landed)."""
        if target > 0:
            return lambda: done() >= target
        start = self.answered()
        return lambda: self.answered() > start


@pytest.fixture
def live(tmp_path: Path, isolated_env: Path) -> Iterator[Live]:
    sandbox = Sandbox(["us"], auto_approve=True)
    with loopback_server(sandbox) as server:
        grant = sandbox.oauth.issue_grant(DEFAULT_CLIENT_ID, US)
        url = server.url
        source = tmp_path / "month.json"
        env = {
            **os.environ,
            "INVOICESYNC_HOME": str(isolated_env),
            **local_environment(url, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET),
            "INVOICESYNC_REALM_ID": US,
            "INVOICESYNC_REFRESH_TOKEN": grant.refresh_token,
            "INVOICESYNC_TOKEN_FILE": str(tmp_path / "tokens.json"),
            "INVOICESYNC_SOURCE": str(source),
            "PYTHONUNBUFFERED": "1",
        }
        yield Live(sandbox, url, env, isolated_env, source)


def assert_exactly_once(
    numbers: list[str],
    qbo_invoices: list[dict[str, Any]],
    home: Path,
    realm: str = US,
    *,
    complete: bool = True,
) -> None:
    """One QBO invoice per source invoice, every link right, the journal clean."""
    ours = [i for i in qbo_invoices if marker_of(i.get("PrivateNote"))]
    by_number: dict[str, list[dict[str, Any]]] = {}
    for inv in ours:
        by_number.setdefault(str(marker_of(inv.get("PrivateNote"))), []).append(inv)
    duplicates = {n: len(v) for n, v in by_number.items() if len(v) > 1}
    assert not duplicates, f"duplicated invoices: {duplicates}"
    store = Store.open(home / "state.db")
    try:
        links = {ln.invoice_number: ln for ln in store.links(realm)}
        pending = store.journals.creates.entries(realm, "pending")
    finally:
        store.close()
    for number, link in links.items():
        [qbo] = by_number[number]
        assert link.remote_id == qbo["Id"] and link.doc_number == qbo.get("DocNumber")
    if complete:
        assert set(by_number) == set(numbers), set(numbers) ^ set(by_number)
        assert set(links) == set(numbers)
        assert pending == []
    else:  # mid-way: whatever exists is linked or still pending, never orphaned
        pending_numbers = {e.invoice_number for e in pending}
        orphans = set(by_number) - set(links) - pending_numbers
        assert not orphans, f"created but neither linked nor journaled: {orphans}"
