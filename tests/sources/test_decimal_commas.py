"""Decimal commas: Excel in a European locale writes `1740,00` and
`1.740,00`. A file's convention is read where it is unambiguous and never guessed: a number that
means different amounts in the two conventions, or a file that mixes them, is refused with its
line and the setting that settles it. Money stays exact."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from invoicesync.errors import SourceError
from invoicesync.models import LocalInvoice
from invoicesync.source_config import SourceOptions
from invoicesync.sources import open_source

HEAD = "number;customer_name;issue_date;currency;service;quantity;unit_price;amount;tax_rate\n"


def write(tmp_path: Path, rows: list[str], head: str = HEAD) -> Path:
    path = tmp_path / "x.csv"
    path.write_text("\ufeff" + head + "".join(f"{r}\n" for r in rows), encoding="utf-8")
    return path


def load(path: Path, decimal: str = "auto") -> list[LocalInvoice]:
    return open_source(path, options=SourceOptions(decimal=decimal)).invoices()


def errors(path: Path, decimal: str = "auto") -> list[str]:
    with pytest.raises(SourceError) as info:
        load(path, decimal)
    assert info.value.exit_code == 8
    return [d.replace(f"{path}", "x.csv") for d in info.value.details]


def row(number: str, qty: str, price: str, amount: str = "", rate: str = "") -> str:
    return f"{number};Acme;2026-10-01;EUR;Translation;{qty};{price};{amount};{rate}"


def test_a_decimal_comma_file_is_read_exactly(tmp_path: Path) -> None:
    """What a German Excel writes: `;`, a BOM, decimal commas, thousands dots."""
    path = write(
        tmp_path,
        [
            row("INV-1", "12500", "0,12", "1.500,00", "19"),
            row("INV-2", "1,5", "1.160,00", "1.740,00", "19,5"),
            row("INV-3", "2", "0,1", "0,20"),
        ],
    )
    one, two, three = load(path)
    assert one.lines[0].unit_price == Decimal("0.12")
    assert one.lines[0].amount == Decimal("1500.00")
    assert two.lines[0].quantity == Decimal("1.5")
    assert two.lines[0].amount == Decimal("1740.00")
    assert two.lines[0].tax_rate == Decimal("19.5")
    assert str(three.lines[0].amount) == "0.20"  # exact: never 0.2000000000000000111


def test_both_conventions_load_to_equal_invoices(tmp_path: Path) -> None:
    comma = write(tmp_path, [row("INV-1", "14,5", "128,35", "1.861,08", "21")])
    comma_invoices = load(comma)
    dot = write(
        tmp_path,
        [row("INV-1", "14.5", "128.35", "1861.08", "21")],
    )
    assert load(dot) == comma_invoices
    assert load(dot)[0].fingerprint() == comma_invoices[0].fingerprint()


def test_thousands_separators_are_read_when_they_cannot_be_decimals(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        [
            row("INV-1", "1", "1 740,00", "1 740,00"),  # a space groups thousands
            row("INV-2", "1", "1\u202f740,00"),  # a narrow no-break space (French Excel)
            row("INV-3", "1", "1.740.000,5"),
        ],
    )
    assert [i.lines[0].unit_price for i in load(path)] == [
        Decimal("1740.00"),
        Decimal("1740.00"),
        Decimal("1740000.5"),
    ]
    dot = tmp_path / "dot.csv"
    dot.write_text(
        HEAD.replace(";", ",") + 'INV-1,Acme,2026-10-01,USD,T,1,"1,740.00","1,740.00",\n',
        encoding="utf-8",
    )
    assert load(dot)[0].lines[0].amount == Decimal("1740.00")


def test_a_file_that_mixes_decimal_points_and_commas_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, [row("INV-1", "1", "12.50"), row("INV-2", "1", "1740,00")])
    assert errors(path) == [
        "x.csv:3: unit_price: '1740,00' has a decimal comma, but line 2 has a decimal point "
        "('12.50' in unit_price): use one throughout, dots, or commas and set "
        'decimal = "comma" under [source] in config.toml'
    ]


def test_an_ambiguous_number_is_refused_when_nothing_settles_it(tmp_path: Path) -> None:
    path = write(tmp_path, [row("INV-1", "1,740", "2")])
    assert errors(path) == [
        "x.csv:2: invoice INV-1: lines[1].quantity: '1,740' could be 1.74 (a decimal comma) or "
        '1740 (a thousands separator): write 1.74 or 1740, or set decimal = "comma" or '
        '"dot" under [source] in config.toml'
    ]


def test_an_ambiguous_number_follows_the_commas_of_its_file(tmp_path: Path) -> None:
    path = write(tmp_path, [row("INV-1", "1,740", "2"), row("INV-2", "1", "10,50")])
    assert [i.lines[0].quantity for i in load(path)] == [Decimal("1.740"), Decimal("1")]


def test_decimal_dot_takes_commas_as_thousands_and_refuses_decimal_commas(tmp_path: Path) -> None:
    path = write(tmp_path, [row("INV-1", "1,740", "2"), row("INV-2", "1", "1.740.000")])
    assert errors(path, "dot") == [
        "x.csv:3: invoice INV-2: lines[1].unit_price: '1.740.000' is not a number with a "
        "decimal point and thousands separators"
    ]
    path = write(tmp_path, [row("INV-1", "1,740", "2"), row("INV-2", "1", "1740,00")])
    assert errors(path, "dot") == [
        "x.csv:3: invoice INV-2: lines[1].unit_price: '1740,00' has a decimal comma, but "
        '[source] decimal = "dot": use a dot (1740.00), or set decimal = "comma"'
    ]
    path = write(tmp_path, [row("INV-1", "1,740", "2")])
    assert load(path, "dot")[0].lines[0].quantity == Decimal("1740")


def test_decimal_comma_refuses_decimal_points_with_the_invoice_and_field(tmp_path: Path) -> None:
    path = write(tmp_path, [row("INV-1", "1,740", "1.740"), row("INV-2", "1", "12.50")])
    assert errors(path, "comma") == [
        "x.csv:3: invoice INV-2: lines[1].unit_price: '12.50' has a decimal point, but "
        '[source] decimal = "comma": use a comma (12,50), or set decimal = "dot"'
    ]
    path = write(tmp_path, [row("INV-1", "1,740", "1.740")])
    [invoice] = load(path, "comma")
    assert (invoice.lines[0].quantity, invoice.lines[0].unit_price) == (
        Decimal("1.740"),
        Decimal("1740"),
    )


@pytest.mark.parametrize("text", ["12.5000,00", "1.74.0", "€ 12,00", "12,00 EUR", "1,,5"])
def test_a_malformed_number_is_refused(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, [row("INV-1", "1", text)])
    [message] = errors(path, "comma")
    assert message.startswith(f"x.csv:2: invoice INV-1: lines[1].unit_price: {text!r} ")


def test_a_comma_file_keeps_the_other_checks(tmp_path: Path) -> None:
    path = write(tmp_path, [row("INV-1", "14,5", "128,35", "1.861,07")])
    [message] = errors(path)
    assert message == (
        "x.csv:2: invoice INV-1: lines[1].amount: 1861.07 is not quantity × unit_price = "
        "14.5 × 128.35 = 1861.08 (rounded half-up to cents)"
    )
    path = write(tmp_path, [row("INV-1", "1", "0,125", "0,125")])
    [message] = errors(path)
    assert "lines[1].amount: " in message and "too many decimal places (3)" in message


def test_json_keeps_its_decimal_point(tmp_path: Path) -> None:
    """JSON is written by programs: its numbers have a point, whatever [source] says."""
    path = tmp_path / "x.json"
    path.write_text(
        '{"number": "A", "customer": "C", "issue_date": "2026-01-01", "currency": "EUR", '
        '"lines": [{"service": "T", "quantity": "1", "unit_price": "1740,00"}]}',
        encoding="utf-8",
    )
    [message] = errors(path, "comma")
    assert message.endswith(
        "'1740,00' is not a plain decimal number (no exponents, NaN or separators): use a "
        "decimal point, 1740.00"
    )


def test_a_file_of_decimal_points_is_never_scanned_for_commas(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The tuned path stays as it was: a file whose numbers are all plain never pays for
    decimal commas (no second pass, no conversion)."""
    from invoicesync.sources import decimals

    def no_scan(self: object) -> None:
        raise AssertionError("a plain file was scanned")

    monkeypatch.setattr(decimals.Convention, "scan", no_scan)
    path = write(tmp_path, [row("INV-1", "14.5", "128.35", "1861.08", "21")] * 1)
    assert load(path)[0].lines[0].amount == Decimal("1861.08")
    assert load(path, "dot")[0].lines[0].amount == Decimal("1861.08")


def _doc_table() -> list[tuple[str, str, str]]:
    """(decimal, text, what the docs say it reads as) from docs/invoice-format.md."""
    doc = (Path(__file__).parents[2] / "docs" / "invoice-format.md").read_text(encoding="utf-8")
    section = doc[doc.index("## Decimal commas") :]
    rows = [r for r in section.splitlines() if r.startswith("|")][:5]
    texts = [c.strip().strip("`") for c in rows[0].strip("|").split("|")][1:]
    found = []
    for row in rows[2:]:
        cells = [c.strip() for c in row.strip("|").split("|")]
        mode = cells[0].strip("`").split()[0].rstrip("`")
        for text, said in zip(texts, cells[1:], strict=True):
            found.append((mode, text, said.rstrip("¹² ")))
    return found


@pytest.mark.parametrize(("decimal", "text", "said"), _doc_table())
def test_the_table_in_the_docs_is_what_the_code_does(
    tmp_path: Path, decimal: str, text: str, said: str
) -> None:
    path = write(tmp_path, [row("INV-1", "1", text)])
    if said == "refused":
        errors(path, decimal)
    else:
        assert load(path, decimal)[0].lines[0].unit_price == Decimal(said)
        assert str(load(path, decimal)[0].lines[0].unit_price) == said
