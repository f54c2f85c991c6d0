"""Excel workbooks (.xlsx): a sheet read as a table of rows, like a CSV (sources/table.py).

Read with openpyxl, a maintained reader of the Office Open XML format. Cells arrive typed, and
each becomes the text a CSV would hold: a number through its shortest exact text (Excel keeps
binary floats: 0.15 is read as 0.15, and a float that is not a plain amount, such as
3.3000000000000003, reaches the validator as written and is refused there, never rounded); a
percent cell as the percent it shows (0.21 shown as 21 % is 21); a date as YYYY-MM-DD. Text
cells in numeric columns follow the decimal convention (sources/decimals.py).

What a person sees is what is read: the first sheet unless `[source] sheet` names one, rows from
the header down, hidden rows left out (each said). What could make a value wrong is refused:
merged cells in the table (all but one of their rows and columns read empty), a formula without
a saved result (it reads empty), an error cell (#DIV/0!), a value in a column without a header.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from invoicesync.source_config import CsvOptions, SourceOptions
from invoicesync.sources.base import Problems, Record
from invoicesync.sources.decimals import Convention
from invoicesync.sources.fields import safe
from invoicesync.sources.table import Layout, layout_of

Row = tuple[Any, ...]  # openpyxl cells


def read_xlsx(
    name: str,
    data: bytes,
    problems: Problems,
    csv: CsvOptions,
    options: SourceOptions,
) -> Iterator[Record]:
    """Records of the workbook's sheet, one per invoice number, each with its sheet row."""
    if not data:
        problems.errors.append(f"{name}: file is empty; a complete export has at least a header")
        return
    import openpyxl  # here, not at start-up: only a workbook pays for it

    try:
        with warnings.catch_warnings():  # features it skips (validation, styles): not values
            warnings.simplefilter("ignore")
            book = openpyxl.load_workbook(io.BytesIO(data), data_only=True)
    except Exception as exc:  # any failure of the reader: the file is not a workbook it reads
        problems.errors.append(
            f"{name}: not an Excel workbook (.xlsx) that can be read ({type(exc).__name__}); "
            "save it again from Excel as Excel Workbook (.xlsx), without a password"
        )
        return
    sheet = _sheet(name, book, options.sheet, problems)
    if sheet is None:
        return
    rows = list(sheet.iter_rows(min_row=1, min_col=1))  # cells[r - 1][c - 1] is row r, col c
    while rows and _blank(rows[-1]):
        rows.pop()
    if not rows:
        problems.errors.append(
            f"{name}: sheet {safe(repr(sheet.title))} is empty; a complete export has at least a "
            "header row"
        )
        return
    table = _Table(name, sheet, rows, problems)
    if table.read(csv, options.decimal):
        formulas = _unsaved_formulas(data, sheet.title, table)
        problems.errors += formulas
        if not formulas:
            yield from table.records()


def _blank(row: Row) -> bool:
    return all(c.value is None or (isinstance(c.value, str) and not c.value.strip()) for c in row)


def _sheet(name: str, book: Any, wanted: str | None, problems: Problems) -> Any:
    """The sheet named by `[source] sheet`, else the first (said when there are others)."""
    titles = [s.title for s in book.worksheets]
    shown = ", ".join(safe(repr(t)) for t in titles)
    if wanted is not None:
        if wanted not in titles:
            problems.errors.append(
                f"{name}: no sheet {safe(repr(wanted))}; the sheets are {shown}: set sheet under "
                "[source] in config.toml to one of them"
            )
            return None
        return book[wanted]
    if not titles:
        problems.errors.append(f"{name}: the workbook has no sheet of cells")
        return None
    if len(titles) > 1:
        others = ", ".join(safe(repr(t)) for t in titles[1:])
        problems.warnings.append(
            f"{name}: read sheet {safe(repr(titles[0]))}, the first of {len(titles)} (also "
            f'{others}); set sheet = "…" under [source] in config.toml to read another'
        )
    return book.worksheets[0]


class _Table:
    """A sheet from its header row down, as rows of text with their sheet row numbers."""

    def __init__(self, name: str, sheet: Any, rows: list[Row], problems: Problems) -> None:
        self.name, self.sheet, self.cells, self.problems = name, sheet, rows, problems
        self.rows: list[tuple[int, list[Any]]] = []
        self.layout: Layout | None = None
        self.top = 1  # the header's row

    def read(self, csv: CsvOptions, decimal: str) -> bool:
        """Find the header, check the table's cells, turn its rows into text; False when the
        table cannot be read (the problems say why)."""
        wanted = csv.columns.get("number", "number")
        at = next((i for i, r in enumerate(self.cells) if _has(r, wanted)), 0)
        self.top = at + 1
        if any(not _blank(r) for r in self.cells[:at]):
            rows = f"rows 1 to {at}" if at > 1 else "row 1"
            self.problems.warnings.append(
                f"{self.name}: {rows}, above the header row ({self.top}), are not read"
            )
        header = [_text(c) for c in self.cells[at]]
        while header and not header[-1]:
            header.pop()
        self.layout = layout_of(self.name, header, csv, self.problems, unnamed=False)
        if self.layout is None or not self._unmerged():
            return False
        self._text_rows(len(header), {i for i, h in enumerate(header) if not h})
        self._convert(decimal)
        return True

    def _unmerged(self) -> bool:
        merged = [r for r in self.sheet.merged_cells.ranges if r.max_row >= self.top]
        for cells in sorted(merged, key=lambda r: (r.min_row, r.min_col)):
            self.problems.errors.append(
                f"{self.name}: cells {cells.coord} of sheet {safe(repr(self.sheet.title))} are "
                "merged; unmerge them so that every row and column has its own value"
            )
        return not merged

    def _text_rows(self, width: int, unnamed: set[int]) -> None:
        hidden = []
        for row in self.cells[self.top :]:
            number = row[0].row
            if self.hidden(number):
                if not _blank(row):
                    hidden.append(number)
                continue
            texts: list[Any] = []
            for i, cell in enumerate(row):
                text = self._cell(cell)
                if i >= width or i in unnamed:
                    if text:
                        self.problems.errors.append(
                            f"{self.name}:{number}: cell {cell.coordinate} has a value but its "
                            "column has no header: give the column a header (it may hold money) "
                            "or clear the cell"
                        )
                    continue
                texts.append(text)
            texts += [""] * (width - len(texts))
            self.rows.append((number, texts))
        if hidden:
            which = f"row {hidden[0]} is" if len(hidden) == 1 else f"rows {_list(hidden)} are"
            self.problems.warnings.append(f"{self.name}: {which} hidden and was not read")

    def _cell(self, cell: Any) -> str:
        if cell.data_type == "e":
            self.problems.errors.append(
                f"{self.name}:{cell.row}: cell {cell.coordinate} holds the Excel error "
                f"{safe(str(cell.value))}; correct it in the sheet"
            )
            return ""
        return _text(cell)

    def _convert(self, decimal: str) -> None:
        """Text cells of numeric columns in the file's decimal convention; number cells are
        exact already and are neither evidence nor converted."""
        assert self.layout is not None
        numeric = [(column, i) for column, i in self.layout.numeric]
        text_cells = []
        for number, texts in self.rows:
            for column, i in numeric:
                if texts[i] and isinstance(self.value(number, i + 1), str):
                    text_cells.append((number, column, texts[i], i))
        scanned = [(number, column, text) for number, column, text, _i in text_cells]
        convention = Convention(decimal, self.name, self.problems, lambda: scanned)
        if not convention.eager:
            convention.scan()
        by_row = dict(self.rows)
        for number, _column, text, i in text_cells:
            by_row[number][i] = convention.convert(text)

    def hidden(self, row: int) -> bool:
        return bool(self.sheet.row_dimensions[row].hidden)

    def value(self, row: int, column: int) -> Any:
        """The value read at (row, column), None outside what was read."""
        cells = self.cells[row - 1] if row <= len(self.cells) else ()
        return cells[column - 1].value if column <= len(cells) else None

    def records(self) -> Iterator[Record]:
        assert self.layout is not None
        groups: dict[str, list[tuple[int, list[Any]]]] = {}
        at = self.layout.number
        for number, texts in self.rows:
            key = texts[at].strip()
            if key or any(texts):
                groups.setdefault(key, []).append((number, texts))
        for key, rows in groups.items():
            yield self.layout.record(self.name, key, rows, self.problems)


def _has(row: Row, header: str) -> bool:
    return any(isinstance(c.value, str) and c.value.strip() == header for c in row)


def _list(rows: list[int]) -> str:
    shown = ", ".join(map(str, rows[:10]))
    return shown + (f" and {len(rows) - 10} more" if len(rows) > 10 else "")


def _text(cell: Any) -> str:
    """A cell as the text a CSV export would hold."""
    value = cell.value
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        exact = Decimal(repr(value))  # the shortest text that reads back as this binary float
        if "%" in (cell.number_format or ""):
            exact *= 100
        return format(exact, "f")
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)


def _unsaved_formulas(data: bytes, title: str, table: _Table) -> list[str]:
    """A formula whose result the file does not hold reads empty: one problem per such cell.
    (openpyxl gives a cell's formula or its saved result, so the formulas are a second read.)"""
    import openpyxl

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    found = []
    try:
        for row in book[title].iter_rows(min_row=table.top + 1, min_col=1):
            for cell in row:
                if getattr(cell, "data_type", None) != "f":
                    continue  # (an empty cell of a read-only sheet has no row or column)
                at, column = cell.row or 0, cell.column or 0
                if not table.hidden(at) and table.value(at, column) is None:
                    found.append(
                        f"{table.name}:{cell.row}: cell {cell.coordinate} holds a formula "
                        f"({safe(str(cell.value))}) with no saved result; open the workbook in "
                        "Excel or LibreOffice and save it (that stores the results), or paste "
                        "the column as values"
                    )
    finally:
        book.close()
    return found
