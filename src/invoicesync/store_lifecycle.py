"""The lifecycle journal (issue 17): edits, voids and credit applications, journaled before
each is sent, closed together with the link's new SyncToken, total and fingerprint.

Kept beside `store.py` (whose `MIGRATIONS` list carries `M003_LIFECYCLE`) so the store stays
small; every function is one transaction on the store's connection.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from invoicesync.store import Store

# The source fingerprint last written and what a link names (an invoice or a credit memo:
# QuickBooks keeps their Ids apart, so a link is unique per kind), and the lifecycle journal.
M003_LIFECYCLE = """
        CREATE TABLE links3 (
            realm_id TEXT NOT NULL, invoice_number TEXT NOT NULL, qbo_id TEXT NOT NULL,
            doc_number TEXT, origin TEXT NOT NULL, linked_at TEXT NOT NULL, sync_token TEXT,
            total TEXT, currency TEXT, marker_written INTEGER NOT NULL DEFAULT 0,
            last_state TEXT, last_balance TEXT, last_checked_at TEXT, fingerprint TEXT,
            kind TEXT NOT NULL DEFAULT 'invoice',
            PRIMARY KEY (realm_id, invoice_number), UNIQUE (realm_id, kind, qbo_id)
        );
        INSERT INTO links3 SELECT *, NULL, 'invoice' FROM links;
        DROP TABLE links;
        ALTER TABLE links3 RENAME TO links;
        CREATE TABLE lifecycle_journal (
            id INTEGER PRIMARY KEY,
            realm_id TEXT NOT NULL,
            invoice_number TEXT NOT NULL,
            action TEXT NOT NULL CHECK (action IN ('update', 'void', 'apply')),
            request_id TEXT NOT NULL,
            qbo_id TEXT NOT NULL,
            base_token TEXT,
            fingerprint TEXT,
            state TEXT NOT NULL CHECK (state IN ('pending', 'done', 'failed')),
            detail TEXT NOT NULL DEFAULT '{}',
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            UNIQUE (realm_id, request_id)
        );
"""


@dataclass(frozen=True)
class LifecycleEntry:
    """An edit, void or credit application, journaled before it is sent."""

    realm_id: str
    invoice_number: str
    action: str  # update | void | apply
    request_id: str
    qbo_id: str
    base_token: str | None
    fingerprint: str | None
    state: str = "pending"
    detail: dict[str, Any] = field(default_factory=dict)


def intent(store: Store, e: LifecycleEntry) -> None:
    """Record an intent before it is sent (an existing entry is kept; a failed one reopens)."""
    from invoicesync.store import now_iso

    stamp = now_iso()
    detail = json.dumps(e.detail, default=str, sort_keys=True)
    with store.transaction() as db:
        db.execute(
            "INSERT INTO lifecycle_journal (realm_id, invoice_number, action, request_id, "
            "qbo_id, base_token, fingerprint, state, detail, created_at, updated_at) "
            "VALUES (?,?,?,?,?,?,?,'pending',?,?,?) ON CONFLICT (realm_id, request_id) "
            "DO UPDATE SET state = 'pending', updated_at = excluded.updated_at "
            "WHERE state = 'failed'",
            (
                e.realm_id,
                e.invoice_number,
                e.action,
                e.request_id,
                e.qbo_id,
                e.base_token,
                e.fingerprint,
                detail,
                stamp,
                stamp,
            ),
        )


def entries(store: Store, realm_id: str, action: str | None = None) -> list[LifecycleEntry]:
    rows = store.db.execute(
        "SELECT realm_id, invoice_number, action, request_id, qbo_id, base_token, fingerprint, "
        "state, detail FROM lifecycle_journal WHERE realm_id = ? AND action = coalesce(?, action) "
        "ORDER BY id",
        (realm_id, action),
    ).fetchall()
    return [
        LifecycleEntry(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], json.loads(r[8]))
        for r in rows
    ]


def close(
    store: Store,
    e: LifecycleEntry,
    state: str,
    detail: dict[str, Any],
    written: tuple[str | None, Decimal | None, str | None] | None = None,
) -> None:
    """Close an entry (done or failed) and, for a write that landed, move the link's SyncToken,
    total and fingerprint to what was written, in one transaction."""
    from invoicesync.store import now_iso

    merged = json.dumps({**e.detail, **detail}, default=str, sort_keys=True)
    with store.transaction() as db:
        db.execute(
            "UPDATE lifecycle_journal SET state = ?, detail = ?, updated_at = ? "
            "WHERE realm_id = ? AND request_id = ?",
            (state, merged, now_iso(), e.realm_id, e.request_id),
        )
        if written is not None:
            token, total, fingerprint = written
            db.execute(
                "UPDATE links SET sync_token = ?, total = ?, fingerprint = ? "
                "WHERE realm_id = ? AND invoice_number = ?",
                (
                    token,
                    None if total is None else str(total),
                    fingerprint,
                    e.realm_id,
                    e.invoice_number,
                ),
            )
        store._event(db, e.realm_id, e.invoice_number, f"{e.action} {state}", detail)
