"""Sends and attachments in the state database (the `followups` table, migration 3 in
`store.py`), journalled like a push: an intent row with its requestid is committed before the
request, its outcome after. `kind` is 'send' (target: the address asked for; result_to: where it
went; result_at: QuickBooks' DeliveryTime) or 'attach' (target: the file name; content_hash and
size identify the content; result_id: the Attachable).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from invoicesync.store import Store, now_iso


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


_FOLLOWUP_COLUMNS = (
    "realm_id, kind, invoice_number, qbo_id, request_id, state, target, content_hash, size, "
    "result_id, result_to, result_at, error, updated_at"
)


def followups(store: Store, realm_id: str, kind: str, number: str | None = None) -> list[FollowUp]:
    """Sends or attachments of the company (or of one invoice), oldest first."""
    sql = f"SELECT {_FOLLOWUP_COLUMNS} FROM followups WHERE realm_id = ? AND kind = ?"
    args: tuple[Any, ...] = (realm_id, kind)
    if number is not None:
        sql += " AND invoice_number = ?"
        args += (number,)
    return [FollowUp(*row) for row in store.db.execute(sql + " ORDER BY id", args).fetchall()]


def followup_intent(store: Store, entry: FollowUp) -> None:
    """Commit the intent before the request; an existing intent is kept as it is."""
    stamp = now_iso()
    with store.transaction() as db:
        db.execute(
            "INSERT INTO followups (realm_id, kind, invoice_number, qbo_id, request_id, state, "
            "target, content_hash, size, created_at, updated_at) "
            "VALUES (?,?,?,?,?,'pending',?,?,?,?,?) ON CONFLICT (realm_id, request_id) DO NOTHING",
            (
                entry.realm_id,
                entry.kind,
                entry.invoice_number,
                entry.qbo_id,
                entry.request_id,
                entry.target,
                entry.content_hash,
                entry.size,
                stamp,
                stamp,
            ),
        )


def followup_outcome(
    store: Store,
    entry: FollowUp,
    *,
    error: str | None = None,
    result_id: str | None = None,
    result_to: str | None = None,
    result_at: str | None = None,
) -> None:
    """Close a pending intent as done (with what QuickBooks answered) or failed (`error`)."""
    state = "failed" if error is not None else "done"
    with store.transaction() as db:
        db.execute(
            "UPDATE followups SET state = ?, error = ?, result_id = ?, result_to = ?, "
            "result_at = ?, updated_at = ? WHERE realm_id = ? AND request_id = ? "
            "AND state = 'pending'",
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
        )
        if state == "done":
            detail = {"qbo_id": entry.qbo_id, "target": entry.target, "to": result_to}
            store._event(db, entry.realm_id, entry.invoice_number, f"{entry.kind}-done", detail)


def advance_sync_token(
    store: Store, realm_id: str, number: str, qbo_id: str, new_token: str | None
) -> None:
    """Our own send bumped the invoice's SyncToken: move the link's along, so `reconcile` does
    not report the invoice as edited. Only from the token just before, so an edit someone made
    in between is still reported."""
    if new_token is None or not new_token.isdigit() or new_token == "0":
        return
    with store.transaction() as db:
        db.execute(
            "UPDATE links SET sync_token = ? WHERE realm_id = ? AND invoice_number = ? "
            "AND qbo_id = ? AND sync_token = ?",
            (new_token, realm_id, number, qbo_id, str(int(new_token) - 1)),
        )
