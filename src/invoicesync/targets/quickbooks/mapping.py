"""Pure: a `LocalInvoice` plus resolved QuickBooks references → the QBO Invoice payload.

The only module that knows both the domain model and QBO field names. Amounts are computed
exactly as QBO checks them (Qty × UnitPrice, half-up to cents), so QBO never answers 6070.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from invoicesync.marker import marker, origin_tag
from invoicesync.models import Adjustment, Line, LocalInvoice
from invoicesync.targets.quickbooks.api.rows import CompanyFacts

US_LINE_CODES = ("TAX", "NON")


@dataclass(frozen=True)
class Refs:
    """QBO ids for one invoice's names (all resolved, or the invoice would not be mapped)."""

    customer_id: str
    items: Mapping[str, str]
    term_id: str | None = None
    tax_codes: Mapping[str, str] = field(default_factory=dict)  # name -> id (non-US lines)
    txn_tax_code_id: str | None = None  # US transaction tax code


def describe(line: Line) -> str:
    """The line description QBO shows: ours, plus language pair and unit (QBO has no fields
    for them)."""
    base = line.description or line.service
    extras = []
    if line.source_language or line.target_language:
        extras.append(f"{line.source_language or '?'}→{line.target_language or '?'}")
    if line.unit:
        extras.append(f"{line.quantity.normalize():f} {line.unit}")
    return f"{base} ({', '.join(extras)})" if extras else base


def _line_tax(tax: str | None, refs: Refs, ctx: CompanyFacts) -> dict[str, str]:
    if ctx.us:
        return {"value": (tax or "NON").upper()}
    assert tax is not None, "pre-flight guarantees a tax code on non-US lines"
    return {"value": refs.tax_codes[tax]}


def _sales_line(
    service: str,
    qty: Decimal,
    price: Decimal,
    amount: Decimal,
    description: str,
    tax: str | None,
    refs: Refs,
    ctx: CompanyFacts,
    service_date: str | None = None,
) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "ItemRef": {"value": refs.items[service], "name": service},
        "Qty": qty,
        "UnitPrice": price,
        "TaxCodeRef": _line_tax(tax, refs, ctx),
    }
    if service_date:
        detail["ServiceDate"] = service_date
    return {
        "DetailType": "SalesItemLineDetail",
        "Amount": amount,
        "Description": description,
        "SalesItemLineDetail": detail,
    }


def _adjustment_line(adj: Adjustment, refs: Refs, ctx: CompanyFacts) -> dict[str, Any]:
    return _sales_line(
        adj.service, Decimal("1"), adj.amount, adj.amount, adj.description, adj.tax, refs, ctx
    )


def _private_note(invoice: LocalInvoice, marker_note: bool, origin: str | None) -> str:
    """Our marker and the creating state's origin first, then the PO and the source's id."""
    notes = []
    if marker_note:
        notes.append(marker(invoice.number))
        if origin:
            notes.append(origin_tag(origin))
    if invoice.po_number:
        notes.append(f"PO {invoice.po_number}")
    if invoice.source and invoice.source.id != invoice.number:
        notes.append(f"{invoice.source.system} {invoice.source.id}")
    return " ".join(notes)


def invoice_payload(
    invoice: LocalInvoice,
    refs: Refs,
    ctx: CompanyFacts,
    *,
    doc_number: bool,
    marker_note: bool,
    origin: str | None = None,
) -> dict[str, Any]:
    """The body of `POST /invoice`; `origin`, the creating state's token, follows our marker."""
    lines = [
        _sales_line(
            ln.service,
            ln.quantity,
            ln.unit_price,
            ln.amount,
            describe(ln),
            ln.tax,
            refs,
            ctx,
            ln.service_date.isoformat() if ln.service_date else None,
        )
        for ln in invoice.lines
    ] + [_adjustment_line(a, refs, ctx) for a in invoice.adjustments]
    payload: dict[str, Any] = {
        "CustomerRef": {"value": refs.customer_id},
        "TxnDate": invoice.issue_date.isoformat(),
        "Line": lines,
    }
    if doc_number:
        payload["DocNumber"] = invoice.number
    if invoice.due_date:
        payload["DueDate"] = invoice.due_date.isoformat()
    if refs.term_id:
        payload["SalesTermRef"] = {"value": refs.term_id}
    if ctx.multicurrency or invoice.currency != ctx.home_currency:
        payload["CurrencyRef"] = {"value": invoice.currency}
    if invoice.exchange_rate is not None and invoice.currency != ctx.home_currency:
        payload["ExchangeRate"] = invoice.exchange_rate
    if invoice.note:
        payload["CustomerMemo"] = {"value": invoice.note}
    if invoice.customer.email:
        payload["BillEmail"] = {"Address": invoice.customer.email}
    note = _private_note(invoice, marker_note, origin)
    if note:
        payload["PrivateNote"] = note
    if ctx.us:
        if refs.txn_tax_code_id:
            payload["TxnTaxDetail"] = {"TxnTaxCodeRef": {"value": refs.txn_tax_code_id}}
    else:
        inclusive = invoice.tax_calculation == "inclusive"
        payload["GlobalTaxCalculation"] = "TaxInclusive" if inclusive else "TaxExcluded"
    return payload
