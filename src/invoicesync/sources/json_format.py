"""Canonical JSON: one invoice object, an array of them, or JSON Lines (`.jsonl`, `.ndjson`)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

from invoicesync.models import LocalInvoice, field_names, members
from invoicesync.sources.base import Problems, Record


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows here")


def _decoder() -> json.JSONDecoder:
    return json.JSONDecoder(parse_float=Decimal, parse_constant=_no_constants)


class _Lines:
    """Line numbers for positions visited in increasing order: counting from the previous
    position keeps a 50,000-invoice file linear rather than quadratic."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.line = 1

    def at(self, pos: int) -> int:
        if pos < self.pos:
            self.pos, self.line = 0, 1
        self.line += self.text.count("\n", self.pos, pos)
        self.pos = pos
        return self.line


_WS = re.compile(r"[ \t\r\n]*")


def _skip_ws(text: str, pos: int) -> int:
    return _WS.match(text, pos).end()  # type: ignore[union-attr]


def read_json(name: str, text: str, problems: Problems, *, lines: bool = False) -> Iterator[Record]:
    """Records, as they are parsed, with the line each invoice object starts on (and the
    document, so a problem can name its field's own line); `lines`: JSON Lines."""
    if lines:
        yield from _read_lines(name, text, problems)
        return
    decoder = _decoder()
    at = _Lines(text)
    pos = _skip_ws(text, 0)
    try:
        if text.startswith("[", pos):
            pos = _skip_ws(text, pos + 1)
            if text.startswith("]", pos):
                pos = _skip_ws(text, pos + 1)
            else:
                while True:
                    start = pos
                    value, pos = decoder.raw_decode(text, pos)
                    yield from _record(value, name, at.at(start), problems, text, start)
                    pos = _skip_ws(text, pos)
                    if text.startswith(",", pos):
                        pos = _skip_ws(text, pos + 1)
                        continue
                    if text.startswith("]", pos):
                        pos = _skip_ws(text, pos + 1)
                        break
                    raise json.JSONDecodeError("Expecting ',' or ']'", text, pos)
        else:
            start = pos
            value, pos = decoder.raw_decode(text, pos)
            yield from _record(value, name, at.at(start), problems, text, start)
            pos = _skip_ws(text, pos)
        if pos != len(text):
            raise json.JSONDecodeError("Extra data after the invoices", text, pos)
    except json.JSONDecodeError as exc:
        problems.errors.append(_syntax(name, exc))
    except (ValueError, RecursionError) as exc:
        problems.errors.append(f"{name}:{at.at(pos)}: invalid JSON: {exc}")


def _syntax(name: str, exc: json.JSONDecodeError, lines_before: int = 0) -> str:
    """`file:line:column: invalid JSON: …`; a "," before a closing bracket or brace (what
    JavaScript and Python allow and JSON does not) is named at the comma as a trailing comma."""
    text, pos = exc.doc, exc.pos
    before = len(text[:pos].rstrip(" \t\r\n"))
    if pos < len(text) and text[pos] in "]}" and before and text[before - 1] == ",":
        comma = before - 1
        line = text.count("\n", 0, comma) + 1 + lines_before
        column = comma - text.rfind("\n", 0, comma)
        return (
            f'{name}:{line}:{column}: invalid JSON: trailing comma? JSON allows no "," '
            "before a closing bracket or brace; remove it"
        )
    return f"{name}:{exc.lineno + lines_before}:{exc.colno}: invalid JSON: {exc.msg}"


def _read_lines(name: str, text: str, problems: Problems) -> Iterator[Record]:
    decoder = _decoder()
    # Only "\n" ends a line: splitlines() would also split at U+2028 and friends, which a
    # JSON string may hold (and the validator then refuses with a clear message).
    for number, raw in enumerate(text.split("\n"), start=1):
        if not raw.strip():
            continue
        try:
            value = decoder.decode(raw)
        except json.JSONDecodeError as exc:
            problems.errors.append(_syntax(name, exc, number - 1))
            continue
        except (ValueError, RecursionError) as exc:
            problems.errors.append(f"{name}:{number}: invalid JSON: {exc}")
            continue
        yield from _record(value, name, number, problems)


def _record(
    value: Any, name: str, line: int, problems: Problems, text: str | None = None, start: int = 0
) -> Iterator[Record]:
    """The record for one parsed value (none, with a problem, if it is not an object)."""
    if type(value) is not dict:
        problems.errors.append(
            f"{name}:{line}: expected an invoice object, got {type(value).__name__}"
        )
    elif value:
        yield Record(value, name, line, text=text, offset=start)


def _flat(value: Any) -> dict[str, Any]:
    """A model's non-empty fields as JSON values: Decimals as exact strings, dates ISO (one
    type check per field: `invoices --json` makes this 100,000 times)."""
    out: dict[str, Any] = {}
    for name in field_names(type(value)):
        item = getattr(value, name)
        if item is None:
            continue
        kind = type(item)
        if kind is Decimal:
            item = str(item)
        elif kind is tuple:  # a line's `taxes`: written only when it has some
            if not item:
                continue
            item = [_flat(t) for t in item]
        elif kind is not str and isinstance(item, date):
            item = item.isoformat()
        out[name] = item
    return out


def to_canonical(invoice: LocalInvoice) -> dict[str, Any]:
    """The canonical JSON form of an invoice (money as strings, exact)."""
    out: dict[str, Any] = {"number": invoice.number, "customer": _flat(invoice.customer)}
    out["issue_date"] = invoice.issue_date.isoformat()
    if invoice.due_date:
        out["due_date"] = invoice.due_date.isoformat()
    out["currency"] = invoice.currency
    for key in ("exchange_rate", "payment_terms", "tax_code", "po_number", "note"):
        value = getattr(invoice, key)
        if value is not None:
            out[key] = str(value) if type(value) is Decimal else value
    if invoice.tax_calculation != "exclusive":
        out["tax_calculation"] = invoice.tax_calculation
    if invoice.status != "sent":
        out["status"] = invoice.status
    out["lines"] = [_flat(line) for line in invoice.lines]
    if invoice.adjustments:
        out["adjustments"] = [_flat(a) for a in invoice.adjustments]
    if invoice.totals:
        out["totals"] = {k: str(v) for k, v in members(invoice.totals) if v is not None}
    if invoice.source:
        out["source"] = _flat(invoice.source)
    if invoice.type != "invoice":
        out["type"] = invoice.type
    if invoice.credit_for is not None:
        out["credit_for"] = invoice.credit_for
    if invoice.attachments:
        out["attachments"] = [a.name for a in invoice.attachments]
    return out
