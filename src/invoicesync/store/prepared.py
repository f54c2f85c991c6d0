"""The prepare journal: customers, services and terms `prepare` is creating, intent first.

The same rule as the push journal (contract.py): the intent, with its `requestid`, commits
before the create is sent, so a crash or a dropped answer leaves a pending entry the next run
resolves by looking the name up, never by creating it again. A refused attempt is closed as
`failed`; the next attempt counts them into a fresh `requestid` (QuickBooks would replay the
refusal for the old one).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from invoicesync.store.contract import now_iso

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
    realm_id: str
    kind: str  # customer, service, term
    name: str
    request_id: str
    state: str  # pending, done, failed
    remote_id: str | None
    error: str | None


class _Sql(Protocol):
    def _exec(self, sql: str, params: Sequence[Any] = ()) -> Any: ...
    def transaction(self, *, durable: bool = False) -> AbstractContextManager[Any]: ...


class PrepareJournal:
    """Mixed into `SqlStore`; plain SQL both backends accept."""

    def prepare_intent(self: _Sql, entry: PrepareEntry) -> None:
        """Record an intent (kept as it is if it exists), committed before this returns."""
        stamp = now_iso()
        with self.transaction(durable=True):
            self._exec(
                "INSERT INTO prepare_journal (realm_id, kind, name, request_id, state, "
                "created_at, updated_at) VALUES (?,?,?,?,'pending',?,?) "
                "ON CONFLICT (realm_id, request_id) DO NOTHING",
                (entry.realm_id, entry.kind, entry.name, entry.request_id, stamp, stamp),
            )

    def prepare_outcome(
        self: _Sql,
        realm_id: str,
        request_id: str,
        *,
        remote_id: str | None = None,
        error: str | None = None,
    ) -> None:
        """Close a pending intent: done with the record's id, or failed with the refusal."""
        with self.transaction():
            self._exec(
                "UPDATE prepare_journal SET state = ?, remote_id = ?, error = ?, updated_at = ? "
                "WHERE realm_id = ? AND request_id = ? AND state = 'pending'",
                (
                    "done" if remote_id else "failed",
                    remote_id,
                    error,
                    now_iso(),
                    realm_id,
                    request_id,
                ),
            )

    def prepare_journal(self: _Sql, realm_id: str) -> list[PrepareEntry]:
        rows = self._exec(
            "SELECT realm_id, kind, name, request_id, state, remote_id, error "
            "FROM prepare_journal WHERE realm_id = ? ORDER BY id",
            (realm_id,),
        ).fetchall()
        return [PrepareEntry(*r) for r in rows]
