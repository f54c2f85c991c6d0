"""Domain types: what a local invoice is, independent of any file format or of QuickBooks.

Frozen dataclasses, `Decimal` money. QBO field names never appear here; `mapping.py` is the
only bridge between these and the wire format.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, fields
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any

CENT = Decimal("0.01")
STATUSES = ("draft", "sent", "paid", "cancelled")
PUSHABLE = frozenset({"sent", "paid"})
INVOICE_TYPES = ("invoice", "credit_note")
# EN 16931 VAT category codes (UNCL5305 as used by Peppol BIS 3): a line's `tax` that is one of
# these is a category for e-invoicing targets; any other `tax` is a QuickBooks tax code name.
VAT_CATEGORIES = frozenset({"S", "Z", "E", "AE", "K", "G", "O", "L", "M"})


# ISO 4217 currencies whose minor unit is not 2 digits; every other code has 2.
_ZERO_DECIMAL = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
_THREE_DECIMAL = "BHD IQD JOD KWD LYD OMR TND"
_MINOR_UNITS = {
    **dict.fromkeys(_ZERO_DECIMAL.split(), 0),
    **dict.fromkeys(_THREE_DECIMAL.split(), 3),
    "CLF": 4,
    "UYW": 4,
}


def minor_units(currency: str | None) -> int:
    """The digits after the point of an amount in `currency` (2 when unknown)."""
    return _MINOR_UNITS.get(currency or "", 2)


def round_money(value: Decimal) -> Decimal:
    """Half-up to cents: how QBO rounds Qty × UnitPrice and tax (error 6070 when Amount is not
    Qty × UnitPrice: https://insighthk.com/service/quickbooksrepair/IPP-Error-Codes.html)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class Customer:
    name: str
    email: str | None = None
    tax_id: str | None = None
    country: str | None = None


@dataclass(frozen=True, slots=True)
class Tax:
    """One of several taxes on a line (`Line.taxes`): a category (an EN 16931 VAT category for
    e-invoicing targets), a percent (negative for a withholding such as Spain's IRPF) and the
    name the document shows (IVA, IRPF, TVA; free text, it changes no amount)."""

    category: str
    rate: Decimal
    name: str | None = None

    @property
    def withholding(self) -> bool:
        return self.rate < 0


@dataclass(frozen=True, slots=True)
class Line:
    """A priced line: `amount` is always quantity × unit_price rounded half-up. Its tax is
    either `tax` + `tax_rate` (one tax) or `taxes` (several, e.g. IVA and an IRPF withholding);
    never both (the source refuses that)."""

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
    taxes: tuple[Tax, ...] = ()  # empty for the one-tax shorthand: old fingerprints stay

    @property
    def vat_category(self) -> str | None:
        """The EN 16931 VAT category when `tax` is one (S, Z, E, AE, K, G, O, L, M)."""
        return self.tax if self.tax in VAT_CATEGORIES else None

    @property
    def rates(self) -> tuple[Decimal, ...]:
        """Every percent charged on this line (none when the tax is QuickBooks's to compute)."""
        if self.taxes:
            return tuple(t.rate for t in self.taxes)
        return () if self.tax_rate is None else (self.tax_rate,)


@dataclass(frozen=True, slots=True)
class Adjustment:
    """An invoice-level discount (negative) or extra charge (positive), billed as a service."""

    description: str
    amount: Decimal
    service: str
    tax: str | None = None
    tax_rate: Decimal | None = None

    @property
    def vat_category(self) -> str | None:
        return self.tax if self.tax in VAT_CATEGORIES else None


@dataclass(frozen=True, slots=True)
class Totals:
    subtotal: Decimal | None = None
    tax: Decimal | None = None
    total: Decimal | None = None


@dataclass(frozen=True, slots=True)
class SourceRef:
    system: str
    id: str
    url: str | None = None


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file to attach to the invoice in the books, checked when the source was read.

    `name` is the path as written in the source (relative to the source file's folder); the
    SHA-256 identifies this version of the file, so a changed file is a new attachment."""

    name: str
    path: Path = field(compare=False)
    size: int
    content_type: str
    sha256: str


@dataclass(frozen=True, slots=True)
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
    type: str = "invoice"  # or "credit_note"
    credit_for: str | None = None  # credit notes: the number of the invoice credited
    attachments: tuple[Attachment, ...] = ()

    @property
    def pushable(self) -> bool:
        return self.status in PUSHABLE

    @property
    def is_credit_note(self) -> bool:
        return self.type == "credit_note"

    def fingerprint(self) -> str:
        """A SHA-256 (hex) of what would be sent for this invoice, to notice "changed since
        last written". Independent of key order and of how numbers were written (`1.0` and
        `1.00` hash alike); `status`, `totals` (checks only) and `origin` are left out, and so
        is any field that is empty, so a field added to the format later changes no old hash."""
        content = _plain(self, skip={"status", "totals", "origin"})
        data = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(data.encode("utf-8")).hexdigest()

    @property
    def subtotal(self) -> Decimal:
        return sum((ln.amount for ln in self.lines), Decimal("0.00")) + sum(
            (a.amount for a in self.adjustments), Decimal("0.00")
        )

    @property
    def tax(self) -> Decimal | None:
        """Tax from the lines' rates (every tax of a line with several), grouped per rate as
        QBO computes it; None if no line states a rate (the tax is then QuickBooks's)."""
        groups: dict[Decimal, Decimal] = {}
        pairs = [(rate, ln.amount) for ln in self.lines for rate in ln.rates]
        for rate, amount in pairs + [(a.tax_rate, a.amount) for a in self.adjustments]:
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


def _plain(value: Any, skip: frozenset[str] | set[str] = frozenset()) -> Any:
    """JSON-able canonical form for fingerprints: Decimals normalised (`1.50` -> "1.5"), dates
    ISO, None and empty members dropped, attachments by name and content hash only."""
    if value is None or type(value) in _AS_IS:  # most members: answered before the checks
        return value
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value else "0"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Attachment):
        return {"name": value.name, "sha256": value.sha256}
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "__dataclass_fields__"):
        out = {}
        for name in field_names(type(value)):
            if name in skip:
                continue
            item = getattr(value, name)
            if item is None:
                continue  # most optional fields: no call at all (a third of the cost)
            kind = type(item)
            if kind is Decimal:  # most other fields: amounts, quantities, rates
                item = format(item.normalize(), "f") if item else "0"
            elif kind not in _AS_IS:
                item = _plain(item)
                if item is None or item == []:
                    continue
            if item != "":
                out[name] = item
        return out
    return value


def members(value: Any) -> list[tuple[str, Any]]:
    """A model's fields and their values, in declaration order (models have slots: no
    `vars()`; slots save 50 MB over 100,000 invoices and their links)."""
    return [(name, getattr(value, name)) for name in field_names(type(value))]


_AS_IS = frozenset({str, int, bool})
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def field_names(kind: type) -> tuple[str, ...]:
    """A dataclass's field names, looked up once per class (`fields()` per value costs a quarter
    of a fingerprint's time; `invoices` computes one per linked invoice)."""
    names = _FIELD_NAMES.get(kind)
    if names is None:
        names = _FIELD_NAMES[kind] = tuple(f.name for f in fields(kind))
    return names


class DocKind(StrEnum):
    """What kind of document a remote id names. Invoices and credit memos are numbered apart
    (QuickBooks' Invoice 1 and CreditMemo 1 are two documents), so an id alone names nothing:
    every stored or passed reference to a remote document carries its kind (`DocRef`).

    The values are the ones stored since links recorded a kind (a `LocalInvoice.type`), and
    the ones `--json` prints. `UNKNOWN` is a reference stored before kinds were recorded that
    no journal could settle: it is resolved by reading the target, or refused, never guessed."""

    INVOICE = "invoice"
    CREDIT_MEMO = "credit_note"  # QuickBooks' CreditMemo, from a source credit note
    UNKNOWN = "unknown"

    @classmethod
    def of(cls, invoice: LocalInvoice) -> DocKind:
        """The kind of document a source record becomes in the target."""
        return cls.CREDIT_MEMO if invoice.is_credit_note else cls.INVOICE

    @property
    def label(self) -> str:
        """How messages name it: "invoice", "credit memo"."""
        return _LABELS[self]


_LABELS = {
    DocKind.INVOICE: "invoice",
    DocKind.CREDIT_MEMO: "credit memo",
    DocKind.UNKNOWN: "document of unknown kind",
}


@dataclass(frozen=True, slots=True)
class DocRef:
    """One remote document: its kind and its id, which only together name it."""

    kind: DocKind
    remote_id: str

    def __str__(self) -> str:
        return f"{self.kind.label} {self.remote_id}"

    @property
    def key(self) -> str:
        """The document in request-id keys. An invoice's is its id alone, as before kinds were
        recorded, so a send or upload an earlier version left pending resumes as a replay;
        any other kind's carries the kind, so it never shares a requestid with the invoice of
        the same Id (QuickBooks would answer it with the replay of the invoice's request)."""
        if self.kind is DocKind.INVOICE:
            return self.remote_id
        return f"{self.kind}:{self.remote_id}"


@dataclass(frozen=True, slots=True)
class Registration:
    """One submission to a tax authority: `kind` (Verifactu, TicketBai...), its state
    (processing, registered, registered_with_errors, error, annulled) and what was said."""

    kind: str
    state: str
    reason: str | None = None
    report_id: str | None = None  # the network's id of the submission, where it has one

    @property
    def final(self) -> bool:
        """Settled: only `processing` (and a report we could not read) may still change."""
        return self.report_id is not None and self.state not in ("processing", "missing")


@dataclass(frozen=True, slots=True)
class Delivery:
    """What an e-invoicing network last said of a linked document (seen by `reconcile`):
    its delivery state, the network's reason, and its tax-authority registrations. Kept on
    the link so `invoices` and `status` can show it without asking the network again."""

    state: str
    reason: str | None = None
    registrations: tuple[Registration, ...] = ()


@dataclass(frozen=True, slots=True)
class Link:
    """A durable link between a local invoice and a remote document (docs/architecture.md)."""

    account: str
    invoice_number: str
    remote_id: str
    doc_number: str | None
    origin: str  # pushed | linked | rebuilt | adopted
    linked_at: str
    version: str | None
    total: Decimal | None
    currency: str | None
    marker_written: bool = False
    last_state: str | None = None  # what `reconcile` last saw: ok, paid, changed, voided, ...
    last_balance: Decimal | None = None
    last_checked_at: str | None = None
    fingerprint: str | None = None  # the source content last written (`LocalInvoice.fingerprint`)
    last_delivery: Delivery | None = None  # an e-invoicing network's, at the last reconcile
    kind: DocKind = field(kw_only=True)  # which kind of document `remote_id` names

    @property
    def ref(self) -> DocRef:
        return DocRef(self.kind, self.remote_id)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A remote document that might be a given local invoice, with its score and the reasons."""

    kind: DocKind
    remote_id: str
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
