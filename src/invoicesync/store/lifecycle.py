"""The lifecycle journal: edits, voids and credit applications, journaled before
each is sent, closed together with the link's new SyncToken, total and fingerprint.

A component of `SqlStore` on the one journal's statements (store/journal.py), so both backends
have it; the migrations that add its table and the
links' `fingerprint` and `kind` columns are `SQLITE_MIGRATION` and `POSTGRES_MIGRATION`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from invoicesync.models import DocKind, DocRef
from invoicesync.store.journal import Sql, SqlJournal, Table

_JOURNAL = """lifecycle_journal (
            id {id},
            realm_id TEXT NOT NULL,
            invoice_number TEXT NOT NULL,
            action TEXT NOT NULL CHECK (action IN ('update', 'void', 'apply')),
            request_id TEXT NOT NULL,
            qbo_id TEXT NOT NULL,
            base_token TEXT,
            fingerprint TEXT,
            state TEXT NOT NULL CHECK (state IN ('pending', 'done', 'failed')),
            detail TEXT NOT NULL DEFAULT '{{}}',
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            UNIQUE (realm_id, request_id))"""

# The source fingerprint last written, and what a link names: an invoice or a credit memo,
# whose Ids are separate sequences, so a link is unique per kind (SQLite rebuilds the table to
# change its UNIQUE constraint).
SQLITE_MIGRATION = f"""
        CREATE TABLE links4 (
            realm_id TEXT NOT NULL, invoice_number TEXT NOT NULL, qbo_id TEXT NOT NULL,
            doc_number TEXT, origin TEXT NOT NULL, linked_at TEXT NOT NULL, sync_token TEXT,
            total TEXT, currency TEXT, marker_written INTEGER NOT NULL DEFAULT 0,
            last_state TEXT, last_balance TEXT, last_checked_at TEXT, fingerprint TEXT,
            kind TEXT NOT NULL DEFAULT 'invoice',
            PRIMARY KEY (realm_id, invoice_number), UNIQUE (realm_id, kind, qbo_id)
        );
        INSERT INTO links4 SELECT *, NULL, 'invoice' FROM links;
        DROP TABLE links;
        ALTER TABLE links4 RENAME TO links;
        CREATE TABLE {_JOURNAL.format(id="INTEGER PRIMARY KEY")};
"""
POSTGRES_MIGRATION = [
    "ALTER TABLE links ADD COLUMN fingerprint TEXT",
    "ALTER TABLE links ADD COLUMN kind TEXT NOT NULL DEFAULT 'invoice'",
    "ALTER TABLE links DROP CONSTRAINT links_realm_id_qbo_id_key",
    "ALTER TABLE links ADD UNIQUE (realm_id, kind, qbo_id)",
    "CREATE TABLE " + _JOURNAL.format(id="BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"),
]


@dataclass(frozen=True)
class LifecycleEntry:
    """An edit, void or credit application, journaled before it is sent: to the document
    `remote_id` of kind `doc_kind` (for `apply`, the credit memo; the invoice is in `detail`)."""

    account: str
    invoice_number: str
    action: str  # update | void | apply
    request_id: str
    remote_id: str
    base_token: str | None
    fingerprint: str | None
    state: str = "pending"
    detail: dict[str, Any] = field(default_factory=dict)
    doc_kind: DocKind = field(kw_only=True)

    @property
    def ref(self) -> DocRef:
        return DocRef(self.doc_kind, self.remote_id)


Written = tuple[str | None, Decimal | None, str | None]  # SyncToken, total, fingerprint


@dataclass(frozen=True)
class Closing:
    """What a landed edit, void or credit application records: `detail` joins the entry's, and
    `written` (SyncToken, total, fingerprint) moves the link to what was written."""

    detail: dict[str, Any]
    written: Written | None = None


def _entry(r: Sequence[Any]) -> LifecycleEntry:
    state, detail, kind = r[7], json.loads(r[8]), DocKind(r[9])
    return LifecycleEntry(r[0], r[1], r[2], r[3], r[4], r[5], r[6], state, detail, doc_kind=kind)


LIFECYCLE = Table[LifecycleEntry](
    name="lifecycle_journal",
    intent=(
        "account",
        "invoice_number",
        "action",
        "request_id",
        "remote_id",
        "doc_kind",
        "base_token",
        "fingerprint",
        "detail",
    ),
    values=lambda e: (
        e.account,
        e.invoice_number,
        e.action,
        e.request_id,
        e.remote_id,
        e.doc_kind.value,
        e.base_token,
        e.fingerprint,
        json.dumps(e.detail, default=str, sort_keys=True),
    ),
    columns="account, invoice_number, action, request_id, remote_id, base_token, fingerprint, "
    "state, detail, doc_kind",
    entry=_entry,
    reopen="state = 'pending', updated_at = excluded.updated_at",
)


class LifecycleJournal:
    """The journal of edits, voids and credit applications (a component of `SqlStore`)."""

    def __init__(self, sql: Sql) -> None:
        self.sql, self.rows = sql, SqlJournal(sql, LIFECYCLE)

    def intend(self, *entries: LifecycleEntry) -> None:
        """In one commit: a batch of 30 updates costs one synchronous commit, not 30."""
        self.rows.intend(entries)

    def done(self, entry: LifecycleEntry, result: Closing) -> None:
        self.close(entry, "done", result.detail, result.written)

    def failed(self, entry: LifecycleEntry, error: str) -> None:
        self.close(entry, "failed", {"error": error})

    def open(self, account: str) -> list[LifecycleEntry]:
        return self.rows.entries(account, state="pending")

    def entries(self, account: str, action: str | None = None) -> list[LifecycleEntry]:
        return self.rows.entries(account, action=action)

    def close(
        self,
        e: LifecycleEntry,
        state: str,
        detail: dict[str, Any],
        written: Written | None = None,
    ) -> None:
        """Close an entry (done or failed) and, for a write that landed, move the link's
        SyncToken, total and fingerprint to what was written, in one transaction."""
        merged = json.dumps({**e.detail, **detail}, default=str, sort_keys=True)
        with self.sql.transaction():
            values = {"detail": merged}
            self.rows.close(e.account, e.request_id, state, values, pending_only=False)
            if written is not None:
                token, total, fingerprint = written
                self.sql._exec(
                    "UPDATE links SET version = ?, total = ?, fingerprint = ? "
                    "WHERE account = ? AND invoice_number = ?",
                    (
                        token,
                        None if total is None else str(total),
                        fingerprint,
                        e.account,
                        e.invoice_number,
                    ),
                )
            named = {"remote_id": e.remote_id, "kind": e.doc_kind.value, "request_id": e.request_id}
            named |= detail
            self.sql._event(e.account, e.invoice_number, f"{e.action} {state}", named)
            credited = e.detail.get("invoice")
            if e.action == "apply" and state == "done" and isinstance(credited, str):
                # The invoice's own history tells it was credited, and by which note.
                by = {**named, "credit_note": e.invoice_number}
                self.sql._event(e.account, credited, "credited", by)
