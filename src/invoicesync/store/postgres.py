"""Shared state on PostgreSQL (`state_url = "postgresql://…"`), for teams pushing from
several hosts: the same contract as SQLite, with coordination done by the database.

- The run lock is a session advisory lock: the server releases it when the holder's
  connection ends, so a killed process never leaves a stale lock (server-side TCP keepalives
  end the session of a host that vanished within about two minutes).
- A run's claims live as long as its session: each run holds a session advisory lock of its
  own, which any other session can see in `pg_locks` without taking it. Held: the run is alive
  and keeps its claims, on whichever machine, whatever their lifetime. Gone: the run is dead
  and its claims are free at once (store/pg_leases.py). Claims use the database's clock.
- Every statement is bounded (`state_timeout`; store/pg_timeouts.py): a stuck or frozen
  server is exit 7, never a wait without end.
- Migrations are keyed on a `schema_version` table and run under a transaction-scoped advisory
  lock, so two hosts upgrading at once apply each migration once. DDL is transactional here.
- Locks and the schema are per schema (`current_schema()`): two teams may share one database
  with a schema each (`options=-csearch_path%3Dteam_a` in the URL).

The URL may carry a password; it is never printed (`redact_url`) and is registered with the
process-wide redaction in case a driver message repeats it.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import unquote

import psycopg
import psycopg.errors

from invoicesync.config import DEFAULT_STATE_TIMEOUT
from invoicesync.errors import (
    EXIT_UNAVAILABLE,
    ConfigError,
    InvalidInput,
    InvoiceSyncError,
    LockHeld,
    register_secret,
)
from invoicesync.store import claims, deliveries, followups, kinds, neutral, origin, prepared, runs
from invoicesync.store.lifecycle import POSTGRES_MIGRATION
from invoicesync.store.pg_leases import AdvisoryLocks
from invoicesync.store.pg_timeouts import (
    Deadline,
    bound,
    connect_parameters,
    family,
    session_settings,
)
from invoicesync.store.sql import SqlStore

_M001 = [
    """CREATE TABLE links (
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
        last_state TEXT,
        last_balance TEXT,
        last_checked_at TEXT,
        PRIMARY KEY (realm_id, invoice_number),
        UNIQUE (realm_id, qbo_id))""",
    """CREATE TABLE generations (
        realm_id TEXT NOT NULL,
        invoice_number TEXT NOT NULL,
        generation INTEGER NOT NULL,
        PRIMARY KEY (realm_id, invoice_number))""",
    """CREATE TABLE push_journal (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
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
        UNIQUE (realm_id, request_id))""",
    "CREATE INDEX push_journal_state ON push_journal (realm_id, state)",
    """CREATE TABLE events (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at TEXT NOT NULL,
        realm_id TEXT NOT NULL,
        invoice_number TEXT,
        kind TEXT NOT NULL,
        detail TEXT NOT NULL)""",
    """CREATE TABLE claims (
        realm_id TEXT NOT NULL,
        invoice_number TEXT NOT NULL,
        run_id TEXT NOT NULL,
        holder TEXT NOT NULL,
        expires_at BIGINT NOT NULL,
        PRIMARY KEY (realm_id, invoice_number))""",
]

# Append-only: never edit a migration that has shipped; add the next one.
MIGRATIONS: list[list[str]] = [_M001]
_OUR_TABLES = ("links", "generations", "push_journal", "events", "claims")

_USERINFO_PASSWORD = re.compile(r"(://[^/?#@:]*:)[^/?#@]*@")
_QUERY_PASSWORD = re.compile(r"([?&]password=)[^&#]*", re.IGNORECASE)


def redact_url(url: str) -> str:
    """The URL with any password (user info or `password=` parameter) shown as ***."""
    return _QUERY_PASSWORD.sub(r"\1***", _USERINFO_PASSWORD.sub(r"\1***@", url))


def _register_password(url: str) -> None:
    for pattern in (_USERINFO_PASSWORD, _QUERY_PASSWORD):
        for match in pattern.finditer(url):
            whole, prefix = match.group(0), match.group(1)
            secret = whole[len(prefix) :].rstrip("@")
            register_secret(secret)
            register_secret(unquote(secret))  # as a driver message would spell it


class StateUnavailable(InvoiceSyncError):
    """The shared state database went away mid-run. Every create sent so far has a durable
    intent, so re-running later is safe: the same exit status as QuickBooks being down."""

    exit_code = EXIT_UNAVAILABLE


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


class PostgresStore(SqlStore):
    """The state in one PostgreSQL schema, shared by every host that uses the same URL."""

    _BEGIN = "BEGIN"
    _NOW = "CAST(EXTRACT(EPOCH FROM clock_timestamp()) AS BIGINT)"
    _LOCK_ROWS = " FOR UPDATE"
    _UNIQUE_VIOLATION = (psycopg.errors.UniqueViolation,)

    def __init__(
        self, conn: psycopg.Connection[Any], url: str, timeout: float = DEFAULT_STATE_TIMEOUT
    ) -> None:
        super().__init__(AdvisoryLocks(self))
        self.conn = conn
        self.url = url
        self.timeout = timeout
        where = family(conn.info.host, conn.info.hostaddr)
        self._deadline = Deadline(conn.pgconn.socket, where, bound(timeout))
        self.schema = str(self._scalar("SELECT current_schema()"))

    @classmethod
    def open(
        cls, url: str, *, create: bool = True, timeout: float = DEFAULT_STATE_TIMEOUT
    ) -> PostgresStore | None:
        """Connect and migrate. With `create=False` (dry runs) a database without our schema
        is left untouched and None is returned. `timeout` bounds every wait on the server."""
        _register_password(url)
        try:
            conn = psycopg.connect(
                url,
                autocommit=True,
                application_name="invoicesync",
                **connect_parameters(url, timeout),
            )
        except (psycopg.Error, ValueError) as exc:
            raise ConfigError(
                f"cannot connect to the state database {redact_url(url)}: {_first_line(exc)}; "
                "check state_url / INVOICESYNC_STATE_URL and that the server is reachable"
            ) from None
        store = cls(conn, url, timeout)
        try:
            for statement in session_settings(timeout):
                store._exec(statement)
            if not create and not store._has_schema():
                store.close()
                return None
            store._migrate()
            store._opened()
        except BaseException:
            store.close()
            raise
        return store

    @property
    def connection(self) -> psycopg.Connection[Any]:
        return self.conn

    def describe(self) -> str:
        return f"{redact_url(self.url)} (schema {self.schema})"

    def _close(self) -> None:
        self._deadline.close()
        self.conn.close()

    def _exec(self, sql: str, params: Sequence[Any] = ()) -> psycopg.Cursor[Any]:
        try:
            with self._deadline.bounding():
                return self.conn.execute(sql.replace("?", "%s"), params or None)
        except (psycopg.errors.QueryCanceled, psycopg.errors.LockNotAvailable) as exc:
            raise self._unanswered(exc) from None
        except psycopg.DataError as exc:
            if "NUL" not in str(exc):
                raise
            # SQLite stores any string; PostgreSQL text cannot hold U+0000.
            raise InvalidInput(
                "the shared state database cannot store text containing NUL characters; "
                "remove them from the invoice number or note"
            ) from None
        except psycopg.OperationalError as exc:
            if not self.conn.broken:
                raise
            if self._deadline.expired:
                raise self._unanswered(exc) from None
            raise StateUnavailable(
                f"lost the connection to the state database {redact_url(self.url)} "
                f"({_first_line(exc)}); what was sent is journaled: re-run when it is back"
            ) from None

    def _unanswered(self, exc: BaseException) -> StateUnavailable:
        cause = "frozen or unreachable" if self._deadline.expired else _first_line(exc)
        return StateUnavailable(
            f"the state database {redact_url(self.url)} did not answer within "
            f"{self.timeout:g} s ({cause}); what was sent is journaled: re-run when it answers "
            "(state_timeout sets the bound)"
        )

    def _has_schema(self) -> bool:
        return self._scalar("SELECT to_regclass('schema_version')") is not None

    def _migrate(self) -> None:
        with self.transaction():
            self._exec(
                "SELECT pg_advisory_xact_lock(hashtextextended(?, 0))",
                (f"invoicesync:migrate:{self.schema}",),
            )
            if not self._has_schema():
                self._refuse_foreign_tables()
                self._exec("CREATE TABLE schema_version (version INTEGER NOT NULL)")
                self._exec("INSERT INTO schema_version (version) VALUES (0)")
            version = int(self._scalar("SELECT version FROM schema_version"))
            if version > len(MIGRATIONS):
                raise InvoiceSyncError(
                    f"the state database {redact_url(self.url)} was written by a newer "
                    f"invoicesync (schema {version}); upgrade invoicesync"
                )
            for number, statements in enumerate(MIGRATIONS[version:], start=version + 1):
                for statement in statements:
                    self._exec(statement)
                self._exec("UPDATE schema_version SET version = ?", (number,))

    def _refuse_foreign_tables(self) -> None:
        """A schema with tables of our names but no `schema_version` belongs to someone else."""
        taken = [
            name
            for name in _OUR_TABLES
            if self._scalar("SELECT to_regclass(?)", (name,)) is not None
        ]
        if taken:
            raise InvalidInput(
                f"the state database {redact_url(self.url)} (schema {self.schema}) already has "
                f"tables named {', '.join(taken)} that are not invoicesync's; give invoicesync "
                "its own database or schema"
            )

    @contextlib.contextmanager
    def run_lock(self, *, wait: float | None = None) -> Iterator[None]:
        """A session advisory lock on this schema; `LockHeld` (exit 9) if another run has it."""
        key = (f"invoicesync:run:{self.schema}",)
        deadline = time.monotonic() + (wait or 0)
        while not self._scalar("SELECT pg_try_advisory_lock(hashtextextended(?, 0))", key):
            if time.monotonic() >= deadline:
                raise LockHeld(
                    "another invoicesync run is writing to the shared state "
                    f"{self.describe()}; wait for it, or re-run with --wait"
                )
            time.sleep(0.2)
        try:
            yield
        finally:
            if not self.conn.broken:
                self._exec("SELECT pg_advisory_unlock(hashtextextended(?, 0))", key)


# Sends and attachments, journalled like pushes (store/followups.py).
MIGRATIONS.append(followups.POSTGRES_DDL)
# Links' fingerprint and kind, the lifecycle journal (store/lifecycle.py).
MIGRATIONS.append(POSTGRES_MIGRATION)
# Customers, services and terms `prepare` creates, journalled (store/prepared.py).
MIGRATIONS.append(prepared.POSTGRES_DDL)
# The state's origin, carried by the marker of every record it creates (store/origin.py).
MIGRATIONS.append(origin.POSTGRES_DDL)
# A claim's lease, what proves its holder alive or dead (store/claims.py).
MIGRATIONS.append(claims.POSTGRES_MIGRATION)
# The kind of document beside every stored remote id, filled from what is known
# (store/kinds.py).
MIGRATIONS.append(kinds.POSTGRES_MIGRATION)
# Who wrote each event (run, host, user), the runs, and the audit trail's indexes
# (store/runs.py).
MIGRATIONS.append(runs.POSTGRES_MIGRATION)
# What B2BRouter last said of each link (delivery reason, registrations), so
# `invoices` and `status` show it offline (store/deliveries.py).
MIGRATIONS.append(deliveries.POSTGRES_MIGRATION)
# Target-neutral column names: account, remote_id, version (store/neutral.py).
MIGRATIONS.append(neutral.POSTGRES_MIGRATION)
