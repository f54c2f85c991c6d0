"""The contract written once in SQL both SQLite and PostgreSQL accept; backends add the rest.

A backend supplies how a statement runs (`_exec`), how a write transaction begins, which
exception a unique constraint raises, the database clock as SQL, the run lock, and its
`Liveness` (what proves a run alive or dead). Everything else (what a link, an intent or a
claim *means*) lives here and in the components this store holds, so the two cannot drift
apart. Statements use `?` placeholders; the PostgreSQL backend translates them.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, ClassVar, Protocol

from invoicesync.models import DocKind, DocRef, Link
from invoicesync.store.claims import ClaimsTable, Leases
from invoicesync.store.contract import (
    DEFAULT_CLAIM_TTL,
    DEFAULT_GROUP_SIZE,
    Claim,
    Journals,
    LinkExists,
    now_iso,
)
from invoicesync.store.deliveries import UPDATE_DELIVERY, Observed, Said, delivery_columns
from invoicesync.store.followups import FollowUpJournal
from invoicesync.store.history import HistoryTables, RunHolds
from invoicesync.store.journal import CreateJournal
from invoicesync.store.lifecycle import LifecycleJournal
from invoicesync.store.origin import StateOrigin
from invoicesync.store.prepared import PrepareJournal
from invoicesync.store.rows import INSERT_COLUMNS, LINK_COLUMNS, link_from_row
from invoicesync.store.runs import Event, Run, RunRecord


class Liveness(Leases, RunHolds, Protocol):
    """How a backend proves a run alive or dead: its claims' leases and its running mark."""


class SqlStore(ABC):
    """Shared behaviour. Every public write is one transaction, except inside `grouped()`.
    The journals, the claims, the audit trail and the origin are components on this store's
    statements (store/journal.py, claims.py, history.py, origin.py); the store answers the
    contract by handing each call to the component that owns it."""

    _BEGIN: ClassVar[str]
    _NOW: ClassVar[str]  # SQL for the database's clock, whole seconds since the epoch
    # Row locks taken in invoice-number order when several runs touch claims at once (every
    # statement that locks claim rows takes them in that order, so runs cannot deadlock);
    # SQLite serialises writers anyway and has no row locks.
    _LOCK_ROWS: ClassVar[str] = ""
    _UNIQUE_VIOLATION: ClassVar[tuple[type[Exception], ...]]

    def __init__(self, liveness: Liveness) -> None:
        self._group_size = 0  # 0: not grouping; otherwise outcomes per commit
        self._group_count = 0
        self.keep_days: int | None = None  # [history] keep_days (None: events kept for ever)
        self._creates = CreateJournal(self)
        self._journals = Journals(
            self._creates, LifecycleJournal(self), FollowUpJournal(self), PrepareJournal(self)
        )
        self._claims = ClaimsTable(self, liveness, now=self._NOW, lock_rows=self._LOCK_ROWS)
        self._history = HistoryTables(self, liveness, begin=self._BEGIN)
        self._origin = StateOrigin(self)

    @property
    def journals(self) -> Journals:
        return self._journals

    @abstractmethod
    def _exec(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """Run one statement and return a cursor (`fetchone`/`fetchall`)."""

    def _scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """The first column of the first row, or None when there is no row."""
        row = self._exec(sql, params).fetchone()
        return None if row is None else row[0]

    @property
    @abstractmethod
    def connection(self) -> Any:
        """The driver's connection (sqlite3 or psycopg)."""

    @abstractmethod
    def describe(self) -> str: ...

    def close(self) -> None:
        """Close the connection; a run this store recorded keeps it until the run's finish
        row is written (store/runs.py), which on PostgreSQL is also what proves it alive."""
        run = self._history.run
        if run is not None and run.store is self and not run.finished:
            run.close_deferred = True
            return
        self._close()

    @abstractmethod
    def _close(self) -> None: ...

    def _opened(self) -> None:
        """Migrated: from now on the first write records the current run."""
        self._history.ready = True

    @abstractmethod
    def run_lock(self, *, wait: float | None = None) -> AbstractContextManager[None]: ...

    # --- transactions -------------------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self, *, durable: bool = False) -> Iterator[Any]:
        """One transaction; inside `grouped()` a savepoint in the group's transaction instead.
        Yields the backend's connection, for bulk loads (the store benchmark).

        `durable=True` marks writes other runs must see at once or that must survive a crash
        before the caller acts (intents, claims): they commit the group so far with them."""
        if self._group_count == 0:
            self._history.record_run()
        if not self._group_size:
            self._exec(self._BEGIN)
            try:
                yield self.connection
            except BaseException:
                self._exec("ROLLBACK")
                raise
            self._exec("COMMIT")
            return
        if self._group_count == 0:  # begun at the first write, so an idle group holds no lock
            self._exec(self._BEGIN)
        self._exec("SAVEPOINT outcome")
        try:
            yield self.connection
        except BaseException:
            # PostgreSQL aborts the whole transaction on an error; undo just this write.
            self._exec("ROLLBACK TO SAVEPOINT outcome")
            self._exec("RELEASE SAVEPOINT outcome")
            self._group_count += 1
            raise
        self._exec("RELEASE SAVEPOINT outcome")
        self._group_count += 1
        if durable or self._group_count >= self._group_size:
            self.flush()

    def flush(self) -> None:
        """Commit the outcomes `grouped()` holds so far (nothing to do outside a group)."""
        if self._group_count:
            self._group_count = 0
            self._exec("COMMIT")

    @contextlib.contextmanager
    def grouped(self, size: int = DEFAULT_GROUP_SIZE) -> Iterator[None]:
        """Commit link outcomes (`add_link`, a refused create) `size` at a time, not one by one.

        Why this keeps the journal's crash guarantee: the intent of every create is still
        committed *before* its request is sent (every journal's `intend` and `claim` commit the
        group at once), and only outcomes wait for the group's commit. If the process dies, the
        outcomes of the open group are lost but their intents are durable and pending, so the
        next run's duplicate guard finds those invoices in QuickBooks (by DocNumber or marker)
        and adopts them, closing the intents: late, never duplicated. Outcomes recorded before
        an exception are facts, so they are committed when the block ends either way.

        While outcomes wait, their transaction holds the write lock: on SQLite other writers
        to the same file wait (the run lock already keeps other runs out); on PostgreSQL only
        writers of the same rows do."""
        if self._group_size:  # nested: join the outer group
            yield
            return
        self._group_size, self._group_count = max(1, size), 0
        try:
            yield
        except BaseException:
            try:
                self.flush()
            except Exception:
                with contextlib.suppress(Exception):
                    self._exec("ROLLBACK")
            raise
        finally:
            self._group_size = 0
        self.flush()

    # --- links ------------------------------------------------------------------------------

    def link(self, account: str, number: str) -> Link | None:
        row = self._exec(
            f"SELECT {LINK_COLUMNS} FROM links WHERE account = ? AND invoice_number = ?",
            (account, number),
        ).fetchone()
        return link_from_row(row) if row else None

    def link_for_remote(self, account: str, ref: DocRef) -> Link | None:
        """The link naming this document: its id only together with its kind (invoice 1 and
        credit memo 1 are two documents)."""
        row = self._exec(
            f"SELECT {LINK_COLUMNS} FROM links WHERE account = ? AND remote_id = ? AND kind = ?",
            (account, ref.remote_id, ref.kind.value),
        ).fetchone()
        return link_from_row(row) if row else None

    def set_link_kind(self, account: str, number: str, ref: DocRef) -> None:
        """Record the kind of a link stored without one, once a read of the target proved it
        (`usecases/kinds.py`); only while it is unknown and still names the same id."""
        with self.transaction(durable=True):
            self._exec(
                "UPDATE links SET kind = ? WHERE account = ? AND invoice_number = ? "
                "AND remote_id = ? AND kind = ?",
                (ref.kind.value, account, number, ref.remote_id, DocKind.UNKNOWN.value),
            )
            self._event(account, number, "kind resolved", _ref_detail(ref))

    def links(self, account: str) -> list[Link]:
        rows = self._exec(
            f"SELECT {LINK_COLUMNS} FROM links WHERE account = ? ORDER BY invoice_number",
            (account,),
        ).fetchall()
        return [link_from_row(r) for r in rows]

    def count_links(self, account: str) -> dict[str, int]:
        rows = self._exec(
            "SELECT origin, COUNT(*) FROM links WHERE account = ? GROUP BY origin", (account,)
        ).fetchall()
        return {str(origin): int(n) for origin, n in rows}

    def add_link(
        self, link: Link, *, request_id: str | None = None, event: dict[str, Any] | None = None
    ) -> None:
        """Store a link (and close its journal entry) atomically; refuses to overwrite."""
        with self.transaction():
            try:
                self._exec(
                    f"INSERT INTO links ({INSERT_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        link.account,
                        link.invoice_number,
                        link.remote_id,
                        link.doc_number,
                        link.origin,
                        link.linked_at,
                        link.version,
                        None if link.total is None else str(link.total),
                        link.currency,
                        int(link.marker_written),
                        link.fingerprint,
                        link.kind,
                    ),
                )
            except self._UNIQUE_VIOLATION:
                raise LinkExists(link.account, link.invoice_number, link.ref) from None
            if request_id is not None:
                self._creates.linked(link, request_id)
            detail = {**(event or {"doc_number": link.doc_number}), **_ref_detail(link.ref)}
            if request_id is not None:
                detail["request_id"] = request_id
            self._event(link.account, link.invoice_number, link.origin, detail)

    def move_link(self, moved: Link, event: dict[str, Any]) -> None:
        """Point an existing link at another record (the survivor of a copy, which carries the
        same marker): one UPDATE and its event in one transaction, so the link is never lost."""
        with self.transaction(durable=True):
            self._exec(
                "UPDATE links SET remote_id = ?, doc_number = ?, version = ?, total = ? "
                "WHERE account = ? AND invoice_number = ?",
                (
                    moved.remote_id,
                    moved.doc_number,
                    moved.version,
                    None if moved.total is None else str(moved.total),
                    moved.account,
                    moved.invoice_number,
                ),
            )
            detail = {**event, **_ref_detail(moved.ref)}
            self._event(moved.account, moved.invoice_number, "moved", detail)

    def record_observations(self, account: str, seen: Observed, said: Said | None = None) -> None:
        """Store what reconcile saw per link, one transaction: (number, state, balance), and
        with `said` the network's word too (store/deliveries.py)."""
        stamp = now_iso()
        with self.transaction():
            for number, state, bal in seen:
                self._exec(
                    "UPDATE links SET last_state = ?, last_balance = ?, last_checked_at = ? "
                    "WHERE account = ? AND invoice_number = ?",
                    (state, None if bal is None else str(bal), stamp, account, number),
                )
                if said is not None:
                    self._exec(
                        UPDATE_DELIVERY, (*delivery_columns(said.get(number)), account, number)
                    )

    def remove_link(self, account: str, number: str, event: dict[str, Any]) -> int:
        """Delete the link and bump the generation (so a later push gets a fresh requestid)."""
        with self.transaction(durable=True):
            self._exec(
                "DELETE FROM links WHERE account = ? AND invoice_number = ?", (account, number)
            )
            generation = self.generation(account, number) + 1
            self._exec(
                "INSERT INTO generations (account, invoice_number, generation) VALUES (?,?,?) "
                "ON CONFLICT (account, invoice_number) "
                "DO UPDATE SET generation = excluded.generation",
                (account, number, generation),
            )
            self._event(account, number, "unlinked", {**event, "generation": generation})
            return generation

    # --- generations --------------------------------------------------------------------------

    def generation(self, account: str, number: str) -> int:
        row = self._exec(
            "SELECT generation FROM generations WHERE account = ? AND invoice_number = ?",
            (account, number),
        ).fetchone()
        return int(row[0]) if row else 0

    def generations(self, account: str) -> dict[str, int]:
        rows = self._exec(
            "SELECT invoice_number, generation FROM generations WHERE account = ?", (account,)
        ).fetchall()
        return {str(n): int(g) for n, g in rows}

    # --- events -----------------------------------------------------------------------------

    def _event(self, account: str, number: str | None, kind: str, detail: dict[str, Any]) -> None:
        """Append an event inside the caller's transaction (store/history.py)."""
        self._history.event(account, number, kind, detail)

    def record_event(
        self, account: str, number: str | None, kind: str, detail: dict[str, Any]
    ) -> None:
        self._history.record_event(account, number, kind, detail)

    def events(self, account: str) -> list[tuple[str, str | None, str, dict[str, Any]]]:
        return self._history.events(account)

    # --- claims, runs and the origin (store/claims.py, history.py, origin.py) ---------------

    def origin(self) -> str:
        return self._origin.token()

    def claim(
        self,
        account: str,
        numbers: Sequence[str],
        run_id: str,
        *,
        ttl: int = DEFAULT_CLAIM_TTL,
        holder: str = "",
    ) -> set[str]:
        return self._claims.claim(account, numbers, run_id, ttl=ttl, holder=holder)

    def renew_claims(self, account: str, run_id: str, *, ttl: int = DEFAULT_CLAIM_TTL) -> set[str]:
        return self._claims.renew_claims(account, run_id, ttl=ttl)

    def release_claims(
        self, account: str, run_id: str, numbers: Sequence[str] | None = None
    ) -> None:
        self._claims.release_claims(account, run_id, numbers)

    def claims(self, account: str) -> list[Claim]:
        return self._claims.claims(account)

    def finish_run(self, run: Run, exit_code: int) -> None:
        self._history.finish_run(run, exit_code)

    def record_events(
        self, account: str, events: Sequence[tuple[str, str, dict[str, Any]]]
    ) -> None:
        self._history.record_events(account, events)

    def history(self, account: str | None, numbers: Sequence[str]) -> list[Event]:
        return self._history.history(account, numbers)

    def run_events(self, run_id: str) -> list[Event]:
        return self._history.run_events(run_id)

    def runs(self, since: str | None = None, limit: int = 50) -> list[RunRecord]:
        return self._history.runs(since, limit)

    def run_record(self, run_id: str) -> list[RunRecord]:
        return self._history.run_record(run_id)


def _ref_detail(ref: DocRef) -> dict[str, Any]:
    """How an event names a remote document: its id and, always beside it, its kind."""
    return {"remote_id": ref.remote_id, "kind": ref.kind.value}
