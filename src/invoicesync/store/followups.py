"""Sends and attachments in the state store (the `followups` table: SQLite migration 4,
PostgreSQL migration 2), journalled like a push: an intent row with its requestid is committed
before the request, its outcome after. `kind` is 'send' (target: the address asked for;
result_to: where it went; result_at: QuickBooks' DeliveryTime) or 'attach' (target: the file
name; content_hash and size identify the content; result_id: the Attachable). The document
sent or attached to is `qbo_id` of kind `doc_kind` (store/kinds.py adds the column).

Written against `SqlStore`, like the rest of the contract, so both backends share it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from invoicesync.models import DocKind, DocRef
from invoicesync.store.contract import StateStore, now_iso
from invoicesync.store.sql import SqlStore

# The table, for each backend's migration list (append-only, like every migration).
SQLITE_DDL = """
        CREATE TABLE followups (
            id INTEGER PRIMARY KEY, realm_id TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('send', 'attach')),
            invoice_number TEXT NOT NULL, qbo_id TEXT NOT NULL, request_id TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('pending', 'done', 'failed')),
            target TEXT, content_hash TEXT, size INTEGER, result_id TEXT, result_to TEXT,
            result_at TEXT, error TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
            UNIQUE (realm_id, request_id));
        CREATE INDEX followups_invoice ON followups (realm_id, kind, invoice_number);
"""
POSTGRES_DDL = [
    """CREATE TABLE followups (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, realm_id TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('send', 'attach')),
        invoice_number TEXT NOT NULL, qbo_id TEXT NOT NULL, request_id TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('pending', 'done', 'failed')),
        target TEXT, content_hash TEXT, size BIGINT, result_id TEXT, result_to TEXT,
        result_at TEXT, error TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
        UNIQUE (realm_id, request_id))""",
    "CREATE INDEX followups_invoice ON followups (realm_id, kind, invoice_number)",
]


def _sql(store: StateStore) -> SqlStore:
    if not isinstance(store, SqlStore):
        raise TypeError(f"{type(store).__name__} keeps no sends or attachments")
    return store


@dataclass(frozen=True)
class FollowUp:
    """One send or attach of one linked invoice, and what became of it."""

    realm_id: str
    kind: str
    invoice_number: str
    qbo_id: str
    request_id: str
    state: str = "pending"
    target: str | None = None
    content_hash: str | None = None
    size: int | None = None
    result_id: str | None = None
    result_to: str | None = None
    result_at: str | None = None
    error: str | None = None
    updated_at: str | None = None
    doc_kind: DocKind = field(kw_only=True)

    @property
    def ref(self) -> DocRef:
        """The document sent or attached to."""
        return DocRef(self.doc_kind, self.qbo_id)


_FOLLOWUP_COLUMNS = (
    "realm_id, kind, invoice_number, qbo_id, request_id, state, target, content_hash, size, "
    "result_id, result_to, result_at, error, updated_at, doc_kind"
)


def followups(
    store: StateStore, realm_id: str, kind: str, number: str | None = None
) -> list[FollowUp]:
    """Sends or attachments of the company (or of one invoice), oldest first, whatever the
    document: a caller picks those of the document it acts on (`FollowUp.ref`)."""
    sql = f"SELECT {_FOLLOWUP_COLUMNS} FROM followups WHERE realm_id = ? AND kind = ?"
    args: tuple[Any, ...] = (realm_id, kind)
    if number is not None:
        sql += " AND invoice_number = ?"
        args += (number,)
    rows = _sql(store)._exec(sql + " ORDER BY id", args).fetchall()
    return [FollowUp(*row[:14], doc_kind=DocKind(row[14])) for row in rows]


def followup_intent(store: StateStore, entry: FollowUp) -> None:
    """Commit the intent before the request; an existing intent is kept as it is."""
    stamp = now_iso()
    sql = _sql(store)
    with sql.transaction(durable=True):
        sql._exec(
            "INSERT INTO followups (realm_id, kind, invoice_number, qbo_id, doc_kind, request_id, "
            "state, target, content_hash, size, created_at, updated_at) "
            "VALUES (?,?,?,?,?,?,'pending',?,?,?,?,?) "
            "ON CONFLICT (realm_id, request_id) DO NOTHING",
            (
                entry.realm_id,
                entry.kind,
                entry.invoice_number,
                entry.qbo_id,
                entry.doc_kind.value,
                entry.request_id,
                entry.target,
                entry.content_hash,
                entry.size,
                stamp,
                stamp,
            ),
        )


def followup_outcome(
    store: StateStore,
    entry: FollowUp,
    *,
    error: str | None = None,
    result_id: str | None = None,
    result_to: str | None = None,
    result_at: str | None = None,
) -> None:
    """Close a pending intent as done (with what QuickBooks answered) or failed (`error`)."""
    state = "failed" if error is not None else "done"
    sql = _sql(store)
    with sql.transaction(durable=True):
        closed = sql._exec(
            "UPDATE followups SET state = ?, error = ?, result_id = ?, result_to = ?, "
            "result_at = ?, updated_at = ? WHERE realm_id = ? AND request_id = ? "
            "AND state = 'pending' RETURNING id",
            (
                state,
                error,
                result_id,
                result_to,
                result_at,
                now_iso(),
                entry.realm_id,
                entry.request_id,
            ),
        ).fetchone()
        if closed is None:
            return  # closed before: its event was written then
        detail: dict[str, Any] = {"qbo_id": entry.qbo_id, "kind": entry.doc_kind.value}
        detail |= {"target": entry.target, "request_id": entry.request_id}
        if state == "done":
            detail["to"] = result_to
        else:
            detail["error"] = error
        sql._event(entry.realm_id, entry.invoice_number, f"{entry.kind}-{state}", detail)


def advance_sync_token(
    store: StateStore, realm_id: str, number: str, ref: DocRef, new_token: str | None
) -> None:
    """Our own send bumped the document's SyncToken: move the link's along, so `reconcile` does
    not report it as edited. Only from the token just before, so an edit someone made in
    between is still reported."""
    if new_token is None or not new_token.isdigit() or new_token == "0":
        return
    sql = _sql(store)
    with sql.transaction(durable=True):
        sql._exec(
            "UPDATE links SET sync_token = ? WHERE realm_id = ? AND invoice_number = ? "
            "AND qbo_id = ? AND kind = ? AND sync_token = ?",
            (new_token, realm_id, number, ref.remote_id, ref.kind.value, str(int(new_token) - 1)),
        )
