"""Lines and adjustments of a record: the part of validation that runs for every line of a
100,000-invoice export, so absent optional fields cost one dict lookup."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from invoicesync.models import Adjustment, Line, Tax, round_money
from invoicesync.sources import fields as f
from invoicesync.sources.base import ADJUSTMENT_FIELDS, LINE_FIELDS, FieldPath
from invoicesync.sources.check import Check
from invoicesync.sources.taxes import category_rule, parse_taxes

_D, _SL, _TL = "description", "source_language", "target_language"
NEGATIVE = (
    "is negative: a discount is an adjustment with a negative amount, and money given back is a "
    "credit note (type credit_note, positive amounts); see docs/invoice-format.md#adjustments"
)


# quantity × unit_price per pair: the amount, and its text when within QuickBooks' limit.
_AMOUNTS: dict[tuple[Decimal, Decimal], tuple[Decimal, str | None]] = {}


def _amount(qty: Decimal, price: Decimal) -> tuple[Decimal, str | None]:
    """quantity × unit_price, half-up to cents, kept once per pair (the result is the same
    whichever way equal inputs were written: it is always quantized to cents), with how it is
    written when |amount| is within the limit: a stated amount written so (what exports
    write) is that valid amount without being parsed."""
    key = (qty, price)
    found = _AMOUNTS.get(key)
    if found is None:
        amount = round_money(qty * price)
        found = (amount, str(amount) if abs(amount) <= f.MAX_AMOUNT else None)
        if len(_AMOUNTS) < 65536:
            _AMOUNTS[key] = found
    return found


def _tax(c: Check, path: FieldPath, raw: Mapping[str, Any]) -> tuple[Any, Any]:
    """A line's `tax` (QuickBooks tax code name, or an EN 16931 VAT category) and `tax_rate`,
    with the category's rate rules (EN 16931 BR-S-05, BR-Z-05, BR-E-05, BR-O-05…)."""
    tax = c.opt((*path, "tax"), f.optional_name, raw.get("tax"))
    rate = c.opt((*path, "tax_rate"), f.decimal, raw.get("tax_rate"))
    if rate is not None and not 0 <= rate <= 100:
        c.err(
            (*path, "tax_rate"),
            f"{rate} must be a percentage between 0 and 100 (a withholding such as IRPF is a "
            "second tax: see docs/invoice-format.md#several-taxes-on-a-line)",
        )
    if (problem := category_rule(tax, rate)) is not None:
        c.err((*path, "tax_rate"), problem)
    return tax, rate


def _line_taxes(
    c: Check, path: FieldPath, raw: Mapping[str, Any]
) -> tuple[Any, Any, tuple[Tax, ...]]:
    """A line's `tax`, `tax_rate` (one tax) or `taxes` (several); most lines cost two lookups."""
    if "taxes" in raw:
        taxes = parse_taxes(c, path, raw)
        if len(taxes) == 1 and taxes[0].name is None:  # the shorthand, written as a list
            return taxes[0].category, taxes[0].rate, ()
        return None, None, taxes
    if "tax" in raw or "tax_rate" in raw:
        return (*_tax(c, path, raw), ())
    return None, None, ()


def parse_lines(c: Check, raw_lines: Any) -> tuple[Line, ...]:
    if not isinstance(raw_lines, list) or not raw_lines:
        c.err(("lines",), "at least one line is required")
        return ()
    lines = []
    for i, raw in enumerate(raw_lines):
        path: FieldPath = ("lines", i)
        if type(raw) is not dict and not isinstance(raw, Mapping):
            c.err(path, "must be an object")
            continue
        if not raw.keys() <= LINE_FIELDS:
            c.unknown(raw, LINE_FIELDS, path, money=True)
        line = _line(c, path, raw)
        if line is not None:
            lines.append(line)
    return tuple(lines)


# Values already accepted (see fields.KNOWN_NAMES): a line's service, quantity, price and
# amount are looked up here first, so a repeated value costs one dict lookup, no call.
_NAMES = f.KNOWN_NAMES
_NUMBERS = f.KNOWN_NUMBERS[f.MAX_PLACES]
_MONEY = f.KNOWN_NUMBERS[f.MONEY_PLACES]


def _line(c: Check, path: FieldPath, raw: Mapping[str, Any]) -> Line | None:
    """One line, its problems recorded in the order of its fields. Absent optional fields
    cost one dict lookup: this runs for every line of a 100,000-invoice export."""
    get = c.get
    v = raw.get("service")
    service = v if type(v) is str and v in _NAMES else get((*path, "service"), f.name, v)
    v = raw.get("quantity")
    if (qty := _NUMBERS.get(v) if type(v) is str else None) is None:
        qty = get((*path, "quantity"), f.decimal, v, True)
    v = raw.get("unit_price")
    if (price := _NUMBERS.get(v) if type(v) is str else None) is None:
        price = get((*path, "unit_price"), f.decimal, v, True)
    known = None if qty is None or price is None else _amount(qty, price)
    if (v := raw.get("amount")) is None:
        amount = None
    elif known is not None and v == known[1]:
        amount = known[0]
    elif (amount := _MONEY.get(v) if type(v) is str else None) is None:
        amount = get((*path, "amount"), f.money, v)
    tax, rate, taxes = _line_taxes(c, path, raw)
    desc = None if (v := raw.get("description")) is None else get((*path, _D), f.short_text, v)
    unit = None if (v := raw.get("unit")) is None else get((*path, "unit"), f.short_text, v)
    source_language = c.opt((*path, _SL), f.text, raw.get(_SL)) if _SL in raw else None
    target_language = c.opt((*path, _TL), f.text, raw.get(_TL)) if _TL in raw else None
    day = (
        None
        if (v := raw.get("service_date")) is None
        else get((*path, "service_date"), f.parse_date, v)
    )
    if qty is not None and qty <= 0:
        c.err(
            (*path, "quantity"),
            f"{qty} must be greater than 0" if qty == 0 else f"{qty} {NEGATIVE}",
        )
    if price is not None and price < 0:
        c.err((*path, "unit_price"), f"{price} {NEGATIVE}")
    if known is None:
        return None
    expected, written = known
    if written is None:  # beyond the limit
        c.err(
            (*path, "amount"),
            f"quantity × unit_price = {expected} is too large; invoicesync sends at most "
            f"{f.MAX_AMOUNT:,} on a line",
        )
    elif amount is not None and amount != expected:
        c.err(
            (*path, "amount"),
            f"{amount} is not quantity × unit_price = {qty} × {price} = {expected} "
            "(rounded half-up to cents)",
        )
    if not service:
        return None
    return Line(service, qty, price, expected, desc, unit, tax, rate,
                source_language, target_language, day, taxes)  # fmt: skip


def parse_adjustments(c: Check, raw_adjustments: Any) -> tuple[Adjustment, ...]:
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
        c.unknown(raw, ADJUSTMENT_FIELDS, path, money=True)
        desc = c.get((*path, "description"), f.name, raw.get("description"))
        amount = c.get((*path, "amount"), f.money, raw.get("amount"), True)
        service = c.get((*path, "service"), f.name, raw.get("service"))
        tax, rate = _tax(c, path, raw)
        if amount is not None and amount == 0:
            c.err((*path, "amount"), "must not be 0")
        if desc and amount is not None and service:
            adjustments.append(Adjustment(desc, amount, service, tax, rate))
    return tuple(adjustments)
