"""The request budget: windows, batches, and one budget shared by processes through a directory.

Every limiter here runs on a fake clock that its `sleep` moves, so nothing really waits and no
assertion depends on timing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from pytest_httpx import HTTPXMock

from invoicesync.targets.quickbooks.api.client import QBOClient
from invoicesync.targets.quickbooks.api.limiter import (
    BUDGET_USED,
    THROTTLED,
    Book,
    Entry,
    FileLedger,
    Limits,
    MemoryLedger,
    RateLimiter,
)
from tests.helpers import FakeClock as Clock

REALM = "9130350000000001"


def limiter(
    clock: Clock,
    limits: Limits,
    directory: Path | None = None,
    waits: list[tuple[float, str]] | None = None,
) -> RateLimiter:
    return RateLimiter(
        limits,
        clock=clock,
        sleep=clock.sleep,
        ledger=FileLedger(directory, REALM) if directory else MemoryLedger(),
        on_wait=lambda s, r: (waits if waits is not None else []).append((s, r)),
    )


def send(lim: RateLimiter, n: int = 1, batch: bool = False) -> None:
    for _ in range(n):
        lim.release(lim.acquire(is_batch=batch))


PER_MINUTE_3 = Limits(concurrent=100, per_second=100, per_minute=3, guard=0.0)


def test_two_limiters_on_one_directory_share_the_budget(clock: Clock, tmp_path: Path) -> None:
    waits: list[tuple[float, str]] = []
    first = limiter(clock, PER_MINUTE_3, tmp_path)
    second = limiter(clock, PER_MINUTE_3, tmp_path, waits)  # another run, started later
    send(first, 3)
    clock.now += 10
    send(second)
    assert clock.slept == [50.0]  # until the first request's minute has passed
    assert waits == [(50.0, BUDGET_USED)]


def test_without_a_directory_each_limiter_only_knows_its_own_requests(clock: Clock) -> None:
    first, second = limiter(clock, PER_MINUTE_3), limiter(clock, PER_MINUTE_3)
    send(first, 3)
    send(second)
    assert clock.slept == []


def test_batches_count_against_both_budgets(clock: Clock, tmp_path: Path) -> None:
    limits = Limits(concurrent=100, per_second=100, per_minute=5, batch_per_minute=2, guard=0.0)
    lim = limiter(clock, limits, tmp_path)
    send(lim, 2, batch=True)
    assert lim.delay(is_batch=True) == 60.0  # the batch budget is used up ...
    assert lim.delay(is_batch=False) == 0.0  # ... the rest of the 500 a minute is not
    send(lim, 3)
    assert lim.delay(is_batch=False) == 60.0  # the two batches counted among the five


def test_the_whole_second_is_used_without_slack(clock: Clock) -> None:
    lim = limiter(clock, Limits())
    send(lim, 10)
    send(lim)
    assert clock.slept == [pytest.approx(1.05)]  # 50 ms for differing delays, not 150 ms


def test_once_half_the_minute_is_used_requests_go_at_the_minutes_pace(clock: Clock) -> None:
    lim = limiter(clock, Limits())
    send(lim, 250)  # bound by the second: ten, then the rest of 1.05 s
    assert clock.slept == [pytest.approx(1.05)] * 24
    send(lim, 10)  # half the 500 used: ten per 1.2 s, 500 a minute, 200 ms for delays
    assert clock.slept[24:] == [pytest.approx(1.2)]


def test_requests_in_flight_elsewhere_count_until_released(clock: Clock, tmp_path: Path) -> None:
    limits = Limits(concurrent=1, per_second=100, per_minute=100, guard=0.0)
    first, second = limiter(clock, limits, tmp_path), limiter(clock, limits, tmp_path)
    ticket = first.acquire()
    assert second.delay() > 0
    first.release(ticket)
    assert second.delay() == 0


def test_a_dead_process_does_not_hold_a_slot_forever(clock: Clock, tmp_path: Path) -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()  # its pid is free now
    ledger = FileLedger(tmp_path, REALM)
    ledger.transact(lambda book: book.entries.append(Entry("x", clock.now, False, pid=child.pid)))
    limits = Limits(concurrent=1, per_second=100, per_minute=100, guard=0.0)
    assert limiter(clock, limits, tmp_path).delay() == 0


def test_a_throttle_holds_every_other_sender(clock: Clock, tmp_path: Path) -> None:
    waits: list[tuple[float, str]] = []
    throttled = limiter(clock, Limits(), tmp_path)
    other = limiter(clock, Limits(), tmp_path, waits)
    throttled.hold(60.0)
    assert throttled.delay() == 0  # it waits on its own sleep, once
    send(other)
    assert clock.slept == [60.0] and waits == [(60.0, THROTTLED)]


@pytest.mark.parametrize("content", ["", "not json", '{"e": [["x", "soon", 1, 0, 1]]}', "[]"])
def test_an_unreadable_ledger_is_an_empty_one(clock: Clock, tmp_path: Path, content: str) -> None:
    (tmp_path / f"{REALM}.budget").write_text(content, encoding="utf-8")
    lim = limiter(clock, PER_MINUTE_3, tmp_path)
    send(lim, 3)
    assert clock.slept == []
    book = FileLedger(tmp_path, REALM).transact(lambda b: b)
    assert len(book.entries) == 3


def test_entries_from_the_future_count_as_sent_now(clock: Clock, tmp_path: Path) -> None:
    """After the clock went back an hour, the budget stalls for a minute, not an hour."""
    ledger = FileLedger(tmp_path, REALM)
    ledger.transact(
        lambda book: book.entries.extend(
            Entry(str(i), clock.now + 3600, False, done=True) for i in range(3)
        )
    )
    lim = limiter(clock, PER_MINUTE_3, tmp_path)
    assert lim.delay() == 60.0


def test_a_realm_id_cannot_name_another_file(tmp_path: Path) -> None:
    ledger = FileLedger(tmp_path / "budget", "../../x")
    ledger.transact(lambda book: book.entries.append(Entry("e", 0.0, False)))
    assert ledger.path.parent == tmp_path / "budget" and ledger.path.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["budget"]


def test_the_client_shares_its_budget_through_budget_dir(
    httpx_mock: HTTPXMock, tmp_path: Path
) -> None:
    url = f"https://qbo.example/v3/company/{REALM}/invoice/7?minorversion=75"
    httpx_mock.add_response(url=url, json={"Invoice": {"Id": "7"}})
    budget = tmp_path / "budget"
    with QBOClient(base_url="https://qbo.example", realm_id=REALM, budget_dir=budget) as client:
        client.read("Invoice", "7")
    book: Book = FileLedger(budget, REALM).transact(lambda b: b)
    assert [(e.done, e.batch) for e in book.entries] == [(True, False)]
    assert httpx.URL(url) == httpx_mock.get_requests()[0].url


def test_an_unusable_directory_leaves_the_budget_in_memory(clock: Clock, tmp_path: Path) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x", encoding="utf-8")
    lim = limiter(clock, PER_MINUTE_3, not_a_dir / "budget")
    send(lim, 3)
    assert lim.delay() == 60.0  # still paced, by this process alone


@pytest.mark.parametrize("name", [f"{REALM}.budget", f"{REALM}.budget.lock"])
def test_a_link_in_the_budget_directory_is_never_followed(
    clock: Clock, tmp_path: Path, name: str
) -> None:
    """Standalone, the ledger keeps its book in memory rather than write through a link."""
    target = tmp_path / "theirs"
    target.write_text("precious\n")
    before = target.stat().st_mtime_ns
    budget = tmp_path / "budget"
    budget.mkdir()
    (budget / name).symlink_to(target)
    lim = limiter(clock, PER_MINUTE_3, budget)
    send(lim, 3)
    assert lim.delay() == 60.0
    assert target.read_text() == "precious\n" and target.stat().st_mtime_ns == before


def test_a_refusal_of_the_given_opener_is_raised_not_kept_in_memory(tmp_path: Path) -> None:
    """The app's opener refuses another user's file with its own error (exit 8): not advice."""

    class Refused(Exception):
        pass

    def opener(path: Path) -> int:
        raise Refused(str(path))

    ledger = FileLedger(tmp_path, REALM, opener=opener)
    with pytest.raises(Refused, match=f"{REALM}.budget.lock"):
        ledger.transact(lambda book: book)
