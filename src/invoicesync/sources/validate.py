"""The one validator every format feeds: a canonical record in, a `LocalInvoice` or problems out.

Every problem reads `file:line: invoice N: field: message`, with the field's own line where the
format knows it. One validator means the JSON and CSV forms of the same data give equal
invoices and the same messages.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from invoicesync.models import (
    INVOICE_TYPES,
    STATUSES,
    VAT_CATEGORIES,
    Adjustment,
    Customer,
    Line,
    LocalInvoice,
    SourceRef,
    Totals,
    round_money,
)
from invoicesync.sources import fields as f
from invoicesync.sources.attachments import check_attachment
from invoicesync.sources.base import (
    ADJUSTMENT_FIELDS,
    CUSTOMER_FIELDS,
    INVOICE_FIELDS,
    LINE_FIELDS,
    SOURCE_FIELDS,
    TOTALS_FIELDS,
    FieldPath,
    Problems,
    Record,
)

TOLERANCE = Decimal("0.01")
_LINE_TEXTS = ("description", "unit", "source_language", "target_language")


def _show(path: FieldPath) -> str:
    out = ""
    for step in path:
        out += f"[{step + 1}]" if isinstance(step, int) else (f".{step}" if out else step)
    return out


class _Check:
    """One record's validation: collects its problems with their locations."""

    def __init__(self, record: Record, problems: Problems, base: Path | None) -> None:
        self.record = record
        self.problems = problems
        self.base = base
        self.ok = True
        number = record.data.get("number")
        shown = f.safe(number) if isinstance(number, str) and number.strip() else "?"
        self.label = f"invoice {shown}"

    def err(self, path: FieldPath, message: str) -> None:
        self.ok = False
        self.problems.errors.append(
            f"{self.record.where(path)}: {self.label}: {_show(path)}: {message}"
        )

    def get(self, path: FieldPath, parser: Callable[..., Any], value: Any, **kw: Any) -> Any:
        try:
            return parser(value, **kw)
        except f.Bad as exc:
            self.err(path, str(exc))
            return None

    def unknown(self, raw: Mapping[str, Any], allowed: set[str], path: FieldPath = ()) -> None:
        if raw.keys() <= allowed:
            return
        for key in sorted(set(raw) - allowed, key=str):
            self.problems.warnings.append(
                f"{self.record.where((*path, key))}: {self.label}: "
                f"{_show((*path, f.safe(str(key))))}: unknown field, ignored"
            )

    def obj(self, value: Any, path: FieldPath, what: str) -> Mapping[str, Any] | None:
        if value is None:
            return None
        if not isinstance(value, Mapping):
            self.err(path, f"must be an object with {what}")
            return None
        return value


def build_invoice(
    record: Record, problems: Problems, base: Path | None = None
) -> LocalInvoice | None:
    """Validate one canonical record; None (with problems recorded) if it is invalid.
    `base` is the folder attachment paths are relative to (None: attachments refused)."""
    c = _Check(record, problems, base)
    data = record.data
    c.unknown(data, INVOICE_FIELDS)
    num = c.get(("number",), f.name, data.get("number"))
    if num is not None and len(num) > f.DOC_NUMBER_MAX:
        c.err(
            ("number",), f"is {len(num)} characters; QuickBooks allows at most {f.DOC_NUMBER_MAX}"
        )
    customer = _customer(c, data.get("customer"))
    issue = c.get(("issue_date",), f.parse_date, data.get("issue_date"), required=True)
    due = c.get(("due_date",), f.parse_date, data.get("due_date"))
    if issue and due and due < issue:
        c.err(("due_date",), f"{due} is before issue_date {issue}")
    kind = c.get(("type",), f.one_of, data.get("type"), allowed=INVOICE_TYPES, default="invoice")
    credit_for = c.get(("credit_for",), f.name, data.get("credit_for"), required=False)
    if credit_for is not None and kind == "invoice":
        c.err(("credit_for",), 'is only for credit notes (type "credit_note")')
    elif credit_for is not None and credit_for == num:
        c.err(("credit_for",), "a credit note cannot credit itself")
    lines = _lines(c, data.get("lines"))
    adjustments = _adjustments(c, data.get("adjustments"), data.get("lines"))
    invoice = LocalInvoice(
        number=num,
        customer=customer,  # type: ignore[arg-type]
        issue_date=issue,
        currency=c.get(("currency",), f.currency, data.get("currency")),
        lines=lines,
        due_date=due,
        exchange_rate=c.get(("exchange_rate",), f.decimal, data.get("exchange_rate")),
        payment_terms=c.get(("payment_terms",), f.name, data.get("payment_terms"), required=False),
        tax_code=c.get(("tax_code",), f.name, data.get("tax_code"), required=False),
        tax_calculation=c.get(
            ("tax_calculation",),
            f.one_of,
            data.get("tax_calculation"),
            allowed=("exclusive", "inclusive"),
            default="exclusive",
        ),
        status=c.get(("status",), f.one_of, data.get("status"), allowed=STATUSES, default="sent"),
        po_number=c.get(("po_number",), f.name, data.get("po_number"), required=False),
        note=c.get(("note",), f.text, data.get("note"), max_len=1000),
        adjustments=adjustments,
        totals=_totals(c, data.get("totals")),
        source=_source(c, data.get("source")),
        origin=record.where(),
        type=kind or "invoice",
        credit_for=credit_for,
        attachments=_attachments(c, data.get("attachments")),
    )
    if invoice.exchange_rate is not None and invoice.exchange_rate <= 0:
        c.err(("exchange_rate",), "must be greater than 0")
    if not c.ok:
        return None
    _check_amounts(c, invoice)
    return invoice if c.ok else None


def _customer(c: _Check, raw: Any) -> Customer | None:
    path: FieldPath = ("customer",)
    if raw is None:
        c.err(path, "is required")
        return None
    if isinstance(raw, str):
        name = c.get(("customer", "name"), f.name, raw)
        return Customer(name) if name else None
    if not isinstance(raw, Mapping):
        c.err(path, "must be an object with a name")
        return None
    c.unknown(raw, CUSTOMER_FIELDS, path)
    name = c.get((*path, "name"), f.name, raw.get("name"))
    email = c.get((*path, "email"), f.email, raw.get("email"))
    tax_id = c.get((*path, "tax_id"), f.name, raw.get("tax_id"), required=False, max_len=50)
    country = c.get((*path, "country"), f.country, raw.get("country"))
    return Customer(name, email, tax_id, country) if name else None


def _tax(c: _Check, path: FieldPath, raw: Mapping[str, Any]) -> tuple[Any, Any]:
    """A line's `tax` (QuickBooks tax code name, or an EN 16931 VAT category) and `tax_rate`,
    with the category's rate rules (EN 16931 BR-S-05, BR-Z-05, BR-E-05, BR-O-05…)."""
    tax = c.get((*path, "tax"), f.name, raw.get("tax"), required=False)
    rate = c.get((*path, "tax_rate"), f.decimal, raw.get("tax_rate"))
    if rate is not None and not 0 <= rate <= 100:
        c.err((*path, "tax_rate"), f"{rate} must be a percentage between 0 and 100")
    if tax in VAT_CATEGORIES:
        if tax == "S" and (rate is None or rate <= 0):
            c.err((*path, "tax_rate"), "VAT category S (standard rate) needs a tax_rate above 0")
        elif tax == "O" and rate is not None:
            c.err((*path, "tax_rate"), "VAT category O (outside the scope of VAT) takes no rate")
        elif tax in {"Z", "E", "AE", "K", "G"} and rate is not None and rate != 0:
            c.err((*path, "tax_rate"), f"VAT category {tax} has a rate of 0, not {rate}")
        elif tax in {"L", "M"} and rate is None:
            c.err((*path, "tax_rate"), f"VAT category {tax} needs a tax_rate")
    return tax, rate


def _lines(c: _Check, raw_lines: Any) -> tuple[Line, ...]:
    if not isinstance(raw_lines, list) or not raw_lines:
        c.err(("lines",), "at least one line is required")
        return ()
    lines = []
    for i, raw in enumerate(raw_lines):
        path: FieldPath = ("lines", i)
        if not isinstance(raw, Mapping):
            c.err(path, "must be an object")
            continue
        c.unknown(raw, LINE_FIELDS, path)
        service = c.get((*path, "service"), f.name, raw.get("service"))
        qty = c.get((*path, "quantity"), f.decimal, raw.get("quantity"), required=True)
        price = c.get((*path, "unit_price"), f.decimal, raw.get("unit_price"), required=True)
        amount = c.get((*path, "amount"), f.money, raw.get("amount"))
        tax, rate = _tax(c, path, raw)
        texts = [c.get((*path, k), f.text, raw.get(k)) for k in _LINE_TEXTS]
        day = c.get((*path, "service_date"), f.parse_date, raw.get("service_date"))
        if qty is not None and qty <= 0:
            c.err((*path, "quantity"), f"{qty} must be greater than 0")
        if price is not None and price < 0:
            c.err((*path, "unit_price"), f"{price} must not be negative (use an adjustment)")
        if qty is None or price is None:
            continue
        expected = round_money(qty * price)
        if abs(expected) > f.MAX_AMOUNT:
            c.err(
                (*path, "amount"),
                f"quantity × unit_price = {expected} is too large; QuickBooks takes at most "
                f"{f.MAX_AMOUNT:,} on a line",
            )
        elif amount is not None and amount != expected:
            c.err(
                (*path, "amount"),
                f"{amount} is not quantity × unit_price = {qty} × {price} = {expected} "
                "(rounded half-up to cents)",
            )
        if service:
            desc, unit, source_language, target_language = texts
            lines.append(
                Line(
                    service,
                    qty,
                    price,
                    expected,
                    desc,
                    unit,
                    tax,
                    rate,
                    source_language,
                    target_language,
                    day,
                )
            )
    return tuple(lines)


def _adjustments(c: _Check, raw_adjustments: Any, raw_lines: Any) -> tuple[Adjustment, ...]:
    if raw_adjustments is None or raw_adjustments == []:
        return ()
    if not isinstance(raw_adjustments, list):
        c.err(("adjustments",), "must be a list")
        return ()
    adjustments = []
    for i, raw in enumerate(raw_adjustments):
        path: FieldPath = ("adjustments", i)
        if not isinstance(raw, Mapping):
            c.err(path, "must be an object")
            continue
        c.unknown(raw, ADJUSTMENT_FIELDS, path)
        desc = c.get((*path, "description"), f.name, raw.get("description"))
        amount = c.get((*path, "amount"), f.money, raw.get("amount"), required=True)
        service = c.get((*path, "service"), f.name, raw.get("service"))
        tax, rate = _tax(c, path, raw)
        if amount is not None and amount == 0:
            c.err((*path, "amount"), "must not be 0")
        if desc and amount is not None and service:
            adjustments.append(Adjustment(desc, amount, service, tax, rate))
    return tuple(adjustments)


def _totals(c: _Check, raw: Any) -> Totals | None:
    totals = c.obj(raw, ("totals",), "subtotal, tax, total")
    if totals is None:
        return None
    c.unknown(totals, TOTALS_FIELDS, ("totals",))
    values = [c.get(("totals", k), f.money, totals.get(k)) for k in ("subtotal", "tax", "total")]
    return Totals(*values)


def _source(c: _Check, raw: Any) -> SourceRef | None:
    source = c.obj(raw, ("source",), "system and id")
    if source is None:
        return None
    c.unknown(source, SOURCE_FIELDS, ("source",))
    system = c.get(("source", "system"), f.name, source.get("system"))
    sid = c.get(("source", "id"), f.name, source.get("id"))
    url = c.get(("source", "url"), f.name, source.get("url"), required=False)
    return SourceRef(system, sid, url) if system and sid else None


def _attachments(c: _Check, raw: Any) -> tuple[Any, ...]:
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


def _check_amounts(c: _Check, invoice: LocalInvoice) -> None:
    """Invoice-level sums: within QuickBooks' limit, not negative, and as the totals state."""
    subtotal, total = invoice.subtotal, invoice.total
    for name, value in (("subtotal", subtotal), ("total", total)):
        if abs(value) > f.MAX_AMOUNT:
            c.err(
                ("lines",),
                f"the invoice {name} {value} is too large; QuickBooks takes at most "
                f"{f.MAX_AMOUNT:,}",
            )
            return
    if total < 0 or subtotal < 0:
        what = "credit note" if invoice.is_credit_note else "invoice"
        c.err(
            ("adjustments",),
            f"the adjustments make the {what} total negative ({min(total, subtotal)}); "
            "QuickBooks refuses negative totals"
            + ("" if invoice.is_credit_note else ": issue a credit note instead"),
        )
    if invoice.totals is not None:
        _check_totals(c, invoice, invoice.totals)


def _check_totals(c: _Check, invoice: LocalInvoice, totals: Totals) -> None:
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
        if stated is not None and abs(stated - computed) > TOLERANCE:
            c.err(
                ("totals", name), f"{stated} disagrees with the lines, which add up to {computed}"
            )


def validate_records(
    records: list[Record], bases: Mapping[str, Path | None] | None = None
) -> tuple[list[LocalInvoice], Problems]:
    """Build every record, then check across the source: numbers unique, credit notes point
    at an invoice of the same customer and currency when that invoice is in the source."""
    problems = Problems()
    invoices: list[LocalInvoice] = []
    seen: dict[str, str] = {}
    bases = bases or {}
    for record in records:
        invoice = build_invoice(record, problems, bases.get(record.file))
        number = record.data.get("number")
        if isinstance(number, str) and number in seen:
            problems.errors.append(
                f"{record.where(('number',))}: invoice {f.safe(number)}: number: duplicate of "
                f"the invoice at {seen[number]}"
            )
            invoice = None
        elif isinstance(number, str):
            seen[number] = record.where()
        if invoice is not None:
            invoices.append(invoice)
    _check_credit_notes(invoices, problems)
    return invoices, problems


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
