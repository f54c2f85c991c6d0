"""CSV reading pinned row by row: rows of one invoice anywhere in the file, line numbers in
messages, rows that are not invoices, and how columns become the canonical record; and the
shortcuts line validation takes on repeated values giving the same answers."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from invoicesync.errors import SourceError
from invoicesync.models import LocalInvoice
from invoicesync.sources import open_source
from invoicesync.sources.base import Problems
from invoicesync.sources.csv_format import read_csv

HEAD = "number,customer_name,issue_date,currency,service,quantity,unit_price,amount\n"
ROW = "C,2026-10-01,USD,T"  # customer_name to service, the same on every row
PLAIN = "is not a plain decimal number (no exponents, NaN or separators)"


def load(tmp_path: Path, text: str) -> list[LocalInvoice]:
    path = tmp_path / "x.csv"
    path.write_text(text, encoding="utf-8")
    return open_source(path).invoices()


def details(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(SourceError) as info:
        load(tmp_path, text)
    assert info.value.exit_code == 8
    return [d.replace(f"{tmp_path}/", "") for d in info.value.details]


def test_rows_of_one_invoice_may_be_apart_and_keep_their_lines(tmp_path: Path) -> None:
    text = HEAD + f"A,{ROW},1,1,\nB,{ROW},1,1,\n\nA,{ROW},2,1,2.0\n , ,,,,,,\n"
    a, b = load(tmp_path, text)
    path = tmp_path / "x.csv"
    assert (a.number, [ln.quantity for ln in a.lines], a.origin) == ("A", [1, 2], f"{path}:2")
    assert (b.number, len(b.lines), b.origin) == ("B", 1, f"{path}:3")
    text = HEAD + f"A,{ROW},1,1,\nB,{ROW},1,1,\nA,{ROW},x,1,\nB,{ROW},1,y,\n"
    assert details(tmp_path, text) == [
        f"x.csv:4: invoice A: lines[2].quantity: 'x' {PLAIN}",
        f"x.csv:5: invoice B: lines[2].unit_price: 'y' {PLAIN}",
    ]


def test_rows_that_are_not_invoices(tmp_path: Path) -> None:
    """A row of the wrong width is named; an invalid row (an unclosed quote) stops the reading
    but what was read before is still checked; a row without a number is an invoice without
    one."""
    text = HEAD + f'A,{ROW},1,1,\nB,C\n,{ROW},1,1,\nD,{ROW},x,1,\nE,"open\n'
    assert details(tmp_path, text) == [
        "x.csv:3: row has 2 fields but the header has 8 (delimiter ',')",
        "x.csv:6: invalid CSV: unexpected end of data",
        "x.csv:4: invoice ?: number: is required",
        f"x.csv:5: invoice D: lines[1].quantity: 'x' {PLAIN}",
    ]


def test_adjustment_rows_and_their_lines(tmp_path: Path) -> None:
    head = "number,customer_name,issue_date,currency,kind,description,service,quantity,unit_price,amount\n"
    row = "A,C,2026-10-01,USD"
    [invoice] = load(tmp_path, head + f"{row},,,T,2,10,\n{row}, Adjustment ,Discount,T,,,-5\n")
    assert (invoice.subtotal, invoice.adjustments[0].description) == (Decimal("15.00"), "Discount")
    text = head + f"{row},,,T,1,10,\n{row},adjustment,Discount,T,,,x\n{row},refund,,T,1,1,\n"
    assert details(tmp_path, text) == [
        "x.csv:4: invoice A: kind: 'refund' must be line or adjustment",
        f"x.csv:3: invoice A: adjustments[1].amount: 'x' {PLAIN}",
    ]


def test_columns_become_the_canonical_record() -> None:
    """Empty cells are absent fields; `attachments` splits on `|`; a source needs its system
    or id; of a column given twice, the first counts; renamed columns are found by their name."""
    head = (
        "Invoice #,customer_email,Client,customer_country,subtotal,tax_total,total,"
        "source_system,source_id,source_url,attachments,Invoice #,service,quantity,unit_price\n"
    )
    text = (
        head
        + "A,a@b.c,C,FR,1.00,,1.00,,,https://x, a.pdf | |b.pdf ,IGNORED,T,1,1\n"
        + "B,,C,,,,,erp,,https://y,,,T,1,1\n"
    )
    problems = Problems()
    columns = {"number": "Invoice #", "customer_name": "Client"}
    a, b = read_csv("f.csv", text, problems, columns)
    assert (problems.errors, problems.warnings) == ([], [])
    assert a.data == {
        "number": "A",
        "customer": {"name": "C", "email": "a@b.c", "country": "FR"},
        "totals": {"subtotal": "1.00", "total": "1.00"},
        "attachments": ["a.pdf", "b.pdf"],
        "lines": [{"service": "T", "quantity": "1", "unit_price": "1"}],
    }
    assert b.data == {
        "number": "B",
        "customer": {"name": "C"},
        "source": {"system": "erp", "url": "https://y"},
        "lines": [{"service": "T", "quantity": "1", "unit_price": "1"}],
    }
    assert (a.line, a.line_numbers, b.line, b.line_numbers) == (2, (2,), 3, (3,))


def test_a_stated_amount_is_compared_as_a_number_however_it_is_written(tmp_path: Path) -> None:
    """Amounts written exactly as quantity × unit_price comes out skip parsing;
    any other way of writing the same number still passes, and every other amount is checked
    as before, over the limit included."""
    text = HEAD + f"A,{ROW},3,0.15,0.45\nB,{ROW},3,0.15,0.450\nC,{ROW},3,0.15,+.45\n"
    assert [i.lines[0].amount for i in load(tmp_path, text)] == [Decimal("0.45")] * 3
    text = (
        HEAD + f"A,{ROW},3,0.15,0.45\nB,{ROW},3,0.15,0.46\nC,{ROW},99999999,1000,99999999000.00\n"
    )
    assert details(tmp_path, text) == [
        "x.csv:3: invoice B: lines[1].amount: 0.46 is not quantity × unit_price = 3 × 0.15 = "
        "0.45 (rounded half-up to cents)",
        "x.csv:4: invoice C: lines[1].amount: 99999999000.00 is too large; invoicesync sends at "
        "most 9,999,999,999.99 here",
        "x.csv:4: invoice C: lines[1].amount: quantity × unit_price = 99999999000.00 is too "
        "large; invoicesync sends at most 9,999,999,999.99 on a line",
    ]


def test_json_amounts_as_numbers_and_text_agree(tmp_path: Path) -> None:
    line = {"service": "T", "quantity": "3", "unit_price": "0.15"}
    records = [
        {"number": n, "customer": "C", "issue_date": "2026-10-01", "currency": "USD",
         "lines": [{**line, "amount": amount}]}
        for n, amount in (("A", "0.45"), ("B", 0.45), ("C", [0.45]))
    ]  # fmt: skip
    path = tmp_path / "x.json"
    path.write_text(json.dumps(records), encoding="utf-8")
    with pytest.raises(SourceError) as info:
        open_source(path).invoices()
    assert [d.split(": ", 1)[1] for d in info.value.details] == [
        "invoice C: lines[1].amount: must be a number, not list"
    ]


def test_equal_customers_are_one_object(tmp_path: Path) -> None:
    head = "number,customer_name,customer_email,issue_date,currency,service,quantity,unit_price\n"
    rows = "A,Acme,,2026-10-01,USD,T,1,1\nB,Acme,,2026-10-01,USD,T,1,1\n"
    a, b, c = load(tmp_path, head + rows + "C,Acme,x@y.z,2026-10-01,USD,T,1,1\n")
    assert a.customer is b.customer
    assert c.customer != a.customer
    assert (c.customer.name, c.customer.email) == ("Acme", "x@y.z")


def test_a_known_value_does_not_hide_a_refused_one(tmp_path: Path) -> None:
    """Values accepted once are not checked again; a different value still is."""
    head = (
        "number,customer_name,issue_date,currency,payment_terms,service,unit,quantity,unit_price\n"
    )
    rows = (
        "A,Acme,2026-10-01,USD,Net 30,T,words,1,1\nB,Acme,2026-10-01,USD,Net\t30,T,wo\x1brds,1,1\n"
    )
    assert details(tmp_path, head + rows) == [
        "x.csv:3: invoice B: payment_terms: contains a refused character: U+0009 TAB (\\t) at "
        "character 4; remove it",
        "x.csv:3: invoice B: lines[1].unit: contains a refused character: U+001B ESCAPE (\\x1b) "
        "at character 3; remove it",
    ]
