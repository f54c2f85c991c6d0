"""The source interface and the one validator every format feeds.

Formats turn their bytes into canonical records (plain dicts shaped like the JSON format,
docs/invoice-format.md) tagged with a location; `build_invoice` validates a record and returns a
`LocalInvoice` or adds `file:line: invoice N: field: message` problems. One validator means the
JSON and CSV forms of the same data give equal invoices and the same messages.
"""

from __future__ import annotations

import json
import re
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from json.decoder import scanstring  # type: ignore[attr-defined]
from typing import TYPE_CHECKING, Any

from invoicesync.errors import SourceError
from invoicesync.models import LocalInvoice

if TYPE_CHECKING:
    from invoicesync.sources.decimals import Convention

# A field inside a record: keys and 0-based list indexes, e.g. ("lines", 1, "amount").
FieldPath = tuple[str | int, ...]

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
    "type",
    "credit_for",
    "attachments",
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
# `taxes` (several taxes on a line) is a list: in a table it is written as the tax columns of
# TAX_COLUMNS (sources/table.py), never as one cell.
LINE_FIELDS = {*LINE_FIELD_ORDER, "taxes"}
# A table's columns for a line's taxes: the first tax's, then the second's (category, rate, name).
TAX_COLUMNS = (("tax", "tax_rate", "tax_name"), ("tax2", "tax2_rate", "tax2_name"))
TAX_KEYS = ("category", "rate", "name")


@dataclass(frozen=True)
class SourceRules:
    """What the configured target takes of an invoice, checked as the source is read, so a
    record it would refuse fails before any call (exit 8) with the target's own words. Each
    target states its own (`Target.source_rules`); the defaults hold for any target."""

    target: str = "the target"  # for messages: "QuickBooks allows at most 21"
    number_max: int | None = None  # the longest invoice number it keeps; None: no known limit


def tax_column(path: tuple[str | int, ...]) -> str | None:
    """The table column of a field inside a line's `taxes` (None: not one)."""
    if len(path) == 5 and path[2] == "taxes" and isinstance(path[3], int) and path[3] < 2:
        return TAX_COLUMNS[path[3]][TAX_KEYS.index(str(path[4]))] if path[4] in TAX_KEYS else None
    return None


ADJUSTMENT_FIELDS = {"description", "amount", "service", "tax", "tax_rate"}
CUSTOMER_FIELDS = {"name", "email", "tax_id", "country"}
TOTALS_FIELDS = {"subtotal", "tax", "total"}
SOURCE_FIELDS = {"system", "id", "url"}


@dataclass
class Problems:
    """Collects every problem in a source so the user sees them all at once."""

    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Record:
    """A canonical record read from a file, with where it came from."""

    data: Mapping[str, Any]
    file: str
    line: int
    # CSV (one physical line per invoice line): the line of each line, then each adjustment.
    line_numbers: tuple[int, ...] = ()
    # JSON: the document and where this record starts in it, to find a field's own line.
    text: str | None = None
    offset: int = 0
    # CSV: the file's decimal convention, for a number the validator cannot read as plain.
    decimals: Convention | None = None
    # A row of a list of invoices: its one line is the net total (sources/table.py one_row).
    header_only: bool = False

    def where(self, path: FieldPath = ()) -> str:
        """`file:line` of the field at `path` (its own line when the format knows it)."""
        line = self.line
        if self.text is not None and path:
            end = locate(self.text, self.offset, path)
            line += self.text.count("\n", self.offset, end)
        elif self.line_numbers and len(path) > 1 and isinstance(path[1], int):
            lines = self.data.get("lines")
            first = len(lines) if isinstance(lines, list) else 0
            index = path[1] + (first if path[0] == "adjustments" else 0)
            if path[0] in ("lines", "adjustments") and index < len(self.line_numbers):
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


def raise_if_invalid(problems: Problems, source: str) -> None:
    if problems.errors:
        n = len(problems.errors)
        raise SourceError(
            f"{source}: {n} problem{'s' if n != 1 else ''} in the source; nothing was sent. "
            "Fix the file and run again",
            details=problems.errors,
        )


# --- where a field is in a JSON document --------------------------------------------------

_DECODER = json.JSONDecoder(parse_float=Decimal, parse_constant=lambda c: c)
_WS = re.compile(r"[ \t\r\n]*")


def locate(text: str, pos: int, path: FieldPath) -> int:
    """Offset of the value at `path` inside the JSON value starting at `pos`, or of the nearest
    enclosing value that exists (a missing field points at its object). Only run for a record
    that has a problem, so the rescan costs nothing on a valid file."""
    try:
        for step in path:
            pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
            found = _child(text, pos, step)
            if found is None:
                return pos
            pos = found
        return _WS.match(text, pos).end()  # type: ignore[union-attr]
    except (ValueError, IndexError):  # pragma: no cover - the record parsed once already
        return pos


def _child(text: str, pos: int, step: str | int) -> int | None:
    """Start of member `step` (a key, or a 0-based index) of the object/array at `pos`; for
    a key given twice, the last one, as the parser keeps."""
    opener = text[pos]
    if opener not in "{[" or (opener == "{") != isinstance(step, str):
        return None
    pos, index, found = pos + 1, 0, None
    while True:
        pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
        if text[pos] in "}]":
            return found
        if opener == "{":
            key, pos = scanstring(text, pos + 1)
            pos = _WS.match(text, pos).end() + 1  # type: ignore[union-attr]
            pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
            if key == step:
                found = pos
        elif index == step:
            return pos
        _value, pos = _DECODER.raw_decode(text, pos)
        pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
        index += 1
        if text[pos] == ",":
            pos += 1
