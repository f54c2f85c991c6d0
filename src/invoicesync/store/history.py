"""The audit trail: runs and the events of an invoice or a run, and retention.

A component the store holds (`SqlStore`), on the store's statements and its backend's
`RunHolds` (what proves a run alive to other hosts), so both backends answer alike. Reads use
the indexes store/runs.py creates: one invoice's events by (realm, number, id), one run's
by (run_id, id), runs by start time, pruning by `at`.

Retention (`[history] keep_days`, docs/history.md) deletes events and finished runs older than
that many days, after a run that wrote. It never touches the journals: exactly-once rests on
them (a pending intent is settled by the next run; a done send or attachment is what stops a
second one), and they grow by one row per write, not per read.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from invoicesync.errors import EXIT_INTERRUPTED, EXIT_OK
from invoicesync.store import identity
from invoicesync.store.contract import chunks_of, now_iso
from invoicesync.store.journal import Sql
from invoicesync.store.runs import Event, Run, RunRecord, action, counts_of, current

log = logging.getLogger("invoicesync.run")

# An event whose detail says it adopted a record (json.dumps with sort_keys, as `event` writes).
_ADOPTED = '%"adopted": true%'
_EVENT_COLUMNS = "id, at, account, invoice_number, kind, detail, run_id, host, username"
_RUN_COLUMNS = "run_id, command, started_at, host, username, finished_at, exit_code, counts, lease"


def _now() -> str:
    """A run's start and end to the microsecond: runs started in one second list in order."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _event(r: Sequence[Any]) -> Event:
    try:
        detail = json.loads(r[5])
    except ValueError:
        detail = {}
    if not isinstance(detail, dict):
        detail = {}
    return Event(int(r[0]), r[1], r[2], r[3], r[4], detail, r[6], r[7], r[8])


def _counts(text: str | None) -> dict[str, int]:
    try:
        data = json.loads(text or "{}")
    except ValueError:
        return {}
    return {str(k): int(v) for k, v in data.items()} if isinstance(data, dict) else {}


class RunHolds(Protocol):
    """How a backend proves a run alive to other hosts while it goes on (PostgreSQL: a session
    advisory lock, store/pg_leases.py; SQLite: the process itself, so nothing to hold)."""

    def hold_run(self, run_id: str) -> None:
        """While the run goes on."""

    def release_run(self, run_id: str) -> None:
        """After the finish row: the run no longer needs proving alive."""

    def runs_alive(self, run_ids: Sequence[str]) -> set[str] | None:
        """Those of `run_ids` whose session still holds them (the others are provably over);
        None where the backend cannot tell (the process decides)."""


class Recorder(Sql, Protocol):
    """The store a run is recorded by: `runs.finish` writes its finish row through it."""

    keep_days: int | None  # [history] keep_days of this state (None: events kept for ever)

    def finish_run(self, run: Run, exit_code: int) -> None: ...
    def close(self) -> None: ...


class HistoryTables:
    """The `runs` table and the reads of `events` that `history` and `runs` make. `begin`
    is the backend's BEGIN: the start and finish rows commit on their own, outside any group."""

    def __init__(self, store: Recorder, holds: RunHolds, *, begin: str) -> None:
        self.store, self.holds, self.begin = store, holds, begin
        self.run: Run | None = None  # the run this store recorded (set at its first write)
        self.ready = False  # migrated: runs may be recorded from now on
        self.anonymous: Run | None = None  # the host and user of events written outside a run

    # --- recording -----------------------------------------------------------------------

    def record_run(self) -> None:
        """Before this store's first write in a run: the run's start row, committed on its own
        (so even a run that dies in its first write is listed)."""
        if (self.run is not None and not self.run.finished) or not self.ready:
            return
        run = self.run = current()
        if run is None or run.store is not None:
            return  # no run, or another connection of this process recorded it already
        run.store = self.store
        run.keep_days = self.store.keep_days
        self.store._exec(self.begin)
        try:
            self.store._exec(
                "INSERT INTO runs (run_id, command, started_at, host, username, lease) "
                "VALUES (?,?,?,?,?,?)",
                (run.run_id, run.command, _now(), run.host, run.user, run.lease),
            )
        except BaseException:
            self.store._exec("ROLLBACK")
            raise
        self.store._exec("COMMIT")
        self.holds.hold_run(run.run_id)
        log.debug("run %s: %s on %s as %s", run.run_id, run.command, run.host, run.user)

    def event(self, account: str, number: str | None, kind: str, detail: dict[str, Any]) -> None:
        """Append an event inside the caller's transaction, stamped with the run, host and user
        that wrote it."""
        run_id, host, user = self._who()
        self.store._exec(
            "INSERT INTO events (at, account, invoice_number, kind, detail, run_id, host, "
            "username) VALUES (?,?,?,?,?,?,?,?)",
            (
                now_iso(),
                account,
                number,
                kind,
                json.dumps(detail, default=str, sort_keys=True),
                run_id,
                host,
                user,
            ),
        )

    def _who(self) -> tuple[str | None, str, str]:
        """(run id, host, user) an event is stamped with: outside a run (a library caller),
        this process's host and user without a run."""
        run = self.run
        if run is None:
            if self.anonymous is None:
                self.anonymous = Run("")
            return None, self.anonymous.host, self.anonymous.user
        return run.run_id, run.host, run.user

    def finish_run(self, run: Run, exit_code: int) -> None:
        """The finish row: exit code and what the run did; then retention, if configured."""
        rows = self.store._exec(
            "SELECT kind, detail LIKE ?, COUNT(*) FROM events WHERE run_id = ? GROUP BY 1, 2",
            (_ADOPTED, run.run_id),
        ).fetchall()
        by_action: dict[str, int] = {}
        for kind, adopted, n in rows:
            name = action(str(kind), bool(adopted))
            by_action[name] = by_action.get(name, 0) + int(n)
        counts = json.dumps({**by_action, **counts_of(by_action)}, sort_keys=True)
        self.store._exec(self.begin)
        try:
            self.store._exec(
                "UPDATE runs SET finished_at = ?, exit_code = ?, counts = ? WHERE run_id = ?",
                (_now(), exit_code, counts, run.run_id),
            )
            if run.keep_days:
                self._prune(run.keep_days)
        except BaseException:
            self.store._exec("ROLLBACK")
            raise
        self.store._exec("COMMIT")
        self.holds.release_run(run.run_id)

    def _prune(self, keep_days: int) -> None:
        """Events and finished runs older than `keep_days` (never a journal row)."""
        cutoff = (datetime.now(UTC) - timedelta(days=keep_days)).isoformat(timespec="seconds")
        self.store._exec("DELETE FROM events WHERE at < ?", (cutoff,))
        self.store._exec(
            "DELETE FROM runs WHERE finished_at IS NOT NULL AND started_at < ?", (cutoff,)
        )

    def record_event(
        self, account: str, number: str | None, kind: str, detail: dict[str, Any]
    ) -> None:
        """An event on its own, committed before this returns: the intent of an idempotent
        write (removing a copy) that needs no journal row of its own."""
        with self.store.transaction(durable=True):
            self.event(account, number, kind, detail)

    def record_events(
        self, account: str, events: Sequence[tuple[str, str, dict[str, Any]]]
    ) -> None:
        """Several events (invoice number, kind, detail) in one commit: what a run refused
        before sending anything (pre-flight), which no journal row records."""
        if not events:
            return
        with self.store.transaction(durable=True):
            for number, kind, detail in events:
                self.event(account, number, kind, detail)

    # --- reading -------------------------------------------------------------------------

    def events(self, account: str) -> list[tuple[str, str | None, str, dict[str, Any]]]:
        rows = self.store._exec(
            "SELECT at, invoice_number, kind, detail FROM events WHERE account = ? ORDER BY id",
            (account,),
        ).fetchall()
        return [(r[0], r[1], r[2], json.loads(r[3])) for r in rows]

    def history(self, account: str | None, numbers: Sequence[str]) -> list[Event]:
        """Every event of these invoices (of one company, or of all with `account` None),
        oldest first."""
        found: list[Event] = []
        for part in chunks_of(sorted(set(numbers)), 500):
            marks = ",".join("?" * len(part))
            sql = f"SELECT {_EVENT_COLUMNS} FROM events WHERE invoice_number IN ({marks})"
            args: tuple[Any, ...] = tuple(part)
            if account is not None:
                sql, args = sql + " AND account = ?", (*args, account)
            found += [_event(r) for r in self.store._exec(sql, args).fetchall()]
        return sorted(found, key=lambda e: e.id)

    def run_events(self, run_id: str) -> list[Event]:
        rows = self.store._exec(
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE run_id = ? ORDER BY id", (run_id,)
        ).fetchall()
        return [_event(r) for r in rows]

    def runs(self, since: str | None = None, limit: int = 50) -> list[RunRecord]:
        """The latest `limit` runs started at or after `since` (ISO), oldest first."""
        where, args = ("WHERE started_at >= ? ", (since,)) if since is not None else ("", ())
        rows = self.store._exec(
            f"SELECT {_RUN_COLUMNS} FROM runs {where}ORDER BY started_at DESC, run_id LIMIT ?",
            (*args, limit),
        )
        return self._records(list(reversed(rows.fetchall())))

    def run_record(self, run_id: str) -> list[RunRecord]:
        """The run with this id, or those whose id starts with it (a prefix of 4 or more)."""
        if len(run_id) < 4:
            return []
        rows = self.store._exec(
            f"SELECT {_RUN_COLUMNS} FROM runs WHERE substr(run_id, 1, ?) = ? "
            "ORDER BY run_id LIMIT 10",
            (len(run_id), run_id),
        ).fetchall()
        return self._records(rows)

    def _records(self, rows: Sequence[Sequence[Any]]) -> list[RunRecord]:
        open_ids = [str(r[0]) for r in rows if r[5] is None]
        alive = self.holds.runs_alive(open_ids) if open_ids else set()
        return [_record(r, None if alive is None else r[0] in alive) for r in rows]


def _record(r: Sequence[Any], held: bool | None) -> RunRecord:
    """`held`: whether the run's session still holds it (None: the backend cannot tell)."""
    finished_at, code = r[5], None if r[6] is None else int(r[6])
    if finished_at is not None:
        ended = {EXIT_OK: "finished", EXIT_INTERRUPTED: "interrupted"}
        status = ended.get(code if code is not None else -1, "failed")
    elif held is not None:
        status = "running" if held else "interrupted"
    else:
        status = {identity.ALIVE: "running", identity.DEAD: "interrupted"}.get(
            identity.state(r[8]), "unknown"
        )
    return RunRecord(r[0], r[1], r[2], r[3], r[4], finished_at, code, _counts(r[7]), status)
