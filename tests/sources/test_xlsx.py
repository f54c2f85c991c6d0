"""Excel workbooks read directly: Protemos exports its lists to Excel.

Every workbook here is made by the test with openpyxl. Numbers arrive from Excel as binary
floats: they are read exactly through their shortest text, and one that is not a plain amount at
cent precision is refused, never rounded. Dates arrive as dates. Merged cells, formulas
without a saved result, error cells, several sheets and hidden rows each have a rule.
"""

from __future__ import annotations

import io
import re
import zipfile
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from invoicesync.errors import SourceError
from invoicesync.models import LocalInvoice
from invoicesync.source_config import SourceOptions
from invoicesync.sources import open_source

HEADER = ["number", "customer_name", "issue_date", "currency", "service", "quantity",
          "unit_price", "amount", "tax", "tax_rate"]  # fmt: skip
CSV = (
    ",".join(HEADER) + "\n"
    "INV-1,Acme,2026-10-01,EUR,Translation,1034,0.15,155.10,S,21\n"
    "INV-1,Acme,2026-10-01,EUR,Proofreading,2.5,40,100.00,S,21\n"
    "INV-2,Globex,2026-10-02,EUR,Translation,1,1740.1,1740.10,S,21\n"
)


def book(*sheets: tuple[str, list[list[Any]]]) -> openpyxl.Workbook:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows in sheets:
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(row)
    return wb


def month() -> list[list[Any]]:
    """CSV above as Excel holds it: numbers are numbers, dates are dates."""
    return [
        HEADER,
        ["INV-1", "Acme", datetime(2026, 10, 1), "EUR", "Translation", 1034, 0.15, 155.1, "S", 21],
        ["INV-1", "Acme", datetime(2026, 10, 1), "EUR", "Proofreading", 2.5, 40, 100, "S", 21],
        ["INV-2", "Globex", date(2026, 10, 2), "EUR", "Translation", 1, 1740.1, 1740.1, "S", 21],
    ]


def save(tmp_path: Path, wb: openpyxl.Workbook, name: str = "list.xlsx") -> Path:
    path = tmp_path / name
    wb.save(path)
    return path


def load(path: Path, **options: Any) -> list[LocalInvoice]:
    return open_source(path, options=SourceOptions(**options)).invoices()


def errors(path: Path, **options: Any) -> list[str]:
    with pytest.raises(SourceError) as info:
        load(path, **options)
    assert info.value.exit_code == 8
    return [d.replace(str(path), "list.xlsx") for d in info.value.details]


def test_a_workbook_reads_as_the_same_csv_would(tmp_path: Path) -> None:
    (tmp_path / "csv").mkdir()
    csv_path = tmp_path / "csv" / "list.csv"
    csv_path.write_text(CSV, encoding="utf-8")
    path = save(tmp_path, book(("Invoices", month())))
    from_xlsx, from_csv = load(path), load(csv_path)
    assert [i.fingerprint() for i in from_xlsx] == [i.fingerprint() for i in from_csv]
    assert from_xlsx[0].lines[0].unit_price == Decimal("0.15")
    assert from_xlsx[1].lines[0].unit_price == Decimal("1740.1")
    assert from_xlsx[0].issue_date == date(2026, 10, 1)
    assert from_xlsx[0].origin == f"{path}:2"  # the sheet's row


def test_a_float_that_is_not_an_amount_at_cents_is_refused_not_rounded(tmp_path: Path) -> None:
    """Excel saves a computed 1.1 * 3 as 3.3000000000000003 (17 digits): that is not an amount
    at cents, and rounding it would be a guess."""
    rows = month()[:2]
    rows[1][7] = "=1.1*3"
    path = save(tmp_path, book(("S", rows)))
    with_cached_values(path, {"H2": "3.3000000000000003"})
    assert errors(path) == [
        "list.xlsx:2: invoice INV-1: lines[1].amount: 3.3000000000000003 has too many decimal "
        "places (16); at most 2 (cents)"
    ]


def test_a_percent_cell_is_read_as_the_percent_it_shows(tmp_path: Path) -> None:
    """Excel holds 21 % as 0.21: read as a rate of 0.21 % it would send a wrong VAT."""
    wb = book(("S", month()))
    for row in (2, 3, 4):
        cell = wb["S"].cell(row=row, column=10, value=0.21)
        cell.number_format = "0%"
    assert {i.lines[0].tax_rate for i in load(save(tmp_path, wb))} == {Decimal("21.00")}


def test_text_cells_with_decimal_commas_follow_the_conventions(tmp_path: Path) -> None:
    rows = month()
    rows[1][6], rows[1][7] = "0,15", "155,10"
    [one, _two] = load(save(tmp_path, book(("S", rows))))
    assert (one.lines[0].unit_price, one.lines[0].amount) == (Decimal("0.15"), Decimal("155.10"))
    rows[2][6] = "40.00"  # a text decimal point beside text decimal commas: mixed
    [message] = errors(save(tmp_path, book(("S", rows))))
    assert message.startswith("list.xlsx:2: unit_price: '0,15' has a decimal comma, but line 3")


def test_an_empty_sheet_and_an_empty_file(tmp_path: Path) -> None:
    assert errors(save(tmp_path, book(("Invoices", [])))) == [
        "list.xlsx: sheet 'Invoices' is empty; a complete export has at least a header row"
    ]
    empty = tmp_path / "empty.xlsx"
    empty.write_bytes(b"")
    assert errors(empty) == ["list.xlsx: file is empty; a complete export has at least a header"]


def test_the_first_sheet_is_read_unless_one_is_named(tmp_path: Path) -> None:
    other = [HEADER, ["B-1", "Acme", date(2026, 10, 1), "EUR", "T", 1, 10, None, "S", 21]]
    path = save(tmp_path, book(("Invoices", month()), ("Notes", other)))
    source = open_source(path, options=SourceOptions())
    assert [i.number for i in source.invoices()] == ["INV-1", "INV-2"]
    assert source.warnings == [
        f"{path}: read sheet 'Invoices', the first of 2 (also 'Notes'); set sheet = \"…\" under "
        "[source] in config.toml to read another"
    ]
    assert [i.number for i in load(path, sheet="Notes")] == ["B-1"]
    assert errors(path, sheet="Credit notes") == [
        "list.xlsx: no sheet 'Credit notes'; the sheets are 'Invoices', 'Notes': set sheet "
        "under [source] in config.toml to one of them"
    ]


def test_merged_cells_in_the_table_are_refused(tmp_path: Path) -> None:
    wb = book(("S", month()))
    wb["S"].merge_cells("B2:B3")  # one customer for two rows: the second row reads empty
    assert errors(save(tmp_path, wb)) == [
        "list.xlsx: cells B2:B3 of sheet 'S' are merged; unmerge them so that every row and "
        "column has its own value"
    ]


def test_a_title_above_the_header_is_skipped(tmp_path: Path) -> None:
    wb = book(("S", [["Client invoices, October 2026"], [], *month()]))
    wb["S"].merge_cells("A1:E1")
    source = open_source(save(tmp_path, wb), options=SourceOptions())
    invoices = source.invoices()
    assert [i.number for i in invoices] == ["INV-1", "INV-2"]
    assert invoices[0].origin.endswith(":4")
    assert source.warnings == [
        f"{tmp_path / 'list.xlsx'}: rows 1 to 2, above the header row (3), are not read"
    ]


def with_cached_values(path: Path, values: dict[str, str]) -> None:
    """What Excel does on save and openpyxl does not: store each formula's result."""
    data = path.read_bytes()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            content = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                text = content.decode()
                for ref, value in values.items():
                    kind = ' t="e"' if value.startswith("#") else ""  # an error value
                    text = re.sub(
                        rf'<c r="{ref}"([^>]*)>\s*(<f>[^<]*</f>)\s*<v\s*/>',
                        rf'<c r="{ref}"\1{kind}>\2<v>{value}</v>',
                        text,
                    )
                content = text.encode()
            dst.writestr(item, content)
    path.write_bytes(out.getvalue())


def test_formulas_are_read_by_their_saved_result(tmp_path: Path) -> None:
    rows = month()
    rows[1][7] = "=F2*G2"
    path = save(tmp_path, book(("S", rows)))
    assert errors(path) == [
        "list.xlsx:2: cell H2 holds a formula (=F2*G2) with no saved result; open the workbook "
        "in Excel or LibreOffice and save it (that stores the results), or paste the column "
        "as values"
    ]
    with_cached_values(path, {"H2": "155.1"})
    assert load(path)[0].lines[0].amount == Decimal("155.10")


def test_an_error_cell_is_refused(tmp_path: Path) -> None:
    rows = month()
    rows[1][7] = "=1/0"
    path = save(tmp_path, book(("S", rows)))
    with_cached_values(path, {"H2": "#DIV/0!"})
    text = path.read_bytes()
    assert text  # the cell is now an error value, as Excel saves one
    found = errors(path)
    assert "list.xlsx:2: cell H2 holds the Excel error #DIV/0!; correct it in the sheet" in found


def test_hidden_rows_are_not_read_and_said_so(tmp_path: Path) -> None:
    """A filter or Hide in Excel: what the person sees is what is pushed."""
    wb = book(("S", month()))
    wb["S"].row_dimensions[4].hidden = True
    source = open_source(save(tmp_path, wb), options=SourceOptions())
    assert [i.number for i in source.invoices()] == ["INV-1"]
    assert source.warnings == [f"{tmp_path / 'list.xlsx'}: row 4 is hidden and was not read"]


def test_a_value_outside_the_table_is_refused(tmp_path: Path) -> None:
    rows = month()
    rows[3] = [*rows[3], None, 99.5]  # column L: no header
    assert errors(save(tmp_path, book(("S", rows)))) == [
        "list.xlsx:4: cell L4 has a value but its column has no header: give the column a "
        "header (it may hold money) or clear the cell"
    ]


def test_what_is_not_an_xlsx_workbook(tmp_path: Path) -> None:
    fake = tmp_path / "fake.xlsx"
    fake.write_bytes(b"number,customer\n")
    [message] = errors(fake)
    assert message == (
        "list.xlsx: not an Excel workbook (.xlsx) that can be read (BadZipFile); save it again "
        "from Excel as Excel Workbook (.xlsx), without a password"
    )
    old = tmp_path / "old.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(SourceError) as info:
        load(old)
    assert info.value.message == (
        f"{old}: an Excel 97-2003 workbook (.xls); save it as Excel Workbook (.xlsx) or as "
        "CSV UTF-8"
    )


def test_a_folder_reads_its_workbooks_and_the_column_map_applies(tmp_path: Path) -> None:
    rows = month()
    rows[0] = ["Code", *HEADER[1:]]
    save(tmp_path, book(("S", rows)), "a.xlsx")
    (tmp_path / "b.csv").write_text(
        "Code,customer_name,issue_date,currency,service,quantity,unit_price\n"
        "INV-3,Acme,2026-10-03,EUR,T,1,1\n",
        encoding="utf-8",
    )
    source = open_source(tmp_path, csv_columns={"number": "Code"})
    assert [i.number for i in source.invoices()] == ["INV-1", "INV-2", "INV-3"]


def test_a_workbook_on_standard_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.sources.test_reading import FakeStdin

    data = save(tmp_path, book(("S", month()))).read_bytes()
    monkeypatch.setattr("sys.stdin", FakeStdin(data))
    assert [i.number for i in open_source(Path("-")).invoices()] == ["INV-1", "INV-2"]
