"""QuickBooks as a ledger, for invoices already pushed: edits, voids and credits (issue 17).

A mixin of `QuickBooksLedger`, kept apart so the push half stays small; also where a batch
item's answer is read (`answer`) and a batch's requestid made (`batch_request_id`), which
creates and updates share. As everywhere in the adapter, every QuickBooks error becomes an
`InvoiceSyncError` (`translate`) or a per-invoice `Refusal`, and a write whose outcome is
unknown raises `Uncertain`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from invoicesync.ledger import qbo_lifecycle as lifecycle
from invoicesync.ledger.base import (
    Draft,
    Edit,
    Gone,
    Outcome,
    Refusal,
    RemoteInvoice,
    Unanswered,
    Uncertain,
)
from invoicesync.ledger.qbo_errors import refusal, translate, translating, write
from invoicesync.ledger.qbo_lifecycle import entity_of
from invoicesync.qbo import QBOClient
from invoicesync.qbo import errors as qerr
from invoicesync.qbo import query as qq
from invoicesync.qbo.rows import QBOInvoice


class QuickBooksEdits:
    """Edits, voids and credit applications, for one QuickBooks company."""

    client: QBOClient

    def read_kind(self, remote_id: str, kind: str) -> QBOInvoice:
        return QBOInvoice.from_row(self._row(remote_id, entity_of(kind)))

    def _row(self, remote_id: str, entity: str) -> dict[str, Any]:
        try:
            return self.client.read(entity, remote_id)
        except qerr.NotFoundError:
            raise Gone(remote_id) from None
        except qerr.QBOError as exc:
            raise translate(exc, f"reading QuickBooks {entity} {remote_id}") from None

    def edit(self, draft: Draft, remote_id: str) -> Edit:
        return _edit(draft, self._row(remote_id, entity_of(draft.invoice.type)))

    def edits(self, wanted: Sequence[tuple[Draft, str]]) -> dict[str, Edit]:
        """`edit` for many drafts `(draft, target Id)`, the records read together: `Id IN (…)`,
        up to 1,000 Ids a query, per entity, so 1,000 edits cost one read, not 1,000 (issue 21).
        A record not found (deleted) is absent from the answer."""
        rows: dict[tuple[str, str], dict[str, Any]] = {}
        with translating("reading the linked invoices"):
            for entity in sorted({entity_of(d.invoice.type) for d, _ in wanted}):
                ids = [i for d, i in wanted if entity_of(d.invoice.type) == entity]
                for row in rows_by_id(self.client, entity, ids):
                    rows[(entity, str(row["Id"]))] = row
        found = ((d, rows.get((entity_of(d.invoice.type), i))) for d, i in wanted)
        return {d.number: _edit(d, row) for d, row in found if row is not None}

    def update(self, edits: Sequence[tuple[Edit, str, str]]) -> list[Outcome]:
        """Sparse updates `(edit, kind, request id)`, each at the SyncToken it was decided on,
        so each stands or falls alone; several go in one batch request."""
        if len(edits) == 1:
            edit, kind, rid = edits[0]
            body = lifecycle.sparse(edit.remote.id, edit.remote.sync_token, edit.fields)
            return [
                write("updating", lambda: lifecycle.update(self.client, entity_of(kind), body, rid))
            ]
        items = [
            {
                "bId": str(i + 1),
                "operation": "update",
                entity_of(k): lifecycle.sparse(e.remote.id, e.remote.sync_token, e.fields),
            }
            for i, (e, k, _) in enumerate(edits)
        ]
        try:
            answers = self.client.batch(items, requestid=batch_request_id([r for *_, r in edits]))
        except (qerr.QBOConnectionError, qerr.ServerError) as exc:
            raise Uncertain(str(exc)) from None
        except qerr.QBOError as exc:
            raise translate(exc, "updating") from None
        return [answer(a, entity_of(k)) for a, (_, k, _) in zip(answers, edits, strict=True)]

    def void(self, remote: RemoteInvoice, reason: str, request_id: str) -> QBOInvoice | Refusal:
        row = self._row(remote.id, "Invoice")
        return write("voiding", lambda: lifecycle.void(self.client, row, reason, request_id))

    def apply_credit(
        self, invoice: RemoteInvoice, credit: RemoteInvoice, amount: Decimal, request_id: str
    ) -> str | Refusal:
        args = (self.client, str(invoice.customer_id), invoice.id, credit.id, amount, request_id)
        done = write("applying a credit", lambda: lifecycle.apply_credit(*args))
        return done if isinstance(done, Refusal) else done.id


def rows_by_id(client: QBOClient, entity: str, ids: Sequence[str]) -> list[dict[str, Any]]:
    """Rows of `entity` by Id: `Id IN (…)`, 1,000 Ids a query. Ids are unique, so each query has
    at most one page of rows and needs no empty follow-up after a full one (issue 21)."""
    rows: list[dict[str, Any]] = []
    for part in qq.chunks(ids):
        rows += client.query_page(qq.page(qq.select(entity, [("Id", "IN", part)]), 1))
    return rows


def _edit(draft: Draft, row: dict[str, Any]) -> Edit:
    fields, changes = lifecycle.difference(draft.payload, row)
    return Edit(QBOInvoice.from_row(row), fields, tuple(changes))


def answer(item: Mapping[str, Any], entity: str) -> QBOInvoice | Refusal | Unanswered:
    """One batch item's answer: the row, QuickBooks' refusal, or no verdict. Only a business
    refusal says nothing was written; a throttle or a server fault inside a batch, or no
    answer at all, leaves the outcome open."""
    if entity in item:
        return QBOInvoice.from_row(item[entity])
    ftype, errs = qerr.fault_errors(item)
    if not errs:
        return Unanswered(f"QuickBooks gave no answer for this {entity}")
    error = qerr.error_from_fault(ftype, errs, status=400, intuit_tid=None)
    return refusal(error) if error.definitive else Unanswered(str(error))


def batch_request_id(item_ids: Sequence[str]) -> str:
    """A batch's requestid from its items' ids: a retry of the same batch is replayed."""
    return hashlib.sha256("\x1f".join(item_ids).encode()).hexdigest()[:32]
