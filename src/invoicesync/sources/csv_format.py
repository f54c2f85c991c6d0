"""CSV: one row per invoice line (or adjustment), invoice fields repeated, grouped by number
(sources/table.py). UTF-8 with or without BOM (or [source] encoding); comma or semicolon, as
the header uses; decimal points, or commas (sources/decimals.py).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from invoicesync.models import LocalInvoice
from invoicesync.source_config import CsvOptions
from invoicesync.sources.base import TAX_COLUMNS, Problems, Record
from invoicesync.sources.decimals import Cell, Convention
from invoicesync.sources.table import ATTACHMENT_SEPARATOR, COLUMNS, LINE_COLUMNS, Layout, layout_of

_MAX_FIELD = 1_000_000


def read_csv(
    name: str,
    text: str,
    problems: Problems,
    columns: CsvOptions | Mapping[str, str] | None = None,
    decimal: str = "auto",
) -> Iterator[Record]:
    """Records, one per invoice number, with the line of every row; `columns`: [csv] (or
    just its column map); `decimal`: the file's decimal convention, "auto", "dot" or "comma"
    (sources/decimals.py)."""
    if not isinstance(columns, CsvOptions):
        columns = CsvOptions(columns=dict(columns or {}))
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\n" not in text:
        text = text.replace("\r", "\n")  # old Mac line ends: lines end with "\r" alone
    header_line = text.split("\n", 1)[0]
    delimiter = ";" if header_line.count(";") > header_line.count(",") else ","
    csv.field_size_limit(_MAX_FIELD)
    reader = csv.reader(_physical_lines(text), delimiter=delimiter, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as exc:
        problems.errors.append(f"{name}:1: invalid CSV: {exc}")
        return
    layout = layout_of(name, header, columns, problems)
    if layout is None:
        return
    width = len(header)

    def cells() -> Iterable[Cell]:
        return layout.numeric_cells(_rows(text, delimiter, width))

    layout.decimals = Convention(decimal, name, problems, cells)
    yield from _records(name, text, delimiter, width, layout, problems)


def _rows(text: str, delimiter: str, width: int) -> Iterator[tuple[int, list[str]]]:
    """The rows of the header's width with their lines (a decimal convention's scan)."""
    reader = _reader(text, delimiter)
    try:
        for row in reader:
            if len(row) == width:
                yield reader.line_num, row
    except csv.Error:
        return  # reported by the reading pass, at its line


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
    name: str, text: str, delimiter: str, width: int, layout: Layout, problems: Problems
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
        cells = {k: s(getattr(line, k, None)) for k in LINE_COLUMNS if k != "kind"}
        for tax, group in zip(line.taxes, TAX_COLUMNS, strict=False):  # at most two
            cells.update(zip(group, (tax.category, s(tax.rate), s(tax.name)), strict=True))
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
