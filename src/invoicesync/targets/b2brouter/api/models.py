"""Typed read views of B2BRouter's JSON (API 2026-04-20), and the typed input of a create.

Field names follow the create-invoice reference (https://developer.b2brouter.net/reference/
create-invoice) and the official PHP SDK's examples. Views read only what invoicesync needs and
tolerate fields B2BRouter adds ("New fields in invoice, account ... responses", migration guide
v2026-03-02 -> v2026-04-20). Amounts are Decimal, parsed from the JSON text, never via float.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from invoicesync.targets.b2brouter.api.errors import B2BRouterError

# Issued-invoice delivery states: mark_as reference plus the listing's state filters.
DELIVERY_STATES = (
    "new",
    "issued",
    "sending",
    "sent",
    "error",
    "refused",
    "accepted",
    "registered",
    "allegedly_paid",
    "paid",
    "closed",
)


def _unexpected(what: str) -> B2BRouterError:
    return B2BRouterError(f"B2BRouter sent an unexpected {what}; is the API version right?")


def _dec(value: Any, what: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        raise _unexpected(what)
    try:
        return Decimal(value)
    except InvalidOperation:
        raise _unexpected(what) from None


def _date(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if isinstance(value, str) and value else None
    except ValueError:
        return None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _id(data: Mapping[str, Any], what: str) -> int:
    value = data.get("id")
    if isinstance(value, bool) or not isinstance(value, int):
        raise _unexpected(what)
    return value


def _ids(value: Any) -> tuple[int, ...]:
    items = value if isinstance(value, list) else []
    return tuple(i for i in items if isinstance(i, int) and not isinstance(i, bool) and i > 0)


@dataclass(frozen=True)
class Rounding:
    """The account's calculation settings, which Protemos requires to match the source."""

    method: str
    round_before_sum: bool
    apply_taxes_per_line: bool


@dataclass(frozen=True)
class Account:
    id: int
    name: str
    tin_value: str | None
    country: str | None
    currency: str | None
    rounding: Rounding

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Account:
        return cls(
            id=_id(data, "account"),
            name=str(data.get("name") or ""),
            tin_value=_str(data.get("tin_value")),
            country=_str(data.get("country")),
            currency=_str(data.get("currency")),
            rounding=Rounding(
                method=str(data.get("rounding_method") or "half_up"),
                round_before_sum=bool(data.get("round_before_sum")),
                apply_taxes_per_line=bool(data.get("apply_taxes_per_line")),
            ),
        )


TRANSPORT_FIELD = "transport_type_code"  # how the contact receives invoices (UNVERIFIED name)


@dataclass(frozen=True)
class Contact:
    id: int
    name: str
    tin_value: str | None
    tin_scheme: str | None
    country: str | None
    email: str | None
    # B2BRouter says the contact has no delivery channel: `transport_type_code` present and
    # empty. The field's name is UNVERIFIED (docs/b2brouter.md), so a contact without the
    # field at all is not judged here (the safe side: B2BRouter's /validate still is).
    no_transport: bool = False

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Contact:
        scheme = data.get("tin_scheme")
        return cls(
            id=_id(data, "contact"),
            name=str(data.get("name") or ""),
            tin_value=_str(data.get("tin_value")),
            tin_scheme=str(scheme) if scheme not in (None, "") else None,
            country=_str(data.get("country")),
            email=_str(data.get("email")),
            no_transport=TRANSPORT_FIELD in data and not data[TRANSPORT_FIELD],
        )


@dataclass(frozen=True)
class InvoiceTax:
    name: str
    category: str
    percent: Decimal
    base: Decimal | None
    amount: Decimal


@dataclass(frozen=True)
class Invoice:
    id: int
    number: str
    date: dt.date | None
    due_date: dt.date | None
    currency: str | None
    state: str
    contact_id: int | None
    contact_name: str | None
    contact_tin: str | None
    subtotal: Decimal
    taxes: tuple[InvoiceTax, ...]
    total: Decimal
    file_reference: str | None
    extra_info: str | None
    paid_date: dt.date | None
    # Why B2BRouter put the invoice in its state (an `error`, a `refused`). UNVERIFIED: the
    # field name `state_reason`; no public page names it. Absent: None.
    state_reason: str | None = None
    tax_report_ids: tuple[int, ...] = ()  # VeriFactu/TicketBAI submissions (TAX_REPORTS.md)
    is_credit_note: bool = False  # or references another invoice (`invoice_references`)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Invoice:
        raw_contact, raw_taxes = data.get("contact"), data.get("taxes")
        contact: Mapping[str, Any] = raw_contact if isinstance(raw_contact, dict) else {}
        taxes: list[Any] = raw_taxes if isinstance(raw_taxes, list) else []
        cid = data.get("contact_id", contact.get("id"))
        return cls(
            id=_id(data, "invoice"),
            number=str(data.get("number") or ""),
            date=_date(data.get("date")),
            due_date=_date(data.get("due_date")),
            currency=_str(data.get("currency")),
            state=str(data.get("state") or ""),
            contact_id=cid if isinstance(cid, int) and not isinstance(cid, bool) else None,
            contact_name=_str(contact.get("name")),
            contact_tin=_str(contact.get("tin_value")),
            subtotal=_dec(data.get("subtotal", 0), "invoice subtotal"),
            taxes=tuple(
                InvoiceTax(
                    name=str(t.get("name") or ""),
                    category=str(t.get("category") or ""),
                    percent=_dec(t.get("percent", 0), "tax percent"),
                    base=_dec(t["base"], "tax base") if t.get("base") is not None else None,
                    amount=_dec(t.get("amount", 0), "tax amount"),
                )
                for t in taxes
                if isinstance(t, dict)
            ),
            total=_dec(data.get("total", 0), "invoice total"),
            file_reference=_str(data.get("file_reference")),
            extra_info=_str(data.get("extra_info")),
            paid_date=_date(data.get("paid_date")),
            state_reason=_str(data.get("state_reason")),
            tax_report_ids=_ids(data.get("tax_report_ids")),
            is_credit_note=_credit_note(data),
        )


def _credit_note(data: Mapping[str, Any]) -> bool:
    """Flagged so, or (should the flag not be answered) referencing an invoice with a
    negative total, which is what a credit note is."""
    if data.get("is_credit_note") is True:
        return True
    refs, total = data.get("invoice_references"), data.get("total")
    return bool(refs) and isinstance(total, int | Decimal | str) and str(total).startswith("-")


@dataclass(frozen=True)
class Payment:
    """A payment as B2BRouter reports it: the invoice's `paid` state and its date. B2BRouter
    reports no amount (UNVERIFIED: no payments endpoint is documented), so the invoice's
    total is taken as paid in full."""

    invoice_id: int
    number: str
    date: dt.date | None
    amount: Decimal
    currency: str | None


@dataclass(frozen=True)
class TaxDraft:
    """One entry of a line's `taxes_attributes`: a percent may be negative (a withholding
    such as Spain's IRPF, https://github.com/B2Brouter/b2brouter-php docs/SPANISH_INVOICING.md
    names the fields name, category, percent)."""

    name: str
    category: str
    percent: Decimal


@dataclass(frozen=True)
class LineDraft:
    """One line to create. A tax is always a category and a percent: B2BRouter's
    taxes_attributes have no absolute (fixed-amount) form. `more_taxes` follow the first
    (a withholding beside the VAT)."""

    description: str
    quantity: Decimal
    price: Decimal
    tax_category: str
    tax_percent: Decimal
    tax_name: str = "VAT"
    more_taxes: tuple[TaxDraft, ...] = ()

    @property
    def taxes(self) -> tuple[TaxDraft, ...]:
        return (TaxDraft(self.tax_name, self.tax_category, self.tax_percent), *self.more_taxes)


@dataclass(frozen=True)
class Credited:
    """The invoice a credit note corrects, as B2BRouter references it: `invoice_references`
    (API 2026-04-20; its migration guide replaced `amended_number` by `number` and
    `amended_date` by `date`, https://docs.b2brouter.net/en/developers/upgrade-api/
    from-v2026-03-02-to-v2026-04-20/)."""

    number: str
    date: dt.date


def invoice_payload(
    *,
    number: str,
    date: dt.date,
    contact_id: int,
    lines: Sequence[LineDraft],
    currency: str | None = None,
    due_date: dt.date | None = None,
    file_reference: str | None = None,
    extra_info: str | None = None,
    credited: Credited | None = None,
) -> dict[str, Any]:
    """The `invoice` object of POST /accounts/{account}/invoices, with exact decimals. A
    credit note (`credited`) is flagged `is_credit_note` (the flag B2BRouter's WooCommerce
    plugin sends) and references the invoice it corrects; its lines carry negative
    quantities, as the official SDK's and plugin's credit notes do."""
    invoice: dict[str, Any] = {
        "number": number,
        "date": date.isoformat(),
        "contact_id": contact_id,
        "invoice_lines_attributes": [
            {
                "description": line.description,
                "quantity": line.quantity,
                "price": line.price,
                "taxes_attributes": [
                    {"name": tax.name, "category": tax.category, "percent": tax.percent}
                    for tax in line.taxes
                ],
            }
            for line in lines
        ],
    }
    optional = {
        "currency": currency,
        "due_date": due_date.isoformat() if due_date else None,
        "file_reference": file_reference,
        "extra_info": extra_info,
    }
    invoice.update({k: v for k, v in optional.items() if v is not None})
    if credited is not None:
        invoice["is_credit_note"] = True
        invoice["invoice_references"] = [
            {"number": credited.number, "date": credited.date.isoformat()}
        ]
    return invoice
