"""Local state in SQLite: links, the push journal, generations and an append-only event log.

The journal is what makes a push exactly-once across crashes: an intent row (with the
deterministic `requestid`) is committed *before* the create request is sent, and the link is
committed together with the journal outcome after. Migrations are append-only and keyed on
`PRAGMA user_version`; the file is created 0600.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import filelock

from invoicesync.errors import InvoiceSyncError, LockHeld
from invoicesync.models import Link
from invoicesync.store_lifecycle import M003_LIFECYCLE

# Append-only: never edit a migration that has shipped; add the next one.
_M001 = """
        CREATE TABLE links (
            realm_id TEXT NOT NULL,
            invoice_number TEXT NOT NULL,
            qbo_id TEXT NOT NULL,
            doc_number TEXT,
            origin TEXT NOT NULL,
            linked_at TEXT NOT NULL,
            sync_token TEXT,
            total TEXT,
            currency TEXT,
            marker_written INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (realm_id, invoice_number),
            UNIQUE (realm_id, qbo_id)
        );
        CREATE TABLE generations (
            realm_id TEXT NOT NULL,
            invoice_number TEXT NOT NULL,
            generation INTEGER NOT NULL,
            PRIMARY KEY (realm_id, invoice_number)
        );
        CREATE TABLE push_journal (
            id INTEGER PRIMARY KEY,
            realm_id TEXT NOT NULL,
            invoice_number TEXT NOT NULL,
            generation INTEGER NOT NULL,
            request_id TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('pending', 'done', 'failed')),
            doc_number TEXT,
            qbo_id TEXT,
            error TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            UNIQUE (realm_id, request_id)
        );
        CREATE INDEX push_journal_state ON push_journal (realm_id, state);
        CREATE TABLE events (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            realm_id TEXT NOT NULL,
            invoice_number TEXT,
            kind TEXT NOT NULL,
            detail TEXT NOT NULL
        );
"""

# What `reconcile` last saw in QuickBooks, so `invoices` can show paid/voided/deleted offline.
_M002 = """
        ALTER TABLE links ADD COLUMN last_state TEXT;
        ALTER TABLE links ADD COLUMN last_balance TEXT;
        ALTER TABLE links ADD COLUMN last_checked_at TEXT;
"""

MIGRATIONS: list[str] = [_M001, _M002, M003_LIFECYCLE]


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class JournalEntry:
    realm_id: str
    invoice_number: str
    generation: int
    request_id: str
    state: str
    doc_number: str | None
    qbo_id: str | None
    error: str | None


class Store:
    """One SQLite database per app dir. Every public method is one transaction."""

    def __init__(self, db: sqlite3.Connection, path: Path) -> None:
        self.db = db
        self.path = path

    @classmethod
    def open(cls, path: Path) -> Store:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
            os.close(fd)
        try:
            db = sqlite3.connect(path, timeout=30, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.execute("PRAGMA foreign_keys=ON")
        except sqlite3.DatabaseError as exc:
            raise InvoiceSyncError(
                f"{path}: the state database cannot be opened ({exc}); restore it from a backup "
                "or move it aside and run `invoicesync reconcile --rebuild`"
            ) from None
        store = cls(db, path)
        store._migrate()
        with contextlib.suppress(OSError):
            os.chmod(path, 0o600)
        return store

    def close(self) -> None:
        self.db.close()

    def _migrate(self) -> None:
        version = int(self.db.execute("PRAGMA user_version").fetchone()[0])
        if version > len(MIGRATIONS):
            raise InvoiceSyncError(
                f"{self.path} was written by a newer invoicesync (schema {version}); upgrade "
                "invoicesync"
            )
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            # executescript commits on its own, so the script carries its own transaction.
            self.db.executescript(
                f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;"
            )

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # --- links ------------------------------------------------------------------------------

    @staticmethod
    def _link(row: Sequence[Any]) -> Link:
        return Link(
            realm_id=row[0],
            invoice_number=row[1],
            qbo_id=row[2],
            doc_number=row[3],
            origin=row[4],
            linked_at=row[5],
            sync_token=row[6],
            total=Decimal(row[7]) if row[7] is not None else None,
            currency=row[8],
            marker_written=bool(row[9]),
            last_state=row[10],
            last_balance=Decimal(row[11]) if row[11] is not None else None,
            last_checked_at=row[12],
            fingerprint=row[13],
            kind=row[14],
        )

    _INSERT_COLUMNS = (
        "realm_id, invoice_number, qbo_id, doc_number, origin, linked_at, sync_token, total, "
        "currency, marker_written, fingerprint, kind"
    )
    _LINK_COLUMNS = (
        "realm_id, invoice_number, qbo_id, doc_number, origin, linked_at, sync_token, total, "
        "currency, marker_written, last_state, last_balance, last_checked_at, fingerprint, kind"
    )

    def link(self, realm_id: str, number: str) -> Link | None:
        row = self.db.execute(
            f"SELECT {self._LINK_COLUMNS} FROM links WHERE realm_id = ? AND invoice_number = ?",
            (realm_id, number),
        ).fetchone()
        return self._link(row) if row else None

    def link_for_qbo(self, realm_id: str, qbo_id: str, kind: str = "invoice") -> Link | None:
        row = self.db.execute(
            f"SELECT {self._LINK_COLUMNS} FROM links WHERE realm_id = ? AND qbo_id = ? "
            "AND kind = ?",
            (realm_id, qbo_id, kind),
        ).fetchone()
        return self._link(row) if row else None

    def links(self, realm_id: str) -> list[Link]:
        rows = self.db.execute(
            f"SELECT {self._LINK_COLUMNS} FROM links WHERE realm_id = ? ORDER BY invoice_number",
            (realm_id,),
        ).fetchall()
        return [self._link(r) for r in rows]

    def count_links(self, realm_id: str) -> dict[str, int]:
        rows = self.db.execute(
            "SELECT origin, COUNT(*) FROM links WHERE realm_id = ? GROUP BY origin", (realm_id,)
        ).fetchall()
        return {str(origin): int(n) for origin, n in rows}

    def add_link(
        self, link: Link, *, request_id: str | None = None, event: dict[str, Any] | None = None
    ) -> None:
        """Store a link (and close its journal entry) atomically; refuses to overwrite."""
        with self.transaction() as db:
            try:
                db.execute(
                    f"INSERT INTO links ({self._INSERT_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        link.realm_id,
                        link.invoice_number,
                        link.qbo_id,
                        link.doc_number,
                        link.origin,
                        link.linked_at,
                        link.sync_token,
                        None if link.total is None else str(link.total),
                        link.currency,
                        int(link.marker_written),
                        link.fingerprint,
                        link.kind,
                    ),
                )
            except sqlite3.IntegrityError:
                raise LinkExists(link.realm_id, link.invoice_number, link.qbo_id) from None
            if request_id is not None:
                db.execute(
                    "UPDATE push_journal SET state = 'done', qbo_id = ?, doc_number = ?, "
                    "updated_at = ? WHERE realm_id = ? AND request_id = ?",
                    (link.qbo_id, link.doc_number, now_iso(), link.realm_id, request_id),
                )
            self._event(
                db,
                link.realm_id,
                link.invoice_number,
                link.origin,
                event
                or {
                    "qbo_id": link.qbo_id,
                    "doc_number": link.doc_number,
                },
            )

    def record_observations(
        self, realm_id: str, seen: Sequence[tuple[str, str, Decimal | None]]
    ) -> None:
        """Store what reconcile saw: (invoice number, state, balance) per link, one transaction."""
        stamp = now_iso()
        with self.transaction() as db:
            db.executemany(
                "UPDATE links SET last_state = ?, last_balance = ?, last_checked_at = ? "
                "WHERE realm_id = ? AND invoice_number = ?",
                [
                    (state, None if bal is None else str(bal), stamp, realm_id, number)
                    for number, state, bal in seen
                ],
            )

    def remove_link(self, realm_id: str, number: str, event: dict[str, Any]) -> int:
        """Delete the link and bump the generation (so a later push gets a fresh requestid)."""
        with self.transaction() as db:
            db.execute(
                "DELETE FROM links WHERE realm_id = ? AND invoice_number = ?", (realm_id, number)
            )
            generation = self._generation(db, realm_id, number) + 1
            db.execute(
                "INSERT INTO generations (realm_id, invoice_number, generation) VALUES (?,?,?) "
                "ON CONFLICT (realm_id, invoice_number) "
                "DO UPDATE SET generation = excluded.generation",
                (realm_id, number, generation),
            )
            self._event(db, realm_id, number, "unlinked", {**event, "generation": generation})
            return generation

    # --- journal ----------------------------------------------------------------------------

    @staticmethod
    def _generation(db: sqlite3.Connection, realm_id: str, number: str) -> int:
        row = db.execute(
            "SELECT generation FROM generations WHERE realm_id = ? AND invoice_number = ?",
            (realm_id, number),
        ).fetchone()
        return int(row[0]) if row else 0

    def generation(self, realm_id: str, number: str) -> int:
        return self._generation(self.db, realm_id, number)

    def generations(self, realm_id: str) -> dict[str, int]:
        rows = self.db.execute(
            "SELECT invoice_number, generation FROM generations WHERE realm_id = ?", (realm_id,)
        ).fetchall()
        return {str(n): int(g) for n, g in rows}

    def journal_intents(self, entries: Sequence[JournalEntry]) -> None:
        """Record intents before sending (idempotent: an existing intent is kept as it is)."""
        stamp = now_iso()
        with self.transaction() as db:
            for e in entries:
                db.execute(
                    "INSERT INTO push_journal (realm_id, invoice_number, generation, request_id, "
                    "state, doc_number, created_at, updated_at) VALUES (?,?,?,?,'pending',?,?,?) "
                    "ON CONFLICT (realm_id, request_id) DO UPDATE SET state = 'pending', "
                    "error = NULL, updated_at = excluded.updated_at WHERE state = 'failed'",
                    (
                        e.realm_id,
                        e.invoice_number,
                        e.generation,
                        e.request_id,
                        e.doc_number,
                        stamp,
                        stamp,
                    ),
                )

    def journal_failed(self, realm_id: str, request_id: str, error: str) -> None:
        with self.transaction() as db:
            db.execute(
                "UPDATE push_journal SET state = 'failed', error = ?, updated_at = ? "
                "WHERE realm_id = ? AND request_id = ? AND state = 'pending'",
                (error, now_iso(), realm_id, request_id),
            )

    def journal(self, realm_id: str, state: str | None = None) -> list[JournalEntry]:
        sql = (
            "SELECT realm_id, invoice_number, generation, request_id, state, doc_number, qbo_id, "
            "error FROM push_journal WHERE realm_id = ?"
        )
        args: tuple[Any, ...] = (realm_id,)
        if state is not None:
            sql += " AND state = ?"
            args += (state,)
        rows = self.db.execute(sql + " ORDER BY id", args).fetchall()
        return [JournalEntry(*r) for r in rows]

    # --- events -----------------------------------------------------------------------------

    @staticmethod
    def _event(
        db: sqlite3.Connection, realm_id: str, number: str | None, kind: str, detail: dict[str, Any]
    ) -> None:
        db.execute(
            "INSERT INTO events (at, realm_id, invoice_number, kind, detail) VALUES (?,?,?,?,?)",
            (now_iso(), realm_id, number, kind, json.dumps(detail, default=str, sort_keys=True)),
        )

    def events(self, realm_id: str) -> list[tuple[str, str | None, str, dict[str, Any]]]:
        rows = self.db.execute(
            "SELECT at, invoice_number, kind, detail FROM events WHERE realm_id = ? ORDER BY id",
            (realm_id,),
        ).fetchall()
        return [(r[0], r[1], r[2], json.loads(r[3])) for r in rows]


class LinkExists(InvoiceSyncError):
    """Raised when a link would overwrite another (the caller turns it into a Conflict)."""

    def __init__(self, realm_id: str, number: str, qbo_id: str) -> None:
        super().__init__(f"invoice {number} or QuickBooks invoice {qbo_id} is already linked")
        self.realm_id = realm_id
        self.number = number
        self.qbo_id = qbo_id


@contextlib.contextmanager
def state_lock(app_dir: Path, *, wait: float | None = None) -> Iterator[None]:
    """The one lock for commands that write links: exit 9 at once, or wait `wait` seconds."""
    app_dir.mkdir(parents=True, exist_ok=True)
    path = app_dir / "state.lock"
    lock = filelock.FileLock(str(path), timeout=wait if wait is not None else 0)
    try:
        lock.acquire()
    except filelock.Timeout:
        raise LockHeld(
            "another invoicesync run is writing to this app dir "
            f"({app_dir}); wait for it, or re-run with --wait"
        ) from None
    try:
        yield
    finally:
        lock.release()
