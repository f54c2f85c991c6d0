"""The prepare journal: customers, services and terms `prepare` is creating, intent first.

The same rule as the push journal (contract.py): the intent, with its `requestid`, commits
before the create is sent, so a crash or a dropped answer leaves a pending entry the next run
resolves by looking the name up, never by creating it again. A refused attempt is closed as
`failed`; the next attempt counts them into a fresh `requestid` (QuickBooks would replay the
refusal for the old one).
"""

from __future__ import annotations

from dataclasses import dataclass

from invoicesync.store.journal import Sql, SqlJournal, Table

# The table, as each backend's next migration (appended in sqlite.py and postgres.py).
SQLITE_DDL = """
        CREATE TABLE prepare_journal (
            id INTEGER PRIMARY KEY,
            realm_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            name TEXT NOT NULL,
            request_id TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('pending', 'done', 'failed')),
            remote_id TEXT,
            error TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            UNIQUE (realm_id, request_id)
        );
"""
POSTGRES_DDL = [
    """CREATE TABLE prepare_journal (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        realm_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        name TEXT NOT NULL,
        request_id TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('pending', 'done', 'failed')),
        remote_id TEXT,
        error TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        UNIQUE (realm_id, request_id))""",
]


@dataclass(frozen=True)
class PrepareEntry:
    account: str
    kind: str  # customer, service, term
    name: str
    request_id: str
    state: str  # pending, done, failed
    remote_id: str | None
    error: str | None


PREPARE = Table[PrepareEntry](
    name="prepare_journal",
    intent=("account", "kind", "name", "request_id"),
    values=lambda e: (e.account, e.kind, e.name, e.request_id),
    columns="account, kind, name, request_id, state, remote_id, error",
    entry=lambda r: PrepareEntry(*r),
)


class PrepareJournal:
    """The journal of prerequisites (a component of `SqlStore`): done is the record's id."""

    def __init__(self, sql: Sql) -> None:
        self.sql, self.rows = sql, SqlJournal(sql, PREPARE)

    def intend(self, *entries: PrepareEntry) -> None:
        self.rows.intend(entries)

    def done(self, entry: PrepareEntry, result: str) -> None:
        self.outcome(entry.account, entry.request_id, remote_id=result)

    def failed(self, entry: PrepareEntry, error: str) -> None:
        self.outcome(entry.account, entry.request_id, error=error)

    def open(self, account: str) -> list[PrepareEntry]:
        return self.rows.entries(account, state="pending")

    def entries(self, account: str) -> list[PrepareEntry]:
        return self.rows.entries(account)

    def outcome(
        self,
        account: str,
        request_id: str,
        *,
        remote_id: str | None = None,
        error: str | None = None,
    ) -> None:
        """Close a pending intent: done with the record's id, or failed with the refusal."""
        values = {"remote_id": remote_id, "error": error}
        state = "done" if remote_id else "failed"
        with self.sql.transaction():
            self.rows.close(account, request_id, state, values, pending_only=True)
