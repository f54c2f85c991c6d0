"""Rows of a table (a CSV file, an .xlsx sheet) as canonical records: one row per invoice line
(or adjustment), invoice fields repeated, grouped by number.

Columns are the canonical names below; `[csv.columns]` in config.toml maps any of them to the
header your export uses.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from operator import itemgetter
from typing import Any

from invoicesync.source_config import INVOICE_DEFAULTS, LINE_DEFAULTS, CsvOptions
from invoicesync.sources.base import LINE_FIELD_ORDER, TAX_COLUMNS, TAX_KEYS, Problems, Record
from invoicesync.sources.decimals import Convention
from invoicesync.sources.fields import BadNumber, safe
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
# The first tax's name and a second tax: a line with any of them has `taxes` (sources/taxes.py).
SECOND_TAX_COLUMNS = ("tax_name", "tax2", "tax2_rate", "tax2_name")
LINE_COLUMNS = ("kind", *LINE_FIELD_ORDER, *SECOND_TAX_COLUMNS)
ADJUSTMENT_COLUMNS = ("description", "amount", "service", "tax", "tax_rate")
CUSTOMER_KEYS = ("name", "email", "tax_id", "country")
TOTAL_COLUMNS = (("subtotal", "subtotal"), ("tax", "tax_total"), ("total", "total"))
COLUMNS = INVOICE_COLUMNS + LINE_COLUMNS
ONE_ROW_DOC = "docs/invoice-format.md#one-row-per-invoice"
# Columns that hold numbers: what a decimal convention reads (sources/decimals.py).
NUMERIC_COLUMNS = (
    "exchange_rate",
    "subtotal",
    "tax_total",
    "total",
    "quantity",
    "unit_price",
    "amount",
    "tax_rate",
    "tax2_rate",
)


def layout_of(
    name: str,
    header: list[str],
    csv: CsvOptions | None,
    problems: Problems,
    unnamed: bool = True,
) -> Layout | None:
    """The layout of a header row (None, with the problem, when the rows cannot be read);
    unknown columns are warned of, or refused when they speak of money, unless `[csv] ignore`
    names them; `unnamed`: a column without a header is warned of too (False: the caller
    checks its cells)."""
    csv = csv or CsvOptions()
    columns, ignore = csv.columns, csv.ignore
    header_of = {canon: columns.get(canon, canon) for canon in COLUMNS} if columns else {}
    canon_of = {v: k for k, v in header_of.items()}
    fields = ["" if h.strip() in ignore else canon_of.get(h.strip(), h.strip()) for h in header]
    for h, f in zip(header, fields, strict=True):
        if f not in COLUMNS and (unnamed or f) and h.strip() not in ignore:
            _unknown_column(name, h, problems)
    if "number" not in fields:
        problems.errors.append(f"{name}:1: missing column(s) {header_of.get('number', 'number')}")
        return None
    layout = Layout(fields, header, csv.defaults)
    if layout.header_only and not _one_row_ready(name, layout, problems):
        return None
    return layout


def _one_row_ready(name: str, layout: Layout, problems: Problems) -> bool:
    """A table without line columns is a list of invoices, each row one invoice whose one
    line is its net total (docs/invoice-format.md#one-row-per-invoice): it needs that total
    and a service for the line."""
    where = f"{name}:1: this file has no line columns (quantity, unit_price, amount)"
    found = [c for c, _i in layout.totals]
    if "subtotal" not in found:
        problems.errors.append(
            f"{where} and no net total: map the column of the invoice's amount before tax to "
            f"subtotal in [csv.columns] ({ONE_ROW_DOC})"
        )
        return False
    if "service" not in layout.line_defaults and not any(c == "service" for c, _ in layout.line):
        problems.errors.append(
            f"{where}: each row is an invoice with one line, its net total, and that line needs "
            "a service: set service (and tax, tax_rate) under [csv.defaults] in config.toml, or "
            f"map a service column ({ONE_ROW_DOC})"
        )
        return False
    return True


def _unknown_column(name: str, header: str, problems: Problems) -> None:
    """A column the mapping does not know: an error when its name speaks of money (every row is
    a line, and its value would be dropped), a warning otherwise (docs/invoice-format.md
    #unknown-fields)."""
    if money_name(header.strip()):
        problems.errors.append(f"{name}:1: column {header!r}: {UNKNOWN_COLUMN}")
    else:
        problems.warnings.append(f"{name}:1: column {header!r} is not a known field, ignored")


class Layout:
    """Where each canonical column is in this file's rows, and how rows become a record: each
    part of the record is a list of (key, index) pairs, so a row's non-empty cells are picked
    without building a dict of all its cells first."""

    def __init__(
        self, fields: list[str], header: list[str], defaults: Mapping[str, str] | None = None
    ) -> None:
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
        # The numeric columns, with their headers as the file writes them (for messages).
        self.numeric = [(header[i].strip(), i) for _c, i in pairs((c, c) for c in NUMERIC_COLUMNS)]
        self.decimals: Convention | None = None
        # No quantity, price or amount: a list of invoices, one row each (one_row()).
        self.header_only = not any(c in index for c in ("quantity", "unit_price", "amount"))
        defaults = defaults or {}
        self.line_defaults = {k: defaults[k] for k in LINE_DEFAULTS if k in defaults}
        self.default_rate = self.line_defaults.pop("tax_rate", None)
        self.invoice_defaults = [(k, defaults[k]) for k in INVOICE_DEFAULTS if k in defaults]

    def numeric_cells(
        self, rows: Iterable[tuple[int, list[str]]]
    ) -> Iterable[tuple[int, str, str]]:
        """Every non-empty numeric cell of `rows`: (line, column, text)."""
        numeric = self.numeric
        for line, row in rows:
            for column, i in numeric:
                if cell := row[i]:
                    yield line, column, cell

    def record(
        self, name: str, number: str, rows: list[tuple[int, list[str]]], problems: Problems
    ) -> Record:
        decimals = self.decimals
        if decimals is not None and decimals.eager:
            convert, numeric = decimals.convert, self.numeric
            for _line, row in rows:
                for _column, i in numeric:
                    if cell := row[i]:
                        row[i] = convert(cell)  # type: ignore[assignment]  # BadNumber: see fields
        if self.header_only:
            return self.one_row(name, number, rows, problems)
        first_line, first = rows[0]
        if len(rows) > 1:
            self._check_same(name, number, rows, problems)
        data = self._invoice_data(first[self.number], first)  # as written: see _trimmed
        lines: list[dict[str, Any]] = []
        adjustments: list[dict[str, Any]] = []
        line_numbers: list[int] = []
        adjustment_numbers: list[int] = []
        line_at, kind_at, defaults = self.line, self.kind, self.line_defaults or self.default_rate
        for line, row in rows:
            cells = {k: row[i] for k, i in line_at if row[i]}
            if defaults:
                cells = self._defaults(cells)
            taxed = not cells.keys().isdisjoint(SECOND_TAX_COLUMNS)
            kind = "line" if kind_at is None else (row[kind_at].strip().lower() or "line")
            if kind == "adjustment":
                adjustment = {k: cells[k] for k in ADJUSTMENT_COLUMNS if k in cells}
                if taxed:  # refused by the validator, never dropped
                    adjustment["taxes"] = with_taxes(cells)["taxes"]
                adjustments.append(adjustment)
                adjustment_numbers.append(line)
            elif kind == "line":
                lines.append(with_taxes(cells) if taxed else cells)
                line_numbers.append(line)
            else:
                problems.errors.append(
                    f"{name}:{line}: invoice {safe(number)}: kind: {kind!r} must be line or "
                    "adjustment"
                )
        data["lines"] = lines
        if adjustments:
            data["adjustments"] = adjustments
        return Record(
            data, name, first_line, tuple(line_numbers + adjustment_numbers), decimals=decimals
        )

    def _defaults(self, cells: dict[str, Any]) -> dict[str, Any]:
        """A line's empty cells from [csv.defaults]; the default tax_rate goes with the default
        tax, so a row with a tax of its own (AE, reverse charge) takes no default rate."""
        own_tax = "tax" in cells
        cells = {**self.line_defaults, **cells}
        if self.default_rate is not None and not own_tax and "tax_rate" not in cells:
            cells["tax_rate"] = self.default_rate
        return cells

    def one_row(
        self, name: str, number: str, rows: list[tuple[int, list[str]]], problems: Problems
    ) -> Record:
        """A row of a list of invoices: the invoice, with one line of quantity 1 at its net
        total (`subtotal`, so not also a total to check) and the rest from the row or the
        defaults; tax and gross totals stay, checked against that line."""
        first_line, first = rows[0]
        for again, _row in rows[1:]:  # as lines of one invoice they would push it twice
            problems.errors.append(
                f"{name}:{again}: invoice {safe(number)}: number: also on line {first_line}; this "
                "list has no line columns, so each row is a whole invoice: export each invoice "
                "once"
            )
        data = self._invoice_data(first[self.number], first)
        totals = data.pop("totals", {})
        net = totals.pop("subtotal", None)
        if totals:
            data["totals"] = totals
        line = self._defaults({k: first[i] for k, i in self.line if first[i]})
        if not line.keys().isdisjoint(SECOND_TAX_COLUMNS):
            line = with_taxes(line)
        line["quantity"] = "1"
        if net is None:
            line["unit_price"] = BadNumber(
                "is required: a row of this list is an invoice whose one line is its net total"
            )
        else:
            line["unit_price"] = line["amount"] = net
        if self.kind is not None and first[self.kind].strip().lower() not in ("", "line"):
            problems.errors.append(
                f"{name}:{first_line}: invoice {safe(number)}: kind: a list without line columns "
                "has no adjustments"
            )
        data["lines"] = [line]
        return Record(
            data, name, first_line, (first_line,), decimals=self.decimals, header_only=True
        )

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
        for k, v in self.invoice_defaults:
            data.setdefault(k, v)
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


def with_taxes(cells: dict[str, Any]) -> dict[str, Any]:
    """A line whose row names its tax or has a second one: its tax columns become `taxes`,
    the first tax from `tax`, `tax_rate`, `tax_name`, the second from `tax2`…"""
    out = {k: v for k, v in cells.items() if not any(k in group for group in TAX_COLUMNS)}
    taxes = []
    for group in TAX_COLUMNS:
        if any(c in cells for c in group):
            taxes.append(
                {key: cells[c] for key, c in zip(TAX_KEYS, group, strict=True) if c in cells}
            )
    out["taxes"] = taxes
    return out
