"""Sends and attachments in the state store (the `followups` table: SQLite migration 4,
PostgreSQL migration 2), journalled like a push: an intent row with its requestid is committed
before the request, its outcome after. `kind` is 'send' (target: the address asked for;
result_to: where it went; result_at: QuickBooks' DeliveryTime) or 'attach' (target: the file
name; content_hash and size identify the content; result_id: the Attachable). The document
sent or attached to is `remote_id` of kind `doc_kind` (store/kinds.py adds the column).

A component of `SqlStore` on the one journal's statements (store/journal.py), so both
backends share it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from invoicesync.models import DocKind, DocRef
from invoicesync.store.journal import Sql, SqlJournal, Table

if TYPE_CHECKING:
    from invoicesync.store.contract import StateStore

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


@dataclass(frozen=True)
class FollowUp:
    """One send or attach of one linked invoice, and what became of it."""

    account: str
    kind: str
    invoice_number: str
    remote_id: str
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
        return DocRef(self.doc_kind, self.remote_id)


@dataclass(frozen=True)
class Delivered:
    """What a send or an attachment that landed records: the Attachable's id (`result_id`),
    where the e-mail went and when (`to`, `at`), and the document's SyncToken after our send
    (`token`), which the link follows."""

    result_id: str | None = None
    to: str | None = None
    at: str | None = None
    token: str | None = None


FOLLOWUPS = Table[FollowUp](
    name="followups",
    intent=(
        "account",
        "kind",
        "invoice_number",
        "remote_id",
        "doc_kind",
        "request_id",
        "target",
        "content_hash",
        "size",
    ),
    values=lambda e: (
        e.account,
        e.kind,
        e.invoice_number,
        e.remote_id,
        e.doc_kind.value,
        e.request_id,
        e.target,
        e.content_hash,
        e.size,
    ),
    columns="account, kind, invoice_number, remote_id, request_id, state, target, content_hash, "
    "size, result_id, result_to, result_at, error, updated_at, doc_kind",
    entry=lambda r: FollowUp(*r[:14], doc_kind=DocKind(r[14])),
)


class FollowUpJournal:
    """The journal of sends and attachments (a component of `SqlStore`)."""

    def __init__(self, sql: Sql) -> None:
        self.sql, self.rows = sql, SqlJournal(sql, FOLLOWUPS)

    def intend(self, *entries: FollowUp) -> None:
        """An existing intent is kept as it is."""
        self.rows.intend(entries)

    def open(self, account: str) -> list[FollowUp]:
        return self.rows.entries(account, state="pending")

    def entries(self, account: str, kind: str, number: str | None = None) -> list[FollowUp]:
        """Sends or attachments of the company (or of one invoice), oldest first, whatever the
        document: a caller picks those of the document it acts on (`FollowUp.ref`)."""
        return self.rows.entries(account, kind=kind, invoice_number=number)

    def done(self, entry: FollowUp, result: Delivered) -> None:
        """Closed with what the target answered; our send's new SyncToken moves the link's
        along in the same transaction, so `reconcile` does not report it as edited."""
        with self.sql.transaction(durable=True):
            self._close(entry, "done", None, result)
            self._advance(entry, result.token)

    def failed(self, entry: FollowUp, error: str) -> None:
        with self.sql.transaction(durable=True):
            self._close(entry, "failed", error, Delivered())

    def _close(self, entry: FollowUp, state: str, error: str | None, result: Delivered) -> None:
        values = {"error": error, "result_id": result.result_id, "result_to": result.to}
        values["result_at"] = result.at
        closed = self.rows.close(entry.account, entry.request_id, state, values, pending_only=True)
        if closed is None:
            return  # closed before: its event was written then
        detail: dict[str, Any] = {"remote_id": entry.remote_id, "kind": entry.doc_kind.value}
        detail |= {"target": entry.target, "request_id": entry.request_id}
        if state == "done":
            detail["to"] = result.to
        else:
            detail["error"] = error
        self.sql._event(entry.account, entry.invoice_number, f"{entry.kind}-{state}", detail)

    def _advance(self, entry: FollowUp, token: str | None) -> None:
        """Only from the token just before, so an edit someone made in between is still
        reported."""
        if token is None or not token.isdigit() or token == "0":
            return
        ref = entry.ref
        self.sql._exec(
            "UPDATE links SET version = ? WHERE account = ? AND invoice_number = ? "
            "AND remote_id = ? AND kind = ? AND version = ?",
            (
                token,
                entry.account,
                entry.invoice_number,
                ref.remote_id,
                ref.kind.value,
                str(int(token) - 1),
            ),
        )


def followups(
    store: StateStore, account: str, kind: str, number: str | None = None
) -> list[FollowUp]:
    """`FollowUpJournal.entries` of the store's journal."""
    return store.journals.followups.entries(account, kind, number)
