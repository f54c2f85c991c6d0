"""Keep a company's requests inside QuickBooks' published budget, so 429s are the exception.

QuickBooks counts per company (realm), whoever sends (https://developer.intuit.com/app/developer/qbo/docs/learn/limits-and-throttles
): 500 requests a
minute (batches included), 10 a second, 10 at once, 40 batch requests a minute. A `RateLimiter`
holds back a request until it fits every window. Its ledger of recent requests lives in memory,
or, given a directory, in a small file per realm under a file lock, so that separate runs on one
machine share one budget instead of each finding the limit by a 429 and a 60-second stall.

Every ledger entry is a request that left (or is about to leave) at time `t` on the limiter's
clock. A request in flight counts inside every window; when it has been answered it counts until
its window has passed. After a 429 the limiter holds every sender sharing the ledger until the
wait QuickBooks asked for is over.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import stat
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TypeVar

T = TypeVar("T")
# Opens a budget file for reading and writing, creating it 0600 and never through a link. The
# app passes one that also refuses another user's file with its own error (exit 8).
Opener = Callable[[Path], int]
log = logging.getLogger(__name__)

STALE_AFTER = 300.0  # seconds; an in-flight entry this old is a request whose process died
MAX_HOLD = 900.0  # seconds; no throttle hold is longer (the client caps Retry-After at 600)
STAMP_FROM = 0.002  # seconds between admission and sending that are worth re-stamping
ANNOUNCE_FROM = 5.0  # seconds; shorter waits (pacing, a first back-off) are not worth a message
WaitHook = Callable[[float, str], None]
BUDGET_USED = "QuickBooks' request budget for this company is used up"
THROTTLED = "QuickBooks is throttling this company"


@dataclass(frozen=True)
class Limits:
    """Per-realm budgets, the published values (https://developer.intuit.com/app/developer/qbo/docs/learn/limits-and-throttles).

    `guard` lengthens every window a little: the limiter stamps a request just before its
    bytes leave, QuickBooks counts it when they arrive, and two requests' delays differ. 50 ms
    (5% of the per-second budget) covers that on a busy machine; 20 ms let 429s through there,
    150 ms cost 13% of the budget. The minute windows get ten guards."""

    concurrent: int = 10
    per_second: int = 10
    per_minute: int = 500
    batch_per_minute: int = 40
    time_scale: float = 1.0  # >1 when talking to a sandbox whose clock runs faster
    guard: float = 0.05

    @classmethod
    def off(cls) -> Limits:
        return cls(10**9, 10**9, 10**9, 10**9)


@dataclass
class Entry:
    """One request's place in the windows."""

    id: str
    t: float
    batch: bool
    done: bool = False
    pid: int = field(default_factory=os.getpid)


@dataclass
class Book:
    """What a ledger holds: recent requests and, after a 429, when sending may resume."""

    entries: list[Entry] = field(default_factory=list)
    hold_until: float = 0.0
    hold_by: str = ""  # the limiter that was throttled waits by itself; the others are held


def minute_span(limits: Limits) -> float:
    """The minute windows as the limiter counts them: ten guards long, half a second (0.8% of
    the budget), because over a minute of sending, on a loaded machine, a request can reach
    QuickBooks later after its stamp than one a minute before it did (a 20 ms guard
    let two 429s through in 1,000 single creates)."""
    return 60.0 / limits.time_scale + 10 * limits.guard


def second_span(limits: Limits, minute_used: int) -> float:
    """The per-second window as the limiter counts it, given the requests the minute window
    holds. Once half of the minute's budget is used, the minute is what binds: ten a second
    would only use it up sooner and then wait, so requests go at the minute's own pace (500 a
    minute is ten per 1.2 s), which leaves each second 200 ms for differing delays instead of
    the guard's 50 (50 ms let five per-second 429s through in 2,500 single creates on
    a loaded machine). Short runs, bound by the second, keep the whole second."""
    span = 1.0 / limits.time_scale + limits.guard
    if 2 * minute_used >= limits.per_minute:
        span = max(span, 60.0 * limits.per_second / limits.per_minute / limits.time_scale)
    return span


def wait_needed(book: Book, now: float, is_batch: bool, limits: Limits, me: str) -> float:
    """Seconds until one more request fits every window (0 if it fits now), for limiter `me`."""
    minute = minute_span(limits)
    used = sum(1 for e in book.entries if not e.done or e.t > now - minute)
    checks = [
        (second_span(limits, used), limits.per_second, False),
        (minute, limits.per_minute, False),
    ]
    if is_batch:
        checks.append((minute, limits.batch_per_minute, True))
    inflight = sum(1 for e in book.entries if not e.done)
    wait = max(0.0, book.hold_until - now) if book.hold_by != me else 0.0
    if inflight >= limits.concurrent:
        wait = max(wait, 0.005)  # poll: a release frees a slot at an unknown moment
    for span, cap, batch_only in checks:
        pending = 0
        inside: list[float] = []
        for entry in book.entries:
            if batch_only and not entry.batch:
                continue
            if not entry.done:
                pending += 1  # will be stamped at or after now
            elif entry.t > now - span:
                inside.append(entry.t)
        over = pending + len(inside) - cap + 1
        if over > 0:
            inside.sort()
            wait = max(wait, inside[over - 1] + span - now if over <= len(inside) else 0.005)
    return wait


def prune(book: Book, now: float, limits: Limits) -> None:
    """Forget what no window can see any more; settle in-flight entries of dead requests."""
    minute = minute_span(limits)
    kept = []
    for entry in book.entries:
        if entry.t > now + 1.0:  # the clock went back: count it as sent now, not in the future
            entry.t = now
        if not entry.done and (entry.t < now - STALE_AFTER or not _alive(entry.pid)):
            entry.done = True
        if not entry.done or entry.t > now - minute:
            kept.append(entry)
    book.entries = kept
    if book.hold_until > now + MAX_HOLD:  # the clock went back, or a hold from a bad file
        book.hold_until = now


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Ledger(Protocol):
    def transact(self, change: Callable[[Book], T]) -> T:
        """Apply `change` to the book atomically with respect to every other sender."""


class MemoryLedger:
    """One process's view: threads share it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._book = Book()

    def transact(self, change: Callable[[Book], T]) -> T:
        with self._lock:
            return change(self._book)


def open_own(path: Path) -> int:
    """The default `Opener`: 0600, no link (O_NOFOLLOW), a regular file; else `OSError`."""
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags | getattr(os, "O_NONBLOCK", 0), 0o600)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(f"{path} is not a regular file")
    return fd


class FileLedger:
    """A realm's book in `<directory>/<realm>.budget`, read and written under a file lock
    (`<realm>.budget.lock`, flock(2)), so every process on the machine that is given the same
    directory shares one budget. The book is advisory: an unreadable file is an empty book (the
    worst outcome is a 429, handled). Both files are opened by `opener`, never through a link."""

    def __init__(self, directory: Path, realm_id: str, *, opener: Opener | None = None) -> None:
        # Realm ids are digits; anything else is hashed so that it cannot name another file.
        name = realm_id if realm_id.isascii() and realm_id.isalnum() else _digest(realm_id)
        with contextlib.suppress(OSError):  # if it cannot exist, `transact` falls back
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.path = directory / f"{name}.budget"
        self.lock_path = directory / f"{name}.budget.lock"
        self._open = opener or open_own
        self._thread_lock = threading.Lock()
        self._fallback = MemoryLedger()

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """The lock file's flock; filelock where there is no flock (Windows)."""
        if sys.platform == "win32":  # pragma: no cover
            import filelock

            with filelock.FileLock(self.lock_path, mode=0o600):
                yield
            return
        import fcntl

        fd = self._open(self.lock_path)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the flock

    def transact(self, change: Callable[[Book], T]) -> T:
        """Under the file lock; if the directory cannot be used (read-only, not a directory),
        this process keeps its own book rather than failing a request over advice. A refusal
        of the opener's own (a link, another user's file) is not an `OSError` and is raised."""
        try:
            with self._thread_lock, self._locked():
                # Rewritten in place, not replaced: a rename per request cost milliseconds, and
                # a torn write only loses advice (an unreadable book is an empty one).
                with os.fdopen(self._open(self.path), "r+b") as file:
                    book = _parse(file.read())
                    result = change(book)
                    file.seek(0)
                    file.write(_dump(book))
                    file.truncate()
                return result
        except OSError as exc:
            log.debug("request budget file %s unusable (%s); keeping it in memory", self.path, exc)
            return self._fallback.transact(change)


def _parse(data: bytes) -> Book:
    try:
        doc = json.loads(data)
        # `+ 0.0` refuses anything but a number, as a malformed file must be refused.
        entries = [Entry(str(i), t + 0.0, bool(b), bool(d), int(p)) for i, t, b, d, p in doc["e"]]
        return Book(entries, doc["hold"] + 0.0, str(doc["by"]))
    except (ValueError, KeyError, TypeError):
        return Book()


def _dump(book: Book) -> bytes:
    rows = [[e.id, e.t, e.batch, e.done, e.pid] for e in book.entries]
    doc = {"e": rows, "hold": book.hold_until, "by": book.hold_by}
    return json.dumps(doc, separators=(",", ":")).encode("ascii")


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


@dataclass
class Ticket:
    """A request admitted by the limiter at `t`; `id` finds its entry in the ledger."""

    id: str
    batch: bool
    t: float


def log_wait(seconds: float, reason: str) -> None:
    """The default wait hook: a logging warning (the CLI shows warnings on stderr)."""
    log.warning(wait_message(seconds, reason))


def wait_message(seconds: float, reason: str) -> str:
    """`QuickBooks is throttling this company; waiting 60 s`: what the user sees during a wait."""
    return f"{reason}; waiting {max(1, round(seconds))} s"


@dataclass
class RateLimiter:
    """Blocks before a request would exceed a budget. Thread-safe; process-safe with a
    `FileLedger`. `clock` must be the same clock in every process sharing a ledger (wall time)."""

    limits: Limits = field(default_factory=Limits)
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep
    ledger: Ledger = field(default_factory=MemoryLedger)
    on_wait: WaitHook = log_wait

    def __post_init__(self) -> None:
        self.waited = 0.0
        self.id = uuid.uuid4().hex[:16]

    def delay(self, is_batch: bool = False) -> float:
        """How long a request sent now would wait: lets a caller send single requests while
        the batch budget is used up (batches also count against the 500 a minute)."""

        def look(book: Book) -> float:
            now = self.clock()
            prune(book, now, self.limits)
            return wait_needed(book, now, is_batch, self.limits, self.id)

        return self.ledger.transact(look)

    def batch_room(self) -> int:
        """Batch requests the minute window still admits (in-flight ones count as sent): a
        caller that has used them up sends single requests with the rest of the 500 a minute."""

        def look(book: Book) -> int:
            now = self.clock()
            prune(book, now, self.limits)
            span = minute_span(self.limits)
            used = sum(1 for e in book.entries if e.batch and (not e.done or e.t > now - span))
            return self.limits.batch_per_minute - used

        return self.ledger.transact(look)

    def acquire(self, is_batch: bool = False) -> Ticket:
        announced = False
        while True:

            def admit(book: Book) -> tuple[float, str, Ticket | None]:
                now = self.clock()
                prune(book, now, self.limits)
                wait = wait_needed(book, now, is_batch, self.limits, self.id)
                if wait > 0:
                    held = book.hold_by != self.id and book.hold_until - now >= wait
                    return wait, THROTTLED if held else BUDGET_USED, None
                entry = Entry(uuid.uuid4().hex[:16], now, is_batch)
                book.entries.append(entry)
                return 0.0, "", Ticket(entry.id, is_batch, now)

            wait, reason, ticket = self.ledger.transact(admit)
            if ticket is not None:
                return ticket
            if wait >= ANNOUNCE_FROM and not announced:
                self.on_wait(wait, reason)
                announced = True
            self.waited += wait
            self.sleep(wait)

    def _update(self, ticket: Ticket, change: Callable[[Entry, float], None]) -> None:
        def apply(book: Book) -> None:
            now = self.clock()
            for entry in book.entries:
                if entry.id == ticket.id:
                    change(entry, now)
                    return
            # Pruned (its process looked dead, or the ledger file was lost): count it again.
            book.entries.append(Entry(ticket.id, now, ticket.batch))
            change(book.entries[-1], now)

        self.ledger.transact(apply)

    def stamp(self, ticket: Ticket) -> None:
        """The request is leaving now (called after the auth flow, so a token refresh before
        sending does not make the window it starts shorter than the server's)."""

        def leave(entry: Entry, now: float) -> None:
            entry.t = max(entry.t, now)

        if self.clock() - ticket.t > STAMP_FROM:  # else the admission time is close enough
            self._update(ticket, leave)

    def release(self, ticket: Ticket) -> None:
        def finish(entry: Entry, now: float) -> None:
            entry.done = True

        self._update(ticket, finish)

    def hold(self, seconds: float) -> None:
        """QuickBooks throttled this company: the caller waits `seconds` itself (on its own
        sleep); every other limiter sharing the ledger holds its requests until then too."""

        def block(book: Book) -> None:
            until = self.clock() + seconds
            if until > book.hold_until:
                book.hold_until, book.hold_by = until, self.id

        self.ledger.transact(block)
