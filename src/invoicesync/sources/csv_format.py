"""CSV: one row per invoice line (or adjustment), invoice fields repeated, grouped by number.

Columns are the canonical names below; `[csv.columns]` in config.toml maps any of them to the
header your export uses. UTF-8 with or without BOM; comma or semicolon, as the header uses.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping
from operator import itemgetter
from typing import Any

from invoicesync.models import LocalInvoice
from invoicesync.sources.base import LINE_FIELD_ORDER, Problems, Record
from invoicesync.sources.fields import safe
from invoicesync.sources.unknown import UNKNOWN_COLUMN, money_name

# Invoice fields that map one to one onto the canonical record.
PLAIN_COLUMNS = (
    "issue_date",
    "due_date",
    "currency",
    "exchange_rate",
    "payment_terms",
    "tax_code",
    "tax_calculation",
    "status",
    "po_number",
    "note",
    "type",
    "credit_for",
)
ATTACHMENT_SEPARATOR = "|"
INVOICE_COLUMNS = (
    "number",
    "customer_name",
    "customer_email",
    "customer_tax_id",
    "customer_country",
    *PLAIN_COLUMNS,
    "subtotal",
    "tax_total",
    "total",
    "source_system",
    "source_id",
    "source_url",
    "attachments",
)
LINE_COLUMNS = ("kind", *LINE_FIELD_ORDER)
ADJUSTMENT_COLUMNS = ("description", "amount", "service", "tax", "tax_rate")
CUSTOMER_KEYS = ("name", "email", "tax_id", "country")
TOTAL_COLUMNS = (("subtotal", "subtotal"), ("tax", "tax_total"), ("total", "total"))
COLUMNS = INVOICE_COLUMNS + LINE_COLUMNS
_MAX_FIELD = 1_000_000


def read_csv(
    name: str, text: str, problems: Problems, columns: Mapping[str, str] | None = None
) -> Iterator[Record]:
    """Records, one per invoice number, with the line of every row."""
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\n" not in text:
        text = text.replace("\r", "\n")  # old Mac line ends: lines end with "\r" alone
    header_line = text.split("\n", 1)[0]
    delimiter = ";" if header_line.count(";") > header_line.count(",") else ","
    header_of = {canon: columns.get(canon, canon) for canon in COLUMNS} if columns else {}
    canon_of = {v: k for k, v in header_of.items()}
    csv.field_size_limit(_MAX_FIELD)
    reader = csv.reader(_physical_lines(text), delimiter=delimiter, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as exc:
        problems.errors.append(f"{name}:1: invalid CSV: {exc}")
        return
    fields = [canon_of.get(h.strip(), h.strip()) for h in header]
    for h, f in zip(header, fields, strict=True):
        if f not in COLUMNS:
            _unknown_column(name, h, problems)
    if "number" not in fields:
        problems.errors.append(f"{name}:1: missing column(s) {header_of.get('number', 'number')}")
        return
    layout = _Layout(fields)
    yield from _records(name, text, delimiter, len(fields), layout, problems)


def _unknown_column(name: str, header: str, problems: Problems) -> None:
    """A column the mapping does not know: an error when its name speaks of money (every row is
    a line, and its value would be dropped), a warning otherwise (docs/invoice-format.md
    #unknown-fields)."""
    if money_name(header.strip()):
        problems.errors.append(f"{name}:1: column {header!r}: {UNKNOWN_COLUMN}")
    else:
        problems.warnings.append(f"{name}:1: column {header!r} is not a known field, ignored")


def _reader(text: str, delimiter: str) -> Any:
    reader = csv.reader(_physical_lines(text), delimiter=delimiter, strict=True)
    next(reader)  # the header, read already
    return reader


def _physical_lines(text: str) -> Iterator[str]:
    """The text's lines, each with its "\n", made one at a time: an `io.StringIO` over the
    whole text would hold a second, four-bytes-a-character copy of a large export."""
    start, end = 0, len(text)
    while start < end:
        stop = text.find("\n", start)
        stop = end if stop < 0 else stop + 1
        yield text[start:stop]
        start = stop


def _records(
    name: str, text: str, delimiter: str, width: int, layout: _Layout, problems: Problems
) -> Iterator[Record]:
    """One record per invoice number, in the order numbers first appear, each yielded as soon
    as its last row is read. A first pass counts each number's rows, so a 100,000-invoice file
    never holds more than the invoices still open (all rows of an invoice may be anywhere)."""
    remaining = _count_rows(text, delimiter, width, layout.number)
    # Insertion-ordered: the first key is the oldest invoice still open.
    groups: dict[str, list[tuple[int, list[str]]]] = {}
    reader = _reader(text, delimiter)
    number_at = layout.number
    line = 1
    try:
        for row in reader:
            line = reader.line_num
            if len(row) != width:
                if any(cell.strip() for cell in row):
                    problems.errors.append(
                        f"{name}:{line}: row has {len(row)} fields but the header has {width} "
                        f"(delimiter {delimiter!r})"
                    )
                continue
            number = row[number_at].strip()
            if not number and not any(cell.strip() for cell in row):
                continue  # a blank row
            rows = groups.get(number)
            if rows is None:
                groups[number] = [(line, row)]
            else:
                rows.append((line, row))
            left = remaining[number] - 1
            remaining[number] = left
            # Only a number's last row can complete the oldest open invoice (the others, if
            # complete, wait behind it): the rest of the rows skip the check.
            while left <= 0 and groups:
                done = next(iter(groups))
                if remaining[done] > 0:
                    break
                yield layout.record(name, done, groups.pop(done), problems)
    except csv.Error as exc:
        problems.errors.append(f"{name}:{reader.line_num or line}: invalid CSV: {exc}")
    for done, done_rows in groups.items():  # after a CSV error: what was read is still checked
        yield layout.record(name, done, done_rows, problems)


def _count_rows(text: str, delimiter: str, width: int, number_at: int) -> dict[str, int]:
    """How many rows each invoice number has (rows the second pass will keep)."""
    counts: dict[str, int] = {}
    reader = _reader(text, delimiter)
    try:
        for row in reader:
            if len(row) == width:
                number = row[number_at].strip()
                counts[number] = counts.get(number, 0) + 1
    except csv.Error:
        pass  # reported by the second pass, at its line
    return counts


class _Layout:
    """Where each canonical column is in this file's rows, and how rows become a record: each
    part of the record is a list of (key, index) pairs, so a row's non-empty cells are picked
    without building a dict of all its cells first."""

    def __init__(self, fields: list[str]) -> None:
        index: dict[str, int] = {}
        for i, f in enumerate(fields):
            if f in COLUMNS:
                index.setdefault(f, i)

        def pairs(keys: Iterable[tuple[str, str]]) -> list[tuple[str, int]]:
            return [(key, index[column]) for key, column in keys if column in index]

        self.number = index["number"]
        self.invoice = pairs((c, c) for c in INVOICE_COLUMNS)
        # The invoice columns of a row as one tuple: rows of an invoice compare in C.
        self.invoice_part = itemgetter(*(i for _c, i in self.invoice), self.number)
        self.customer = pairs((k, f"customer_{k}") for k in CUSTOMER_KEYS)
        self.plain = pairs((c, c) for c in PLAIN_COLUMNS)
        self.totals = pairs(TOTAL_COLUMNS)
        self.attachments = index.get("attachments")
        self.source = pairs((k, f"source_{k}") for k in ("system", "id", "url"))
        self.line = pairs((c, c) for c in LINE_COLUMNS if c != "kind")
        self.kind = index.get("kind")

    def record(
        self, name: str, number: str, rows: list[tuple[int, list[str]]], problems: Problems
    ) -> Record:
        first_line, first = rows[0]
        if len(rows) > 1:
            self._check_same(name, number, rows, problems)
        data = self._invoice_data(first[self.number], first)  # as written: see _trimmed
        lines: list[dict[str, Any]] = []
        adjustments: list[dict[str, Any]] = []
        line_numbers: list[int] = []
        adjustment_numbers: list[int] = []
        line_at, kind_at = self.line, self.kind
        for line, row in rows:
            cells = {k: row[i] for k, i in line_at if row[i]}
            kind = "line" if kind_at is None else (row[kind_at].strip().lower() or "line")
            if kind == "adjustment":
                adjustments.append({k: cells[k] for k in ADJUSTMENT_COLUMNS if k in cells})
                adjustment_numbers.append(line)
            elif kind == "line":
                lines.append(cells)
                line_numbers.append(line)
            else:
                problems.errors.append(
                    f"{name}:{line}: invoice {safe(number)}: kind: {kind!r} must be line or "
                    "adjustment"
                )
        data["lines"] = lines
        if adjustments:
            data["adjustments"] = adjustments
        return Record(data, name, first_line, tuple(line_numbers + adjustment_numbers))

    def _check_same(
        self, name: str, number: str, rows: list[tuple[int, list[str]]], problems: Problems
    ) -> None:
        """Every row of an invoice repeats the first row's invoice columns."""
        first_line, first = rows[0]
        expected = self.invoice_part(first)
        for line, row in rows[1:]:
            if self.invoice_part(row) == expected:
                continue
            for col, i in self.invoice:
                if row[i] != first[i]:
                    problems.errors.append(
                        f"{name}:{line}: invoice {safe(number)}: {col}: differs from the first "
                        f"row of this invoice (line {first_line})"
                    )

    def _invoice_data(self, number: str, row: list[str]) -> dict[str, Any]:
        """The canonical invoice fields from the non-empty invoice cells of a first row."""
        data: dict[str, Any] = {
            "number": number or None,
            "customer": {k: row[i] for k, i in self.customer if row[i]},
        }
        for k, i in self.plain:
            if row[i]:
                data[k] = row[i]
        totals = {k: row[i] for k, i in self.totals if row[i]}
        if totals:
            data["totals"] = totals
        if self.attachments is not None and row[self.attachments]:
            paths = row[self.attachments].split(ATTACHMENT_SEPARATOR)
            data["attachments"] = [p.strip() for p in paths if p.strip()]
        source = {k: row[i] for k, i in self.source if row[i]}
        if "system" in source or "id" in source:
            data["source"] = source
        return data


def csv_rows(invoice: LocalInvoice) -> list[dict[str, str]]:
    """The CSV rows of an invoice (the inverse of reading), for exports and round-trip tests."""

    def s(value: Any) -> str:
        if value is None:
            return ""
        if hasattr(value, "isoformat"):
            return str(value.isoformat())
        return str(value)

    head = {
        "number": invoice.number,
        "customer_name": invoice.customer.name,
        "customer_email": s(invoice.customer.email),
        "customer_tax_id": s(invoice.customer.tax_id),
        "customer_country": s(invoice.customer.country),
        "issue_date": s(invoice.issue_date),
        "due_date": s(invoice.due_date),
        "currency": invoice.currency,
        "exchange_rate": s(invoice.exchange_rate),
        "payment_terms": s(invoice.payment_terms),
        "tax_code": s(invoice.tax_code),
        "tax_calculation": ""
        if invoice.tax_calculation == "exclusive"
        else invoice.tax_calculation,
        "status": "" if invoice.status == "sent" else invoice.status,
        "type": "" if invoice.type == "invoice" else invoice.type,
        "credit_for": s(invoice.credit_for),
        "attachments": ATTACHMENT_SEPARATOR.join(a.name for a in invoice.attachments),
        "po_number": s(invoice.po_number),
        "note": s(invoice.note),
        "subtotal": s(invoice.totals.subtotal if invoice.totals else None),
        "tax_total": s(invoice.totals.tax if invoice.totals else None),
        "total": s(invoice.totals.total if invoice.totals else None),
        "source_system": s(invoice.source.system if invoice.source else None),
        "source_id": s(invoice.source.id if invoice.source else None),
        "source_url": s(invoice.source.url if invoice.source else None),
    }
    rows = []
    for line in invoice.lines:
        cells = {k: s(getattr(line, k)) for k in LINE_COLUMNS if k != "kind"}
        rows.append({**head, "kind": "", **cells})
    for adj in invoice.adjustments:
        cells = {k: "" for k in LINE_COLUMNS}
        cells.update(
            {k: s(getattr(adj, k)) for k in ("description", "amount", "service", "tax", "tax_rate")}
        )
        rows.append({**head, **cells, "kind": "adjustment"})
    return rows


def write_csv(invoices: list[LocalInvoice], delimiter: str = ",") -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(COLUMNS), delimiter=delimiter, lineterminator="\n")
    writer.writeheader()
    for invoice in invoices:
        writer.writerows(csv_rows(invoice))
    return out.getvalue()
