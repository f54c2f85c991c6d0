"""The client inside real runs of the CLI: the shared budget and the throttling message."""

from __future__ import annotations

import functools

import pytest

from invoicesync.targets.quickbooks import ledger as quickbooks
from invoicesync.targets.quickbooks import session
from invoicesync.targets.quickbooks.api import QBOClient, RateLimiter
from invoicesync.targets.quickbooks.api.limiter import FileLedger, Limits
from invoicesync.targets.quickbooks.sandbox import RateLimits as SandboxLimits
from tests.helpers import US, World


def api_requests(world: World) -> int:
    return sum(1 for r in world.sandbox.requests if r.path.startswith("/v3/company/"))


def booked(world: World) -> int:
    book = FileLedger(world.home / "budget", US).transact(lambda b: b)
    assert all(e.done for e in book.entries)
    return len(book.entries)


def test_each_run_books_its_requests_where_the_next_run_reads_them(us: World) -> None:
    connect = booked(us)  # `connect` read the company: it spent from the same budget
    us.sandbox.requests.clear()
    assert us.run("push", "INV-2026-0101").exit_code == 0
    first = api_requests(us)
    assert first > 0 and booked(us) == connect + first
    assert us.run("push", "INV-2026-0102").exit_code == 0
    # One book holds every run's requests of the last minute: each run paced itself knowing
    # what the runs before it had spent.
    assert booked(us) == connect + api_requests(us) > connect + first


def test_throttling_is_announced_on_stderr_and_exits_7_when_it_persists(us: World) -> None:
    # The sandbox allows one request a second, answering 429 in XML (as the real gateway does);
    # the client's waits are recorded instead of slept, so every retry is throttled again.
    us.sandbox.limits = SandboxLimits(enabled=True, per_second=1, xml_rate=1.0)
    slept: list[float] = []
    no_pacing = RateLimiter(Limits.off(), sleep=slept.append)
    us.monkeypatch.setattr(
        session, "QBOClient", functools.partial(QBOClient, sleep=slept.append, limiter=no_pacing)
    )
    result = us.run("push", "INV-2026-0101")
    assert result.exit_code == 7, result.stderr
    lines = result.stderr.splitlines()
    # Every request in flight was throttled; the wait is said once.
    assert lines.count("warning: QuickBooks is throttling this company; waiting 60 s") == 1
    assert "safe to re-run later" in result.stderr
    assert 60.0 in slept


def test_batches_used_up_leave_the_rest_of_the_minute_to_single_creates(
    us: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Our numbers, so batches are safe. One batch a minute, of three: the first three invoices
    # go in it, the other five go alone at once instead of waiting a minute for the next batch.
    monkeypatch.setattr(quickbooks, "BATCH_SIZE", 3)
    slept: list[float] = []
    one_batch = RateLimiter(Limits(batch_per_minute=1), sleep=slept.append)
    monkeypatch.setattr(session, "QBOClient", functools.partial(QBOClient, limiter=one_batch))
    us.sandbox.requests.clear()
    result = us.run("push", "--all")
    assert result.exit_code == 0, result.stderr
    batches = [e for e in us.sandbox.requests if e.kind == "batch"]
    singles = [e for e in us.sandbox.requests if e.kind == "invoice" and e.method == "POST"]
    assert (len(batches), len(singles)) == (1, 5)
    # No wait for a batch window (a minute); only the 10-a-second pacing may sleep.
    assert result.stderr.endswith("8 created\n") and max(slept, default=0) < 1.5
