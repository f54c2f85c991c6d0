"""Domain types: what a local invoice is, independent of any file format or of QuickBooks.

Frozen dataclasses, `Decimal` money. QBO field names never appear here; `mapping.py` is the
only bridge between these and the wire format.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
STATUSES = ("draft", "sent", "paid", "cancelled")
PUSHABLE = frozenset({"sent", "paid"})


def round_money(value: Decimal) -> Decimal:
    """Half-up to cents: how QBO rounds Qty × UnitPrice and tax (quickbooks-api.md §3.3)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Customer:
    name: str
    email: str | None = None
    tax_id: str | None = None
    country: str | None = None


@dataclass(frozen=True)
class Line:
    """A priced line: `amount` is always quantity × unit_price rounded half-up."""

    service: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    description: str | None = None
    unit: str | None = None
    tax: str | None = None
    tax_rate: Decimal | None = None
    source_language: str | None = None
    target_language: str | None = None
    service_date: date | None = None


@dataclass(frozen=True)
class Adjustment:
    """An invoice-level discount (negative) or extra charge (positive), billed as a service."""

    description: str
    amount: Decimal
    service: str
    tax: str | None = None
    tax_rate: Decimal | None = None


@dataclass(frozen=True)
class Totals:
    subtotal: Decimal | None = None
    tax: Decimal | None = None
    total: Decimal | None = None


@dataclass(frozen=True)
class SourceRef:
    system: str
    id: str
    url: str | None = None


@dataclass(frozen=True)
class LocalInvoice:
    number: str
    customer: Customer
    issue_date: date
    currency: str
    lines: tuple[Line, ...]
    due_date: date | None = None
    exchange_rate: Decimal | None = None
    payment_terms: str | None = None
    tax_code: str | None = None
    tax_calculation: str = "exclusive"
    status: str = "sent"
    po_number: str | None = None
    note: str | None = None
    adjustments: tuple[Adjustment, ...] = ()
    totals: Totals | None = None
    source: SourceRef | None = None
    origin: str = field(default="", compare=False)  # "file:line", for messages
    attachments: tuple[str, ...] = ()  # file paths, relative to the source file

    @property
    def pushable(self) -> bool:
        return self.status in PUSHABLE

    @property
    def subtotal(self) -> Decimal:
        return sum((ln.amount for ln in self.lines), Decimal("0.00")) + sum(
            (a.amount for a in self.adjustments), Decimal("0.00")
        )

    @property
    def tax(self) -> Decimal | None:
        """Tax from the lines' `tax_rate`s, grouped per rate as QBO computes it; None if no
        line states a rate (the tax is then QuickBooks's to compute)."""
        groups: dict[Decimal, Decimal] = {}
        for rate, amount in [(ln.tax_rate, ln.amount) for ln in self.lines] + [
            (a.tax_rate, a.amount) for a in self.adjustments
        ]:
            if rate is not None:
                groups[rate] = groups.get(rate, Decimal("0.00")) + amount
        if not groups:
            return None
        total = Decimal("0.00")
        for rate, net in groups.items():
            if self.tax_calculation == "inclusive":
                total += net - round_money(net / (1 + rate / 100))
            else:
                total += round_money(net * rate / 100)
        return total

    @property
    def total(self) -> Decimal:
        tax = self.tax or Decimal("0.00")
        return self.subtotal if self.tax_calculation == "inclusive" else self.subtotal + tax


@dataclass(frozen=True)
class Link:
    """A durable link between a local invoice and a QBO invoice (design §4.5)."""

    realm_id: str
    invoice_number: str
    qbo_id: str
    doc_number: str | None
    origin: str  # pushed | linked | rebuilt | adopted
    linked_at: str
    sync_token: str | None
    total: Decimal | None
    currency: str | None
    marker_written: bool = False
    last_state: str | None = None  # what `reconcile` last saw: ok, paid, changed, voided, ...
    last_balance: Decimal | None = None
    last_checked_at: str | None = None


@dataclass(frozen=True)
class Candidate:
    """A QBO invoice that might be a given local invoice, with its score and the reasons."""

    qbo_id: str
    doc_number: str | None
    txn_date: str | None
    customer: str | None
    total: Decimal | None
    balance: Decimal | None
    currency: str | None
    score: int
    reasons: tuple[str, ...]
    linked_to: str | None = None
    has_marker: bool = False
