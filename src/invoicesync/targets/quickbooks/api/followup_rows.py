"""Typed read views of what comes after the push: an invoice's delivery and payment state,
Payments and Attachables (Intuit's Payment and Attachable references; the URI shapes:
https://developer.intuit.com/app/developer/qbo/docs/learn/rest-api-features
). Pure, like `rows.py`: every field the use cases read is taken out here, once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from invoicesync.targets.quickbooks.api.rows import Entity, QBOInvoice


def _ref(row: Mapping[str, Any], key: str, part: str = "value") -> str | None:
    ref = row.get(key)
    if isinstance(ref, Mapping) and ref.get(part) is not None:
        return str(ref[part])
    return None


def _linked(row: Mapping[str, Any], txn_type: str) -> tuple[str, ...]:
    """Ids of the `LinkedTxn` entries of one type (`[{"TxnId": "147", "TxnType": "Payment"}]`)."""
    out: list[str] = []
    for entry in row.get("LinkedTxn") or ():
        if isinstance(entry, Mapping) and entry.get("TxnType") == txn_type and entry.get("TxnId"):
            out.append(str(entry["TxnId"]))
    return tuple(dict.fromkeys(out))


@dataclass(frozen=True)
class QBOBilling:
    """An invoice or credit memo with what `send` and `payments` read: e-mail status, last
    delivery, the billing address, the payments linked to it."""

    invoice: QBOInvoice
    email_status: str | None
    delivered_at: str | None  # DeliveryInfo.DeliveryTime of the last e-mail
    bill_email: str | None
    payment_ids: tuple[str, ...]

    @classmethod
    def from_row(cls, row: Mapping[str, Any], entity: Entity) -> QBOBilling:
        delivery = row.get("DeliveryInfo")
        when = delivery.get("DeliveryTime") if isinstance(delivery, Mapping) else None
        status = row.get("EmailStatus")
        return cls(
            invoice=QBOInvoice.from_row(row, entity),
            email_status=None if status is None else str(status),
            delivered_at=None if when is None else str(when),
            bill_email=_ref(row, "BillEmail", "Address"),
            payment_ids=_linked(row, "Payment"),
        )

    @property
    def id(self) -> str:
        return self.invoice.id

    @property
    def sent(self) -> bool:
        return self.email_status == "EmailSent"

    @property
    def updated_at(self) -> str | None:
        return self.invoice.updated_at


Credits = tuple[tuple[str, Decimal], ...]  # (credit memo id, amount) applied to one invoice


@dataclass(frozen=True)
class QBOPayment:
    """A Payment: its own fields, and what each line applies to which invoice.

    A Payment's lines link invoices (what it settles of each) and credit memos (what it uses
    of each); `TotalAmt` is the money received: invoices − credit memos (Intuit's Payment
    reference; docs/sandbox.md "Payments"). A payment of `TotalAmt` 0 linking an invoice and a
    credit memo is how a credit is applied, and no money arrived. QuickBooks does not say which
    invoice a credit went to when one payment settles several invoices and uses a credit; the
    credit is counted against the invoices in the order of the lines, so the money per invoice
    always adds up to what was received.
    """

    id: str
    date: str | None
    total: Decimal | None
    method: str | None
    reference: str | None
    applied: tuple[tuple[str, Decimal], ...]  # (invoice id, amount) per line: money and credit
    credits: tuple[tuple[str, Decimal], ...] = ()  # (credit memo id, amount) per line
    # (invoice id, money, credits used) per invoice line, credits counted in line order
    allocation: tuple[tuple[str, Decimal, Credits], ...] = ()

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> QBOPayment:
        applied: list[tuple[str, Decimal]] = []
        credits: list[tuple[str, Decimal]] = []
        for line in row.get("Line") or ():
            if not isinstance(line, Mapping) or line.get("Amount") is None:
                continue
            amount = Decimal(str(line["Amount"]))
            applied += [(i, amount) for i in _linked(line, "Invoice")]
            credits += [(c, amount) for c in _linked(line, "CreditMemo")]
        total = row.get("TotalAmt")
        date, ref = row.get("TxnDate"), row.get("PaymentRefNum")
        return cls(
            id=str(row["Id"]),
            date=None if date is None else str(date),
            total=None if total is None else Decimal(str(total)),
            method=_ref(row, "PaymentMethodRef", "name") or _ref(row, "PaymentMethodRef"),
            reference=None if ref is None else str(ref),
            applied=tuple(applied),
            credits=tuple(credits),
            allocation=_allocate(applied, credits),
        )

    def amount_for(self, invoice_id: str) -> Decimal:
        """The money this payment brought to one invoice (a payment can cover several); a
        credit it applied is not money (`credits_for`)."""
        return sum((m for i, m, _ in self.allocation if i == invoice_id), Decimal("0.00"))

    def credits_for(self, invoice_id: str) -> Credits:
        """The credit memos this payment applied to one invoice, with the amount of each."""
        return tuple(c for i, _, used in self.allocation if i == invoice_id for c in used)

    def applied_from(self, credit_id: str) -> tuple[tuple[str, Decimal], ...]:
        """Where this payment applied one credit memo's credit: (invoice id, amount)."""
        return tuple(
            (i, amount) for i, _, used in self.allocation for c, amount in used if c == credit_id
        )


def _allocate(
    invoices: list[tuple[str, Decimal]], credits: list[tuple[str, Decimal]]
) -> tuple[tuple[str, Decimal, Credits], ...]:
    """Each invoice line split into money and the credits it used, credits taken in order."""
    pool = list(credits)
    out: list[tuple[str, Decimal, Credits]] = []
    for invoice_id, amount in invoices:
        left, used = amount, []
        while left > 0 and pool:
            credit_id, available = pool[0]
            take = min(left, available)
            used.append((credit_id, take))
            left -= take
            pool[0] = (credit_id, available - take)
            if pool[0][1] <= 0:
                pool.pop(0)
        out.append((invoice_id, left, tuple(used)))
    return tuple(out)


@dataclass(frozen=True)
class QBOAttachable:
    """An Attachable: a file attached to a transaction."""

    id: str
    file_name: str | None
    size: int | None
    note: str | None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> QBOAttachable:
        size, name, note = row.get("Size"), row.get("FileName"), row.get("Note")
        return cls(
            id=str(row["Id"]),
            file_name=None if name is None else str(name),
            size=None if size is None else int(Decimal(str(size))),
            note=None if note is None else str(note),
        )
