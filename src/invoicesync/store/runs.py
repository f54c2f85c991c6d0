"""Runs: which command wrote, when, from which host and as whom.

A command's run is begun by the CLI's error boundary (`begin`) and recorded by the store the
first time that store writes: a `runs` row is committed before the first write, every event the
run writes carries its id, host and user, and the boundary's `finish` writes the exit code and
what the run did (counts of its events). A run without a finish row whose process is provably
gone (store/identity.py; on PostgreSQL also its session, store/postgres.py) was interrupted.

The run id is also the id of the run's claims (store/claims.py), so one id names the run
everywhere: `runs`, `history`, `--json` output (`run_id`) and the --verbose log.

The current run is a context variable, not a global: two runs in two threads of one process
(the reliability tests) never share an id, and a store remembers the run it recorded, so a
worker thread's write is still that run's.
"""

from __future__ import annotations

import contextlib
import getpass
import logging
import uuid
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Protocol

from invoicesync.store import identity

log = logging.getLogger("invoicesync.run")

# Who wrote each event and the runs themselves. Events written before this migration have no
# run, host or user (shown as "unknown": nothing recorded them). The indexes keep one
# invoice's history, one run's events, the runs list and pruning by age instant at a million
# events (benchmarks/history.py, docs/performance.md).
_RUNS = """runs (
            run_id TEXT PRIMARY KEY,
            command TEXT NOT NULL,
            started_at TEXT NOT NULL,
            host TEXT NOT NULL,
            username TEXT NOT NULL,
            lease TEXT,
            finished_at TEXT,
            exit_code INTEGER,
            counts TEXT)"""
STATEMENTS = [
    "ALTER TABLE events ADD COLUMN run_id TEXT",
    "ALTER TABLE events ADD COLUMN host TEXT",
    "ALTER TABLE events ADD COLUMN username TEXT",
    "CREATE INDEX events_invoice ON events (realm_id, invoice_number, id)",
    "CREATE INDEX events_run ON events (run_id, id)",
    "CREATE INDEX events_at ON events (at)",
    "CREATE TABLE " + _RUNS,
    "CREATE INDEX runs_started ON runs (started_at)",
]
# Each backend's next migration (appended at the end of the lists in sqlite.py, postgres.py).
SQLITE_MIGRATION = "".join(f"\n        {s};" for s in STATEMENTS) + "\n"
POSTGRES_MIGRATION = list(STATEMENTS)

# The store's event kinds as people say them (`history`, `runs`). A link's event is named
# after its origin (`pushed`, `linked`, `rebuilt`); one whose detail says `adopted` was found
# in the target rather than created, and is `adopted` (`action`).
VERBS = {
    "pushed": "pushed",
    "linked": "linked",
    "rebuilt": "relinked",
    "unlinked": "unlinked",
    "moved": "moved",
    "kind resolved": "kind proved",
    "refused": "refused",
    "update done": "updated",
    "update failed": "update refused",
    "void done": "voided",
    "void failed": "void refused",
    "apply done": "credit applied",
    "apply failed": "credit refused",
    "credited": "credited",
    "send-done": "sent",
    "send-failed": "send refused",
    "attach-done": "attached",
    "attach-failed": "attach refused",
}
# What `runs` counts, by action.
COUNTED: dict[str, tuple[str, ...]] = {
    "created": ("pushed",),
    "adopted": ("adopted",),
    "updated": ("updated",),
    "failed": (
        "refused",
        "update refused",
        "void refused",
        "credit refused",
        "send refused",
        "attach refused",
    ),
    "sent": ("sent",),
}


def action(kind: str, adopted: bool = False) -> str:
    """What an event says happened, in a word or two."""
    return "adopted" if adopted else VERBS.get(kind, kind)


class _Recorder(Protocol):
    """What `finish` needs of the store that recorded a run (`SqlStore`)."""

    def finish_run(self, run: Run, exit_code: int) -> None: ...
    def close(self) -> None: ...


def _user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError, ImportError):  # no login name and no passwd entry
        return "unknown"


@dataclass
class Run:
    """One command's run while it is going on."""

    command: str
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    host: str = ""
    user: str = ""
    lease: str = ""  # the process identity (store/identity.py), which proves it alive or dead
    store: _Recorder | None = None  # the store that recorded its start
    close_deferred: bool = False  # that store was closed before the run finished
    finished: bool = False
    keep_days: int | None = None  # [history] keep_days of the state it wrote to

    def __post_init__(self) -> None:
        me = identity.this_process()
        self.host = self.host or me.host or "unknown"
        self.user = self.user or _user()
        self.lease = self.lease or me.lease()


_current: ContextVar[tuple[Run, ...]] = ContextVar("invoicesync_runs", default=())


def begin(command: str) -> Run:
    """A new run for `command` (recorded only if it writes). Runs nest (the demo runs
    commands inside its own): the innermost is current."""
    run = Run(command)
    _current.set((*_current.get(), run))
    return run


def current() -> Run | None:
    stack = _current.get()
    return stack[-1] if stack else None


def recorded_id() -> str | None:
    """The current run's id once a store recorded it: what a command's `--json` carries."""
    run = current()
    return run.run_id if run is not None and run.store is not None else None


def finish(run: Run, exit_code: int) -> None:
    """Write the run's finish row (when it wrote anything) and end it. A state that went away
    meanwhile leaves the run without one, which `runs` shows as interrupted: nothing lost."""
    _current.set(tuple(r for r in _current.get() if r is not run))
    store, run.finished = run.store, True
    if store is None:
        return
    try:
        store.finish_run(run, exit_code)
        log.debug("run %s finished with exit code %s", run.run_id, exit_code)
    except Exception as exc:  # the state is gone; the command's own error said so
        log.debug("run %s: the finish row was not written (%s)", run.run_id, exc)
    finally:
        if run.close_deferred:
            with contextlib.suppress(Exception):
                store.close()


def counts_of(by_action: dict[str, int]) -> dict[str, int]:
    """The five counts `runs` shows, from a run's events counted by action."""
    return {name: sum(by_action.get(k, 0) for k in kinds) for name, kinds in COUNTED.items()}


@dataclass(frozen=True)
class Event:
    """One event as `history` and `runs show` read it; "unknown" where nothing recorded."""

    id: int
    at: str
    account: str
    invoice_number: str | None
    kind: str
    detail: dict[str, Any]
    run_id: str | None
    host: str | None
    user: str | None


@dataclass(frozen=True)
class RunRecord:
    """A run as stored, with what can be proven of a run without a finish row (`status`:
    finished, failed, interrupted, running, or unknown when nothing proves it either way)."""

    run_id: str
    command: str
    started_at: str
    host: str
    user: str
    finished_at: str | None
    exit_code: int | None
    counts: dict[str, int]
    status: str
