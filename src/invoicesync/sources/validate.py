"""The one validator every format feeds: a canonical record in, a `LocalInvoice` or problems out.

Every problem reads `file:line: invoice N: field: message`, with the field's own line where the
format knows it. One validator means the JSON and CSV forms of the same data give equal
invoices and the same messages.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from operator import attrgetter
from pathlib import Path
from typing import Any

from invoicesync.models import INVOICE_TYPES, STATUSES, Customer, LocalInvoice, SourceRef, Totals
from invoicesync.sources import fields as f
from invoicesync.sources.attachments import check_attachment
from invoicesync.sources.base import (
    CUSTOMER_FIELDS,
    INVOICE_FIELDS,
    SOURCE_FIELDS,
    TOTALS_FIELDS,
    FieldPath,
    Problems,
    Record,
    SourceRules,
)
from invoicesync.sources.check import Check, customer
from invoicesync.sources.lines import parse_adjustments, parse_lines

TOLERANCE = Decimal("0.01")
_ZERO = Decimal("0.00")
_AMOUNT = attrgetter("amount")
_RATE = attrgetter("tax_rate")
_CALCULATIONS = ("exclusive", "inclusive")


# Optional invoice fields: parser and its extra arguments. Only the fields a record has are
# parsed, so an absent field costs nothing.
_OPTIONAL: dict[str, tuple[Any, ...]] = {
    "due_date": (f.parse_date,),
    "exchange_rate": (f.decimal,),
    "payment_terms": (f.optional_name,),
    "tax_code": (f.optional_name,),
    "po_number": (f.optional_name,),
    "note": (f.text, False, 1000),
    "credit_for": (f.optional_name,),
    "type": (f.one_of, INVOICE_TYPES, "invoice"),
    "status": (f.one_of, STATUSES, "sent"),
    "tax_calculation": (f.one_of, _CALCULATIONS, "exclusive"),
}


def build_invoice(
    record: Record, problems: Problems, base: Path | None = None, rules: SourceRules | None = None
) -> LocalInvoice | None:
    """Validate one canonical record; None (with problems recorded) if it is invalid.
    `base` is the folder attachment paths are relative to (None: attachments refused)."""
    c = Check(record, problems, base)
    data = record.data
    c.unknown(data, INVOICE_FIELDS)
    num = c.get(("number",), f.name, data.get("number"))
    if num is not None:
        num = _trimmed(c, "number", num)
    rules = rules or SourceRules()
    if num is not None and rules.number_max is not None and len(num) > rules.number_max:
        c.err(
            ("number",),
            f"is {len(num)} characters; {rules.target} allows at most {rules.number_max}",
        )
    optional: dict[str, Any] = {}
    for key in [k for k in _OPTIONAL if k in data]:  # declaration order: stable messages
        if (value := data[key]) is not None:
            parser, *args = _OPTIONAL[key]
            optional[key] = c.get((key,), parser, value, *args)
    if optional.get("credit_for") is not None:
        optional["credit_for"] = _trimmed(c, "credit_for", optional["credit_for"])
    issue = c.get(("issue_date",), f.parse_date, data.get("issue_date"), True)
    invoice = LocalInvoice(
        number=num,
        customer=_customer(c, data.get("customer")),  # type: ignore[arg-type]
        issue_date=issue,
        currency=c.get(("currency",), f.currency, data.get("currency")),
        lines=parse_lines(c, data.get("lines")),
        adjustments=parse_adjustments(c, data.get("adjustments")),
        totals=_totals(c, data.get("totals")),
        source=_source(c, data.get("source")),
        origin=record.where(),
        attachments=_attachments(c, data.get("attachments")),
        **optional,
    )
    _check_header(c, invoice)
    if c.ok:
        _check_amounts(c, invoice, rules.target)
    return invoice if c.ok else None


def _trimmed(c: Check, key: str, value: str) -> str:
    """An invoice number without the white space a table export put around it, with a warning:
    the number is the link key, the DocNumber and the marker, so " INV-7 " and "INV-7" must be
    one invoice in every run (docs/invoice-format.md#the-invoice). CSV was always read
    trimmed, so trimming changes no CSV invoice's identity. JSON was read as written: a JSON
    invoice pushed with its spaces is linked under them, and trimming it now would make it a
    new invoice to invoicesync (a duplicate in the target), so JSON is refused instead and the
    person decides."""
    trimmed = value.strip()
    if trimmed == value:
        return value
    if c.record.text is not None:  # JSON
        c.err(
            (key,),
            f"{f.safe(repr(value))} has white space around it: remove it in the export (the "
            "number is the link key; if an earlier version pushed it with the spaces, unlink "
            "that number first)",
        )
        return value
    c.warn(
        (key,),
        f"{f.safe(repr(value))} has white space around it; read as {f.safe(repr(trimmed))} "
        "(the number the target and later runs see)",
    )
    return trimmed


def _check_header(c: Check, invoice: LocalInvoice) -> None:
    """Rules between header fields."""
    if invoice.due_date and invoice.issue_date and invoice.due_date < invoice.issue_date:
        c.err(("due_date",), f"{invoice.due_date} is before issue_date {invoice.issue_date}")
    if invoice.exchange_rate is not None and invoice.exchange_rate <= 0:
        c.err(("exchange_rate",), "must be greater than 0")
    if invoice.credit_for is not None and not invoice.is_credit_note:
        c.err(("credit_for",), 'is only for credit notes (type "credit_note")')
    if invoice.tax_calculation == "inclusive" and any(ln.taxes for ln in invoice.lines):
        c.err(  # a gross price holds the VAT but not the withholding: the net is not defined
            ("tax_calculation",),
            "inclusive prices cannot carry several taxes on a line; give net prices "
            "(tax_calculation exclusive)",
        )
    elif invoice.credit_for is not None and invoice.credit_for == invoice.number:
        c.err(("credit_for",), "a credit note cannot credit itself")


def _customer(c: Check, raw: Any) -> Customer | None:
    path: FieldPath = ("customer",)
    if raw is None:
        c.err(path, "is required")
        return None
    if isinstance(raw, str):
        name = c.get(("customer", "name"), f.name, raw)
        return customer(name) if name else None
    if not isinstance(raw, Mapping):
        c.err(path, "must be an object with a name")
        return None
    c.unknown(raw, CUSTOMER_FIELDS, path, money=True)
    name = raw.get("name")
    if type(name) is not str or name not in f.KNOWN_NAMES:  # else: accepted before
        name = c.get(("customer", "name"), f.name, name)
    email = c.opt(("customer", "email"), f.email, raw.get("email"))
    tax_id = c.opt(("customer", "tax_id"), f.name, raw.get("tax_id"), False, 50)
    country = c.opt(("customer", "country"), f.country, raw.get("country"))
    if not name:
        return None
    return customer(name, email, tax_id, country)


def _totals(c: Check, raw: Any) -> Totals | None:
    totals = c.obj(raw, ("totals",), "subtotal, tax, total")
    if totals is None:
        return None
    c.unknown(totals, TOTALS_FIELDS, ("totals",), money=True)
    values = [c.get(("totals", k), f.money, totals.get(k)) for k in ("subtotal", "tax", "total")]
    return Totals(*values)


def _source(c: Check, raw: Any) -> SourceRef | None:
    source = c.obj(raw, ("source",), "system and id")
    if source is None:
        return None
    c.unknown(source, SOURCE_FIELDS, ("source",))
    system = source.get("system")
    if type(system) is not str or system not in f.KNOWN_NAMES:  # else: accepted before
        system = c.get(("source", "system"), f.name, system)
    sid = c.get(("source", "id"), f.name, source.get("id"))
    url = c.opt(("source", "url"), f.optional_name, source.get("url"))
    return SourceRef(system, sid, url) if system and sid else None


def _attachments(c: Check, raw: Any) -> tuple[Any, ...]:
    if raw is None or raw == []:
        return ()
    if not isinstance(raw, list):
        c.err(("attachments",), "must be a list of file paths")
        return ()
    found = []
    for i, item in enumerate(raw):
        path: FieldPath = ("attachments", i)
        name = c.get(path, f.name, item)
        if name is None:
            continue
        try:
            found.append(check_attachment(name, c.base))
        except f.Bad as exc:
            c.err(path, str(exc))
    return tuple(found)


def _check_amounts(c: Check, invoice: LocalInvoice, target: str) -> None:
    """Invoice-level sums: within our limit, not negative, and as the totals state. Money
    given back is a credit note at every target (a negative invoice is nowhere an invoice)."""
    # invoice.subtotal, and whether any rate is stated, with the loops in C.
    lines, adjustments = invoice.lines, invoice.adjustments
    subtotal = sum(map(_AMOUNT, lines), _ZERO) + sum(map(_AMOUNT, adjustments), _ZERO)
    rates = [*map(_RATE, lines), *map(_RATE, adjustments)]
    taxed = rates.count(None) != len(rates) or any(ln.taxes for ln in lines)
    total = invoice.total if taxed else subtotal  # no rates: no tax of ours to add
    for name, value in (("subtotal", subtotal), ("total", total)):
        if abs(value) > f.MAX_AMOUNT:
            c.err(
                ("lines",),
                f"the invoice {name} {value} is too large; invoicesync sends at most "
                f"{f.MAX_AMOUNT:,}",
            )
            return
    if total < 0 or subtotal < 0:
        what = "credit note" if invoice.is_credit_note else "invoice"
        c.err(
            ("adjustments",),
            f"the adjustments make the {what} total negative ({min(total, subtotal)}); "
            f"{target} refuses negative totals"
            + ("" if invoice.is_credit_note else ": issue a credit note instead"),
        )
    if invoice.totals is not None:
        _check_totals(c, invoice, invoice.totals)


def _check_totals(c: Check, invoice: LocalInvoice, totals: Totals) -> None:
    checks = [("subtotal", totals.subtotal, invoice.subtotal)]
    tax = invoice.tax
    if tax is not None:
        checks.append(("tax", totals.tax, tax))
        checks.append(("total", totals.total, invoice.total))
    elif totals.tax is not None and totals.total is not None:
        checks.append(("total", totals.total, invoice.subtotal + totals.tax))
    elif totals.total is not None and totals.tax is None:
        checks.append(("total", totals.total, invoice.subtotal))
    for name, stated, computed in checks:
        if stated is None or stated == computed:
            continue
        if abs(stated - computed) > TOLERANCE:
            c.err(
                ("totals", name), f"{stated} disagrees with the lines, which add up to {computed}"
            )
        elif c.record.header_only:  # one line: the cent is the list's, not a line's rounding
            c.warn(
                ("totals", name),
                f"{stated} is {computed} on the invoice pushed (the net total at its rate, "
                "rounded half-up); the list rounds it another way",
            )


class Validator:
    """Validates records as they are read, so a big file's raw records never all exist at
    once; checks across the source (unique numbers, credit notes) span every file added."""

    def __init__(self, rules: SourceRules | None = None) -> None:
        self.rules = rules or SourceRules()
        self.problems = Problems()
        self.invoices: list[LocalInvoice] = []
        self._seen: dict[str, str] = {}

    def add(self, records: Iterable[Record], base: Path | None) -> None:
        """Validate `records`; `base` is the folder their attachment paths start from."""
        problems, invoices, seen = self.problems, self.invoices, self._seen
        for record in records:
            invoice = build_invoice(record, problems, base, self.rules)
            number = record.data.get("number")
            if type(number) is not str or not (number := number.strip()):
                pass
            elif number in seen:
                problems.errors.append(
                    f"{record.where(('number',))}: invoice {f.safe(number)}: number: duplicate "
                    f"of the invoice at {seen[number]}"
                )
                continue
            else:
                seen[number] = record.where() if invoice is None else invoice.origin
            if invoice is not None:
                invoices.append(invoice)

    def finish(self) -> tuple[list[LocalInvoice], Problems]:
        _check_credit_notes(self.invoices, self.problems)
        return self.invoices, self.problems


def _check_credit_notes(invoices: list[LocalInvoice], problems: Problems) -> None:
    notes = [i for i in invoices if i.credit_for is not None]
    if not notes:
        return
    by_number = {i.number: i for i in invoices}
    for note in notes:
        target = by_number.get(note.credit_for or "")
        if target is None:
            continue  # it may be in the books only
        prefix = f"{note.origin}: invoice {f.safe(note.number)}: credit_for"
        if target.is_credit_note:
            problems.errors.append(f"{prefix}: {target.number} is a credit note, not an invoice")
        elif (target.customer.name, target.currency) != (note.customer.name, note.currency):
            problems.errors.append(
                f"{prefix}: {target.number} is for {f.safe(target.customer.name)} in "
                f"{target.currency}; a credit note must have the same customer and currency"
            )
