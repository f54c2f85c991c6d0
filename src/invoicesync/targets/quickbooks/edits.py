"""QuickBooks as a ledger, for invoices already pushed: edits, voids and credits.

A component of `QuickBooksLedger`, kept apart so the push half stays small; also where a batch
item's answer is read (`answer`) and a batch's requestid made (`batch_request_id`), which
creates and updates share. As everywhere in the adapter, every QuickBooks error becomes an
`InvoiceSyncError` (`translate`) or a per-invoice `Refusal`, and a write whose outcome is
unknown raises `Uncertain`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

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
from invoicesync.models import DocKind, DocRef
from invoicesync.targets.quickbooks import lifecycle
from invoicesync.targets.quickbooks.api import QBOClient
from invoicesync.targets.quickbooks.api import errors as qerr
from invoicesync.targets.quickbooks.api import query as qq
from invoicesync.targets.quickbooks.api.rows import Entity
from invoicesync.targets.quickbooks.errors import refusal, translate, translating, write
from invoicesync.targets.quickbooks.records import QBORecord, entity_of


class QuickBooksEdits:
    """Edits, voids and credit applications, for one QuickBooks company: a component the
    ledger holds and delegates `Edits`, `Voids` and `AppliesCredit` to."""

    def __init__(self, client: QBOClient) -> None:
        self.client = client

    def _row(self, ref: DocRef) -> dict[str, Any]:
        try:
            return self.client.read(entity_of(ref.kind), ref.remote_id)
        except qerr.NotFoundError:
            raise Gone(ref) from None
        except qerr.QBOError as exc:
            raise translate(exc, f"reading QuickBooks {ref}") from None

    def edit(self, draft: Draft, ref: DocRef) -> Edit:
        return _edit(draft, self._row(ref), entity_of(ref.kind))

    def edits(self, wanted: Sequence[tuple[Draft, DocRef]]) -> dict[str, Edit]:
        """`edit` for many drafts `(draft, target)`, the records read together: `Id IN (…)`,
        up to 1,000 Ids a query, per entity, so 1,000 edits cost one read, not 1,000.
        A record not found (deleted) is absent from the answer."""
        rows: dict[DocRef, dict[str, Any]] = {}
        with translating("reading the linked invoices"):
            for kind in sorted({ref.kind for _, ref in wanted}):
                ids = [ref.remote_id for _, ref in wanted if ref.kind == kind]
                for row in rows_by_id(self.client, entity_of(kind), ids):
                    rows[DocRef(kind, str(row["Id"]))] = row
        found = ((d, ref, rows.get(ref)) for d, ref in wanted)
        return {
            d.number: _edit(d, row, entity_of(ref.kind)) for d, ref, row in found if row is not None
        }

    def update(self, edits: Sequence[tuple[Edit, str]]) -> list[Outcome]:
        """Sparse updates `(edit, request id)`, each to the document its edit was read from, at
        the SyncToken it was decided on, so each stands or falls alone; several go in one
        batch request."""
        if len(edits) == 1:
            edit, rid = edits[0]
            entity = entity_of(edit.remote.ref.kind)
            body = lifecycle.sparse(edit.remote.id, edit.remote.version, edit.fields)
            action = lambda: lifecycle.update(self.client, entity, body, rid)  # noqa: E731
            return [_written("updating", action, entity)]
        entities = [entity_of(e.remote.ref.kind) for e, _ in edits]
        items = [
            {
                "bId": str(i + 1),
                "operation": "update",
                entity: lifecycle.sparse(e.remote.id, e.remote.version, e.fields),
            }
            for i, ((e, _), entity) in enumerate(zip(edits, entities, strict=True))
        ]
        try:
            answers = self.client.batch(items, requestid=batch_request_id([r for _, r in edits]))
        except (qerr.QBOConnectionError, qerr.ServerError) as exc:
            raise Uncertain(str(exc)) from None
        except qerr.QBOError as exc:
            raise translate(exc, "updating") from None
        return [answer(a, entity) for a, entity in zip(answers, entities, strict=True)]

    def void(self, remote: RemoteInvoice, reason: str, request_id: str) -> QBORecord | Refusal:
        """Void an invoice. QuickBooks' API has no void for a credit memo (Intuit's CreditMemo
        reference: create, read, update, delete, send, PDF), so that is refused, nothing sent."""
        if remote.ref.kind is not DocKind.INVOICE:
            return Refusal(
                f"QuickBooks has no void for a {remote.ref.kind.label} ({remote.ref}); delete "
                "it in QuickBooks, or issue an invoice that reverses it"
            )
        row = self._row(remote.ref)
        action = lambda: lifecycle.void(self.client, row, reason, request_id)  # noqa: E731
        return _written("voiding", action, Entity.INVOICE)

    def apply_credit(
        self, invoice: RemoteInvoice, credit: RemoteInvoice, amount: Decimal, request_id: str
    ) -> str | Refusal:
        if (invoice.ref.kind, credit.ref.kind) != (DocKind.INVOICE, DocKind.CREDIT_MEMO):
            raise TypeError(f"a credit applies a credit memo to an invoice, not {credit.ref}")
        args = (self.client, str(invoice.customer_id), invoice.id, credit.id, amount, request_id)
        done = write("applying a credit", lambda: lifecycle.apply_credit(*args))
        return done if isinstance(done, Refusal) else str(done["Id"])


def rows_by_id(client: QBOClient, entity: str, ids: Sequence[str]) -> list[dict[str, Any]]:
    """Rows of `entity` by Id: `Id IN (…)`, 1,000 Ids a query. Ids are unique, so each query has
    at most one page of rows and needs no empty follow-up after a full one."""
    rows: list[dict[str, Any]] = []
    for part in qq.chunks(ids):
        rows += client.query_page(qq.page(qq.select(entity, [("Id", "IN", part)]), 1))
    return rows


def _written(
    what: str, action: Callable[[], dict[str, Any]], entity: Entity
) -> QBORecord | Refusal:
    """A write of an invoice or credit memo: the row as answered, or the refusal."""
    done = write(what, action)
    return done if isinstance(done, Refusal) else QBORecord.from_row(done, entity)


def _edit(draft: Draft, row: dict[str, Any], entity: Entity) -> Edit:
    fields, changes = lifecycle.difference(draft.payload, row)
    return Edit(QBORecord.from_row(row, entity), fields, tuple(changes))


def answer(item: Mapping[str, Any], entity: Entity) -> QBORecord | Refusal | Unanswered:
    """One batch item's answer: the row, QuickBooks' refusal, or no verdict. Only a business
    refusal says nothing was written; a throttle or a server fault inside a batch, or no
    answer at all, leaves the outcome open."""
    if entity in item:
        return QBORecord.from_row(item[entity], entity)
    ftype, errs = qerr.fault_errors(item)
    if not errs:
        return Unanswered(f"QuickBooks gave no answer for this {entity}")
    error = qerr.error_from_fault(ftype, errs, status=400, intuit_tid=None)
    return refusal(error) if error.definitive else Unanswered(str(error))


def batch_request_id(item_ids: Sequence[str]) -> str:
    """A batch's requestid from its items' ids: a retry of the same batch is replayed."""
    return hashlib.sha256("\x1f".join(item_ids).encode()).hexdigest()[:32]
