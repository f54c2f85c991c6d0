"""CSV: one row per invoice line (or adjustment), invoice fields repeated, grouped by number.

Columns are the canonical names below; `[csv.columns]` in config.toml maps any of them to the
header your export uses. UTF-8 with or without BOM; comma or semicolon, as the header uses.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from typing import Any

from invoicesync.models import LocalInvoice
from invoicesync.sources.base import LINE_FIELD_ORDER, Problems, Record
from invoicesync.sources.fields import safe

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
COLUMNS = INVOICE_COLUMNS + LINE_COLUMNS
_MAX_FIELD = 1_000_000


def read_csv(
    name: str, text: str, problems: Problems, columns: Mapping[str, str] | None = None
) -> list[Record]:
    """Records, one per invoice number, with the line of every row."""
    if text.startswith("\ufeff"):
        text = text[1:]
    header_line = text.split("\n", 1)[0]
    delimiter = ";" if header_line.count(";") > header_line.count(",") else ","
    header_of = {canon: columns.get(canon, canon) for canon in COLUMNS} if columns else {}
    canon_of = {v: k for k, v in header_of.items()}
    csv.field_size_limit(_MAX_FIELD)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        return []
    except csv.Error as exc:
        problems.errors.append(f"{name}:1: invalid CSV: {exc}")
        return []
    fields = [canon_of.get(h.strip(), h.strip()) for h in header]
    for h, f in zip(header, fields, strict=True):
        if f not in COLUMNS:
            problems.warnings.append(f"{name}:1: column {h!r} is not a known field, ignored")
    missing = [c for c in ("number",) if c not in fields]
    if missing:
        problems.errors.append(
            f"{name}:1: missing column(s) {', '.join(header_of.get(c, c) for c in missing)}"
        )
        return []
    groups: dict[str, list[tuple[int, dict[str, str]]]] = {}
    line = 1
    try:
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(fields):
                problems.errors.append(
                    f"{name}:{line}: row has {len(row)} fields but the header has {len(fields)} "
                    f"(delimiter {delimiter!r})"
                )
                continue
            values = {f: v for f, v in zip(fields, row, strict=True) if f in COLUMNS}
            groups.setdefault(values.get("number", "").strip(), []).append((line, values))
    except csv.Error as exc:
        problems.errors.append(f"{name}:{reader.line_num or line}: invalid CSV: {exc}")
    return [_to_record(name, number, rows, problems) for number, rows in groups.items()]


def _to_record(
    name: str, number: str, rows: list[tuple[int, dict[str, str]]], problems: Problems
) -> Record:
    first_line, first = rows[0]
    for line, row in rows[1:]:
        for col in INVOICE_COLUMNS:
            if row.get(col, "") != first.get(col, ""):
                problems.errors.append(
                    f"{name}:{line}: invoice {safe(number)}: {col}: differs from the first row of "
                    f"this invoice (line {first_line})"
                )
    v = {k: (x if x != "" else None) for k, x in first.items()}
    data: dict[str, Any] = {
        "number": number or None,
        "customer": {
            k: v.get(f"customer_{k}")
            for k in ("name", "email", "tax_id", "country")
            if v.get(f"customer_{k}") is not None
        },
    }
    for key in PLAIN_COLUMNS:
        if v.get(key) is not None:
            data[key] = v[key]
    totals = {
        k: v[c]
        for k, c in (("subtotal", "subtotal"), ("tax", "tax_total"), ("total", "total"))
        if v.get(c) is not None
    }
    if totals:
        data["totals"] = totals
    if (paths := v.get("attachments")) is not None:
        data["attachments"] = [p.strip() for p in paths.split(ATTACHMENT_SEPARATOR) if p.strip()]
    if v.get("source_system") or v.get("source_id"):
        data["source"] = {
            k: v.get(f"source_{k}")
            for k in ("system", "id", "url")
            if v.get(f"source_{k}") is not None
        }
    lines: list[dict[str, Any]] = []
    adjustments: list[dict[str, Any]] = []
    line_numbers: list[int] = []
    adjustment_numbers: list[int] = []
    for line, row in rows:
        cells = {k: row[k] for k in LINE_COLUMNS if row.get(k, "") != "" and k != "kind"}
        kind = (row.get("kind") or "line").strip().lower()
        if kind == "adjustment":
            adjustments.append(
                {
                    k: cells[k]
                    for k in ("description", "amount", "service", "tax", "tax_rate")
                    if k in cells
                }
            )
            adjustment_numbers.append(line)
        elif kind == "line":
            lines.append(cells)
            line_numbers.append(line)
        else:
            problems.errors.append(
                f"{name}:{line}: invoice {safe(number)}: kind: {kind!r} must be line or adjustment"
            )
    data["lines"] = lines
    if adjustments:
        data["adjustments"] = adjustments
    return Record(data, name, first_line, tuple(line_numbers + adjustment_numbers))


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
