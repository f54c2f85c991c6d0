"""QuickBooks documents as the use cases see them: a `QBOInvoice` that knows its `DocRef`.

The client layer names a document by its QuickBooks entity (`qbo.rows.Entity`), the use cases
by its kind (`models.DocKind`); this is the one place the two meet, so every request the
adapter sends for a document takes its path from the document's kind.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from invoicesync.errors import InvoiceSyncError
from invoicesync.models import DocKind, DocRef
from invoicesync.targets.quickbooks.api.followup_rows import QBOBilling
from invoicesync.targets.quickbooks.api.rows import Entity, QBOInvoice

KINDS = {Entity.INVOICE: DocKind.INVOICE, Entity.CREDIT_MEMO: DocKind.CREDIT_MEMO}
ENTITIES = {kind: entity for entity, kind in KINDS.items()}


def entity_of(kind: DocKind) -> Entity:
    """The QuickBooks entity that holds documents of this kind; an unknown kind is refused
    here, so no request can go to a guessed endpoint."""
    entity = ENTITIES.get(kind)
    if entity is None:
        raise InvoiceSyncError(
            f"invoicesync does not know whether QuickBooks document {kind} is an invoice or a "
            "credit memo; nothing was sent"
        )
    return entity


@dataclass(frozen=True)
class QBORecord(QBOInvoice):
    """An Invoice or CreditMemo read from QuickBooks, with the reference that addresses it."""

    @property
    def ref(self) -> DocRef:
        return DocRef(KINDS[self.entity], self.id)

    @property
    def version(self) -> str | None:
        """The record's version as the seam names it: QuickBooks' SyncToken."""
        return self.sync_token


@dataclass(frozen=True)
class QBOBilled(QBOBilling):
    """A document's billing state whose document is a `QBORecord` (its ref and version)."""

    invoice: QBORecord

    @classmethod
    def from_row(cls, row: Mapping[str, Any], entity: Entity) -> QBOBilled:
        view = QBOBilling.from_row(row, entity)
        record = QBORecord.from_row(row, entity)
        return cls(record, view.email_status, view.delivered_at, view.bill_email, view.payment_ids)
