"""Copies: two QuickBooks records carrying our marker for one source number.

Without a shared state, two machines can create the same invoice at the same instant; the push
checks for that right after its create and keeps the lowest Id (the same rule on every writer,
so they converge). When that check cannot run (an error on that one query), the copy stays
until `reconcile` finds it here. Removing a copy keeps the same rule, never deletes a copy that
was paid, and is a delete at the copy's SyncToken: repeating it is harmless.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from invoicesync.ledger import qbo_errors as qb
from invoicesync.ledger.base import RemoteInvoice
from invoicesync.ledger.qbo_rows import QBORecord, entity_of
from invoicesync.models import DocKind
from invoicesync.qbo import QBOClient
from invoicesync.qbo import errors as qerr
from invoicesync.qbo import query as qq
from invoicesync.qbo.rows import Entity


def id_order(row: RemoteInvoice) -> tuple[int, str]:
    """QuickBooks Ids are numbers in creation order; compare them as numbers."""
    return len(row.id), row.id


def marked(
    client: QBOClient, entity: Entity, customer_ids: Sequence[str], dates: Sequence[str]
) -> dict[str, list[QBORecord]]:
    """Every record carrying a marker among these customers' records of these dates."""
    found: dict[str, list[QBORecord]] = {}
    for id_part in qq.chunks(sorted(set(customer_ids))):
        for date_part in qq.chunks(sorted(set(dates))):
            where = [("CustomerRef", "IN", id_part), ("TxnDate", "IN", date_part)]
            for row in client.query(qq.select(entity, where)):
                view = QBORecord.from_row(row, entity)
                if view.marker:
                    found.setdefault(view.marker, []).append(view)
    return found


def delete(client: QBOClient, remote: RemoteInvoice) -> bool:
    """Delete a copy of ours (never a paid one), through its own entity's endpoint; False if it
    could not be."""
    if (remote.balance or 0) < (remote.total or 0):
        return False  # a payment reached it: a person decides which one stays
    key = remote.ref.key  # credit memo 5 never shares a requestid with invoice 5
    try:
        client.request(
            "POST",
            entity_of(remote.ref.kind).path,
            params={"operation": "delete"},
            body={"Id": remote.id, "SyncToken": remote.sync_token},
            requestid=f"del-{hashlib.sha256(key.encode()).hexdigest()[:24]}",
            kind="update",
        )
    except qerr.NotFoundError:
        return True  # already gone
    except qerr.QBOError:
        return False
    return True


class QuickBooksCopies:
    """Mixed into `QuickBooksLedger`: what `reconcile` asks about copies."""

    client: QBOClient

    def copies(self, kind: DocKind, linked: Sequence[RemoteInvoice]) -> dict[str, list[QBORecord]]:
        """Markers that two or more live (not voided) records carry, among the customers and
        dates of `linked`, each list lowest Id first: the first one is the one that stays."""
        customers = [r.customer_id for r in linked if r.customer_id]
        dates = [r.txn_date for r in linked if r.txn_date]
        if not customers or not dates:
            return {}
        with qb.translating("looking for copies"):
            found = marked(self.client, entity_of(kind), customers, dates)
        out = {}
        for number, rows in found.items():
            live = sorted((r for r in rows if not r.voided), key=id_order)
            if len(live) > 1:
                out[number] = live
        return out

    def remove_copy(self, remote: RemoteInvoice) -> bool:
        return delete(self.client, remote)
