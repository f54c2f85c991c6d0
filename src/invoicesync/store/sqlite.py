"""The default state backend: one SQLite file, `state.db`, in the app dir.

WAL mode with `synchronous=FULL`, so a committed intent survives a power cut. Migrations are
append-only and keyed on `PRAGMA user_version`; `PRAGMA application_id` marks the file as ours.
The file is created 0600 and never through a symbolic link: a planted link could make us write
links and journal into, or read them from, a file somebody else chose. SQLite opens its
journal files (`-wal`, `-shm`, `-journal`) by name and follows links, so those are checked
before every open; `state.lock` is a `files.FileLock` (0600, never through a link).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from invoicesync.errors import InvalidInput, InvoiceSyncError, LockHeld
from invoicesync.files import FileLock, LockTimeout, UnsafeFile, ensure_dir, private_dir
from invoicesync.store import (
    claims,
    deliveries,
    followups,
    identity,
    kinds,
    neutral,
    origin,
    prepared,
    runs,
)
from invoicesync.store.lifecycle import SQLITE_MIGRATION
from invoicesync.store.sql import SqlStore

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

APPLICATION_ID = 0x49535943  # "ISYC": marks the file as an invoicesync state database

# Per-invoice claims (one sender per invoice) and the file's owner mark.
_M003 = f"""
        CREATE TABLE claims (
            realm_id TEXT NOT NULL,
            invoice_number TEXT NOT NULL,
            run_id TEXT NOT NULL,
            holder TEXT NOT NULL,
            expires_at INTEGER NOT NULL,
            PRIMARY KEY (realm_id, invoice_number)
        );
        PRAGMA application_id = {APPLICATION_ID};
"""

MIGRATIONS: list[str] = [_M001, _M002, _M003]
_SQLITE_HEADER = b"SQLite format 3\x00"
_OUR_TABLES = {"links", "generations", "push_journal", "events"}
_JOURNALS = ("-wal", "-shm", "-journal")  # the files SQLite keeps beside the database


def _refuse(path: Path, why: str) -> InvalidInput:
    return InvalidInput(
        f"{path} {why}; invoicesync will not use it as its state database: move it aside (a new "
        "one is created, and `invoicesync reconcile --rebuild` restores the links) or point "
        "INVOICESYNC_HOME at another folder"
    )


def _check_journals(path: Path) -> None:
    """SQLite would follow a link at `state.db-wal` (or -shm, -journal) and write through it:
    each must be absent or a regular file of the user's (exit 8 otherwise)."""
    for suffix in _JOURNALS:
        journal = path.with_name(path.name + suffix)
        try:
            info = os.lstat(journal)
        except FileNotFoundError:
            continue
        if stat.S_ISREG(info.st_mode) and _ours(info):
            continue
        what = "is a symbolic link" if stat.S_ISLNK(info.st_mode) else "is not a file of yours"
        raise InvalidInput(
            f"{journal} {what}; SQLite would write the state database's journal through it: "
            "remove it (if it is this database's own journal moved elsewhere, move that file "
            "back in its place)"
        )


def _ours(info: os.stat_result) -> bool:
    return not hasattr(os, "geteuid") or info.st_uid == os.geteuid()


def _prepare_file(path: Path) -> None:
    """Create the file 0600 without following links, or check that the existing one is a
    regular file of the user's that is empty or SQLite; a symlink, FIFO or foreign file is
    refused (exit 8), and so is a link at one of its journals."""
    ensure_dir(path.parent)
    _check_journals(path)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW, 0o600))
        return
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode):
        raise _refuse(path, "is a symbolic link")
    if not stat.S_ISREG(info.st_mode):
        raise _refuse(path, "is not a regular file")
    if not _ours(info):
        raise _refuse(path, f"belongs to another user (uid {info.st_uid})")
    if info.st_size == 0:
        return
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        header = os.read(fd, len(_SQLITE_HEADER))
    finally:
        os.close(fd)
    if header != _SQLITE_HEADER:
        raise _refuse(path, "is not an SQLite database")


class ByProcess:
    """The `Leases` and `RunHolds` of one file on one machine: a holder is judged by its
    process (store/identity.py), so a run holds nothing while it goes on."""

    holder_dead = f"invoicesync_holder(claims.lease) = '{identity.DEAD}'"
    holder_unknown = f"invoicesync_holder(claims.lease) = '{identity.UNKNOWN}'"

    def begin_lease(self, run_id: str) -> None:
        """The process itself keeps its claims alive."""

    def end_lease(self, run_id: str) -> None:
        """Nothing was held."""

    def hold_run(self, run_id: str) -> None:
        """The process itself proves the run alive."""

    def release_run(self, run_id: str) -> None:
        """Nothing was held."""

    def runs_alive(self, run_ids: Sequence[str]) -> set[str] | None:
        """Nothing held to tell by: the lease's process decides (`history._record`)."""
        return None


class SQLiteStore(SqlStore):
    """One SQLite database per app dir. Every public method is one transaction."""

    _BEGIN = "BEGIN IMMEDIATE"
    _NOW = "CAST(strftime('%s', 'now') AS INTEGER)"
    _UNIQUE_VIOLATION = (sqlite3.IntegrityError,)

    def __init__(self, db: sqlite3.Connection, path: Path) -> None:
        super().__init__(ByProcess())
        self.db = db
        self.path = path
        db.create_function("invoicesync_holder", 1, identity.state)

    @classmethod
    def open(cls, path: Path) -> SQLiteStore:
        _prepare_file(path)
        try:
            db = sqlite3.connect(path, timeout=30, isolation_level=None)
            store = cls(db, path)
            store._check_ours()
            store._use_wal()
            db.execute("PRAGMA synchronous=FULL")
            db.execute("PRAGMA foreign_keys=ON")
            store._migrate()
            store._opened()
        except sqlite3.DatabaseError as exc:
            raise InvoiceSyncError(
                f"{path}: the state database cannot be opened ({exc}); restore it from a backup "
                "or move it aside and run `invoicesync reconcile --rebuild`"
            ) from None
        with contextlib.suppress(OSError):
            os.chmod(path, 0o600)
        return store

    def _check_ours(self) -> None:
        """Refuse an SQLite file that some other program owns (before we write anything).
        One read transaction: another process may be migrating the file at this moment."""
        self.db.execute("BEGIN")
        try:
            app_id = int(self.db.execute("PRAGMA application_id").fetchone()[0])
            version = int(self.db.execute("PRAGMA user_version").fetchone()[0])
            tables = {
                str(r[0])
                for r in self.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            }
        finally:
            self.db.execute("COMMIT")
        if app_id == APPLICATION_ID:
            return
        if app_id != 0:
            raise _refuse(self.path, "belongs to another application")
        if (version == 0 and tables) or (version > 0 and not tables >= _OUR_TABLES):
            raise _refuse(self.path, "holds tables that are not invoicesync's")

    def _use_wal(self) -> None:
        """Switch a new file to WAL. The switch needs the file to itself and SQLite does not
        wait for that (no busy handler), so processes opening a new file together retry."""
        for _ in range(300):
            try:
                self.db.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc):
                    raise
                time.sleep(0.1)
        self.db.execute("PRAGMA journal_mode=WAL")

    @property
    def connection(self) -> sqlite3.Connection:
        return self.db

    def describe(self) -> str:
        return str(self.path)

    def _close(self) -> None:
        self.db.close()

    def _exec(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        return self.db.execute(sql, params)

    def _migrate(self) -> None:
        """Apply missing migrations in one write transaction that re-reads the version, so
        processes opening a fresh file at the same moment migrate it once."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            version = int(self.db.execute("PRAGMA user_version").fetchone()[0])
            if version > len(MIGRATIONS):
                raise InvoiceSyncError(
                    f"{self.path} was written by a newer invoicesync (schema {version}); "
                    "upgrade invoicesync"
                )
            for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                for statement in script.split(";"):
                    if statement.strip():
                        self.db.execute(statement)
                self.db.execute(f"PRAGMA user_version = {number}")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def run_lock(self, *, wait: float | None = None) -> contextlib.AbstractContextManager[None]:
        return state_lock(self.path.parent, wait=wait)


@contextlib.contextmanager
def state_lock(
    app_dir: Path, *, wait: float | None = None, root: Path | None = None
) -> Iterator[None]:
    """The one lock for commands that write links: exit 9 at once, or wait `wait` seconds.
    `app_dir` (and every folder from `root` down to it) must be private; the lock file is
    created 0600 and never through a link (exit 8)."""
    private_dir(app_dir, root=root)
    path = app_dir / "state.lock"
    lock = FileLock(path)
    try:
        lock.acquire(timeout=wait if wait is not None else 0)
    except LockTimeout:
        raise LockHeld(
            "another invoicesync run is writing to this app dir "
            f"({app_dir}); wait for it, or re-run with --wait"
        ) from None
    except OSError as exc:
        raise UnsafeFile(f"{path}: cannot take the state lock ({exc.strerror})") from None
    try:
        yield
    finally:
        lock.release()


# Sends and attachments, journalled like pushes (store/followups.py).
MIGRATIONS.append(followups.SQLITE_DDL)
# Links' fingerprint and kind, the lifecycle journal (store/lifecycle.py).
MIGRATIONS.append(SQLITE_MIGRATION)
# Customers, services and terms `prepare` creates, journalled (store/prepared.py).
MIGRATIONS.append(prepared.SQLITE_DDL)
# The state's origin, carried by the marker of every record it creates (store/origin.py).
MIGRATIONS.append(origin.SQLITE_DDL)
# A claim's lease, what proves its holder alive or dead (store/claims.py).
MIGRATIONS.append(claims.SQLITE_MIGRATION)
# The kind of document beside every stored remote id, filled from what is known
# (store/kinds.py).
MIGRATIONS.append(kinds.SQLITE_MIGRATION)
# Who wrote each event (run, host, user), the runs, and the audit trail's indexes
# (store/runs.py).
MIGRATIONS.append(runs.SQLITE_MIGRATION)
# What B2BRouter last said of each link (delivery reason, registrations), so
# `invoices` and `status` show it offline (store/deliveries.py).
MIGRATIONS.append(deliveries.SQLITE_MIGRATION)
# Target-neutral column names: account, remote_id, version (store/neutral.py).
MIGRATIONS.append(neutral.SQLITE_MIGRATION)
