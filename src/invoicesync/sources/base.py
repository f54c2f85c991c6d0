"""The source interface and the one validator every format feeds.

Formats turn their bytes into canonical records (plain dicts shaped like the JSON format,
docs/invoice-format.md) tagged with a location; `build_invoice` validates a record and returns a
`LocalInvoice` or adds `file:line: invoice N: field: message` problems. One validator means the
JSON and CSV forms of the same data give equal invoices and the same messages.
"""

from __future__ import annotations

import re
import unicodedata
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from invoicesync.errors import SourceError
from invoicesync.models import (
    STATUSES,
    Adjustment,
    Customer,
    Line,
    LocalInvoice,
    SourceRef,
    Totals,
    round_money,
)

DOC_NUMBER_MAX = 21  # QBO's DocNumber limit (quickbooks-api.md §3.4)
MAX_ABS = Decimal("1e12")
MAX_SIG_DIGITS = 15
TOLERANCE = Decimal("0.01")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")

INVOICE_FIELDS = {
    "number",
    "customer",
    "issue_date",
    "due_date",
    "currency",
    "exchange_rate",
    "lines",
    "payment_terms",
    "tax_code",
    "tax_calculation",
    "status",
    "po_number",
    "note",
    "adjustments",
    "totals",
    "source",
}
# In the order CSV columns use.
LINE_FIELD_ORDER = (
    "service",
    "description",
    "quantity",
    "unit",
    "unit_price",
    "amount",
    "tax",
    "tax_rate",
    "source_language",
    "target_language",
    "service_date",
)
LINE_FIELDS = set(LINE_FIELD_ORDER)
ADJUSTMENT_FIELDS = {"description", "amount", "service", "tax", "tax_rate"}
CUSTOMER_FIELDS = {"name", "email", "tax_id", "country"}
TOTALS_FIELDS = {"subtotal", "tax", "total"}
SOURCE_FIELDS = {"system", "id", "url"}


@dataclass
class Problems:
    """Collects every problem in a source so the user sees them all at once."""

    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Record:
    """A canonical record read from a file, with where it came from."""

    data: Mapping[str, Any]
    file: str
    line: int
    # For formats with one physical line per invoice line (CSV): line numbers per line index.
    line_numbers: tuple[int, ...] = ()

    def where(self, index: int | None = None) -> str:
        line = self.line
        if index is not None and index < len(self.line_numbers):
            line = self.line_numbers[index]
        return f"{self.file}:{line}"


class InvoiceSource(ABC):
    """Where local invoices come from."""

    @abstractmethod
    def invoices(self) -> list[LocalInvoice]:
        """All valid invoices; raises `SourceError` (exit 8) listing every problem."""

    @property
    @abstractmethod
    def warnings(self) -> list[str]:
        """Non-fatal findings (unknown fields), available after `invoices()`."""

    def get(self, number: str) -> LocalInvoice | None:
        return next((inv for inv in self.invoices() if inv.number == number), None)

    def __iter__(self) -> Iterator[LocalInvoice]:
        return iter(self.invoices())


# --- field parsers --------------------------------------------------------------------------


class _Bad(Exception):
    pass


def _text(value: Any, *, required: bool = False, max_len: int = 4000) -> str | None:
    if value is None or (isinstance(value, str) and value.strip() == ""):
        if required:
            raise _Bad("is required")
        return None
    if not isinstance(value, str):
        raise _Bad(f"must be a string, not {type(value).__name__}")
    if any(unicodedata.category(ch) == "Cc" and ch not in "\n\t" for ch in value):
        raise _Bad("contains control characters")
    if len(value) > max_len:
        raise _Bad(f"is longer than {max_len} characters")
    return value


def _name(value: Any, *, required: bool = True) -> str | None:
    text = _text(value, required=required, max_len=500)
    if text is not None and ("\n" in text or "\t" in text):
        raise _Bad("must be on one line")
    return text


def _decimal(value: Any, *, required: bool = False, money: bool = False) -> Decimal | None:
    if value is None or (isinstance(value, str) and value.strip() == ""):
        if required:
            raise _Bad("is required")
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise _Bad(f"must be a number, not {type(value).__name__}")
    raw = str(value).strip()
    if not _PLAIN_NUMBER.match(raw):
        raise _Bad(f"{raw!r} is not a plain decimal number (no exponents, NaN or separators)")
    try:
        number = Decimal(raw)
    except InvalidOperation:  # pragma: no cover - the regex admits only valid numbers
        raise _Bad(f"{raw!r} is not a number") from None
    if abs(number) >= MAX_ABS or len(number.as_tuple().digits) > MAX_SIG_DIGITS:
        raise _Bad(f"{raw} is too large")
    if money and number != number.quantize(Decimal("0.01")):
        raise _Bad(f"{raw} has more than 2 decimal places")
    return number


def _date(value: Any, *, required: bool = False) -> date | None:
    if value is None or value == "":
        if required:
            raise _Bad("is required")
        return None
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise _Bad(f"{value!r} is not a date (YYYY-MM-DD)")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _Bad(f"{value!r} is not a valid date") from None


def _object(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _Bad(f"must be an object with {what}")
    return value


# --- the validator ----------------------------------------------------------------------------


def build_invoice(record: Record, problems: Problems) -> LocalInvoice | None:
    """Validate one canonical record; None (with problems recorded) if it is invalid."""
    data = record.data
    number = data.get("number")
    label = f"invoice {number}" if isinstance(number, str) and number.strip() else "invoice ?"
    count = len(problems.errors)

    def err(fld: str, message: str, index: int | None = None) -> None:
        problems.errors.append(f"{record.where(index)}: {label}: {fld}: {message}")

    def get(fld: str, parser: Any, *args: Any, index: int | None = None, **kw: Any) -> Any:
        try:
            return parser(*args, **kw)
        except _Bad as exc:
            err(fld, str(exc), index)
            return None

    def unknown_fields(
        raw: Mapping[str, Any], allowed: set[str], prefix: str = "", index: int | None = None
    ) -> None:
        for name in sorted(set(raw) - allowed):
            problems.warnings.append(
                f"{record.where(index)}: {label}: {prefix}{name}: unknown field, ignored"
            )

    unknown_fields(data, INVOICE_FIELDS)

    num = get("number", _name, number)
    if num is not None and len(num) > DOC_NUMBER_MAX:
        err("number", f"is {len(num)} characters; QuickBooks allows at most {DOC_NUMBER_MAX}")

    customer: Customer | None = None
    raw_customer = data.get("customer")
    if raw_customer is None:
        err("customer", "is required")
    elif isinstance(raw_customer, str):
        name = get("customer.name", _name, raw_customer)
        customer = Customer(name) if name else None
    elif isinstance(raw_customer, Mapping):
        unknown_fields(raw_customer, CUSTOMER_FIELDS, "customer.")
        name = get("customer.name", _name, raw_customer.get("name"))
        email = get("customer.email", _name, raw_customer.get("email"), required=False)
        if email and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
            err("customer.email", f"{email!r} is not an e-mail address")
        country = get("customer.country", _name, raw_customer.get("country"), required=False)
        if country and not _COUNTRY.match(country):
            err("customer.country", f"{country!r} is not an ISO 3166 alpha-2 code")
        tax_id = get("customer.tax_id", _name, raw_customer.get("tax_id"), required=False)
        customer = Customer(name, email, tax_id, country) if name else None
    else:
        err("customer", "must be an object with a name")

    issue = get("issue_date", _date, data.get("issue_date"), required=True)
    due = get("due_date", _date, data.get("due_date"))
    if issue and due and due < issue:
        err("due_date", f"{due} is before issue_date {issue}")
    currency = get("currency", _name, data.get("currency"))
    if currency and not _CURRENCY.match(currency):
        err("currency", f"{currency!r} is not an ISO 4217 code (three capital letters)")
    rate = get("exchange_rate", _decimal, data.get("exchange_rate"))
    if rate is not None and rate <= 0:
        err("exchange_rate", "must be greater than 0")
    status = data.get("status", "sent")
    if status not in STATUSES:
        err("status", f"{status!r} is not one of {', '.join(STATUSES)}")
    calc = data.get("tax_calculation", "exclusive")
    if calc not in ("exclusive", "inclusive"):
        err("tax_calculation", f"{calc!r} must be exclusive or inclusive")
    terms = get("payment_terms", _name, data.get("payment_terms"), required=False)
    tax_code = get("tax_code", _name, data.get("tax_code"), required=False)
    po = get("po_number", _name, data.get("po_number"), required=False)
    note = get("note", _text, data.get("note"), max_len=1000)

    lines: list[Line] = []
    raw_lines = data.get("lines")
    if not isinstance(raw_lines, list) or not raw_lines:
        err("lines", "at least one line is required")
        raw_lines = []
    for i, raw in enumerate(raw_lines):
        prefix = f"lines[{i + 1}]"
        if not isinstance(raw, Mapping):
            err(prefix, "must be an object", i)
            continue
        unknown_fields(raw, LINE_FIELDS, f"{prefix}.", i)
        service = get(f"{prefix}.service", _name, raw.get("service"), index=i)
        qty = get(f"{prefix}.quantity", _decimal, raw.get("quantity"), required=True, index=i)
        price = get(f"{prefix}.unit_price", _decimal, raw.get("unit_price"), required=True, index=i)
        amount = get(f"{prefix}.amount", _decimal, raw.get("amount"), money=True, index=i)
        tax_rate = get(f"{prefix}.tax_rate", _decimal, raw.get("tax_rate"), index=i)
        if qty is not None and qty <= 0:
            err(f"{prefix}.quantity", f"{qty} must be greater than 0", i)
        if price is not None and price < 0:
            err(f"{prefix}.unit_price", f"{price} must not be negative (use an adjustment)", i)
        if tax_rate is not None and not 0 <= tax_rate <= 100:
            err(f"{prefix}.tax_rate", f"{tax_rate} must be a percentage between 0 and 100", i)
        expected = round_money(qty * price) if qty is not None and price is not None else None
        if amount is not None and expected is not None and amount != expected:
            err(
                f"{prefix}.amount",
                f"{amount} is not quantity × unit_price = {qty} × {price} = {expected} "
                "(rounded half-up to cents)",
                i,
            )
        texts = {
            k: get(f"{prefix}.{k}", _text, raw.get(k), index=i)
            for k in ("description", "unit", "tax", "source_language", "target_language")
        }
        service_date = get(f"{prefix}.service_date", _date, raw.get("service_date"), index=i)
        if service and expected is not None and qty is not None and price is not None:
            lines.append(
                Line(
                    service,
                    qty,
                    price,
                    expected,
                    texts["description"],
                    texts["unit"],
                    texts["tax"],
                    tax_rate,
                    texts["source_language"],
                    texts["target_language"],
                    service_date,
                )
            )

    adjustments: list[Adjustment] = []
    raw_adjustments = data.get("adjustments") or []
    if not isinstance(raw_adjustments, list):
        err("adjustments", "must be a list")
        raw_adjustments = []
    for i, raw in enumerate(raw_adjustments):
        prefix = f"adjustments[{i + 1}]"
        index = len(raw_lines) + i
        if not isinstance(raw, Mapping):
            err(prefix, "must be an object", index)
            continue
        unknown_fields(raw, ADJUSTMENT_FIELDS, f"{prefix}.", index)
        desc = get(f"{prefix}.description", _name, raw.get("description"), index=index)
        amount = get(
            f"{prefix}.amount", _decimal, raw.get("amount"), required=True, money=True, index=index
        )
        service = get(f"{prefix}.service", _name, raw.get("service"), index=index)
        tax = get(f"{prefix}.tax", _text, raw.get("tax"), index=index)
        tax_rate = get(f"{prefix}.tax_rate", _decimal, raw.get("tax_rate"), index=index)
        if amount is not None and amount == 0:
            err(f"{prefix}.amount", "must not be 0", index)
        if desc and amount is not None and service:
            adjustments.append(Adjustment(desc, amount, service, tax, tax_rate))

    totals = None
    if data.get("totals") is not None:
        try:
            raw_totals = _object(data["totals"], "subtotal, tax, total")
        except _Bad as exc:
            err("totals", str(exc))
            raw_totals = {}
        unknown_fields(raw_totals, TOTALS_FIELDS, "totals.")
        values = {
            k: get(f"totals.{k}", _decimal, raw_totals.get(k), money=True)
            for k in ("subtotal", "tax", "total")
        }
        totals = Totals(values["subtotal"], values["tax"], values["total"])

    source = None
    if data.get("source") is not None:
        try:
            raw_source = _object(data["source"], "system and id")
            unknown_fields(raw_source, SOURCE_FIELDS, "source.")
            system = _name(raw_source.get("system"))
            sid = _name(raw_source.get("id"))
            url = _name(raw_source.get("url"), required=False)
            source = SourceRef(str(system), str(sid), url)
        except _Bad as exc:
            err("source", str(exc))

    if len(problems.errors) > count or not (num and customer and issue and currency):
        return None
    invoice = LocalInvoice(
        number=num,
        customer=customer,
        issue_date=issue,
        currency=currency,
        lines=tuple(lines),
        due_date=due,
        exchange_rate=rate,
        payment_terms=terms,
        tax_code=tax_code,
        tax_calculation=calc,
        status=status,
        po_number=po,
        note=note,
        adjustments=tuple(adjustments),
        totals=totals,
        source=source,
        origin=record.where(),
    )
    if totals is not None:
        _check_totals(invoice, totals, err)
    return None if len(problems.errors) > count else invoice


def _check_totals(invoice: LocalInvoice, totals: Totals, err: Any) -> None:
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
            err(f"totals.{name}", f"{stated} disagrees with the lines, which add up to {computed}")


def validate_records(records: list[Record]) -> tuple[list[LocalInvoice], Problems]:
    """Build every record, then check that invoice numbers are unique across the source."""
    problems = Problems()
    invoices: list[LocalInvoice] = []
    seen: dict[str, str] = {}
    for record in records:
        invoice = build_invoice(record, problems)
        number = record.data.get("number")
        if isinstance(number, str) and number in seen:
            problems.errors.append(
                f"{record.where()}: invoice {number}: number: duplicate of the invoice at "
                f"{seen[number]}"
            )
            invoice = None
        elif isinstance(number, str):
            seen[number] = record.where()
        if invoice is not None:
            invoices.append(invoice)
    return invoices, problems


def raise_if_invalid(problems: Problems, source: str) -> None:
    if problems.errors:
        n = len(problems.errors)
        raise SourceError(
            f"{source}: {n} problem{'s' if n != 1 else ''} in the source; nothing was sent. "
            "Fix the file and run again",
            details=problems.errors,
        )
