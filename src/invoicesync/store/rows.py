"""How a link is laid out in a row: the same columns, in the same order, in both backends."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from invoicesync.models import DocKind, Link
from invoicesync.store.deliveries import delivery_from_columns

INSERT_COLUMNS = (
    "account, invoice_number, remote_id, doc_number, origin, linked_at, version, total, "
    "currency, marker_written, fingerprint, kind"
)
LINK_COLUMNS = (
    INSERT_COLUMNS
    + ", last_state, last_balance, last_checked_at"
    + ", last_delivery, last_delivery_reason, last_registrations"
)


def link_from_row(row: Sequence[Any]) -> Link:
    return Link(
        account=row[0],
        invoice_number=row[1],
        remote_id=row[2],
        doc_number=row[3],
        origin=row[4],
        linked_at=row[5],
        version=row[6],
        total=Decimal(row[7]) if row[7] is not None else None,
        currency=row[8],
        marker_written=bool(row[9]),
        fingerprint=row[10],
        kind=DocKind(row[11]),
        last_state=row[12],
        last_balance=Decimal(row[13]) if row[13] is not None else None,
        last_checked_at=row[14],
        last_delivery=delivery_from_columns(row[15], row[16], row[17]),
    )
