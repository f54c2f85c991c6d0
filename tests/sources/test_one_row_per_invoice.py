"""The Protemos path: an invoice list, one row per invoice with its totals
and no lines, pushes as it is exported, with the service, tax and terms set once in
config.toml; no column is added by hand each month.

The shipped sample (data/samples/protemos) is shaped like the list Protemos's wiki describes
(number, client, dates, totals, currency, status); its real headers are not published, which is
why the mapping lives in config and docs/invoice-format.md says what to compare.
"""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from invoicesync.config import Settings, load_settings
from invoicesync.errors import ConfigError, SourceError
from invoicesync.models import LocalInvoice
from invoicesync.sources import open_source
from tests.helpers import World

SAMPLE = Path(__file__).parents[2] / "src" / "invoicesync" / "data" / "samples" / "protemos"
HEAD = "Code;Client;Creation date;Due date;Currency;Net total;Tax;Total;Status;Note\n"


def settings(tmp_path: Path, config: str | None = None) -> Settings:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    text = (SAMPLE / "config.toml").read_text(encoding="utf-8") if config is None else config
    (home / "config.toml").write_text(text, encoding="utf-8")
    return load_settings(env={"INVOICESYNC_HOME": str(home)})


def load(path: Path, s: Settings) -> list[LocalInvoice]:
    return open_source(path, csv=s.csv, options=s.source_options).invoices()


def errors(path: Path, s: Settings) -> list[str]:
    with pytest.raises(SourceError) as info:
        load(path, s)
    assert info.value.exit_code == 8
    return [d.replace(f"{path}", path.name) for d in info.value.details]


def write(tmp_path: Path, *rows: str) -> Path:
    path = tmp_path / "list.csv"
    path.write_text(HEAD + "".join(f"{r}\n" for r in rows), encoding="utf-8")
    return path


def test_the_sample_list_pushes_as_exported(tmp_path: Path) -> None:
    s = settings(tmp_path)
    source = open_source(SAMPLE / "client-invoices.csv", csv=s.csv, options=s.source_options)
    invoices = source.invoices()
    assert source.warnings == []  # Status is ignored by name in the sample config
    first = invoices[0]
    assert (first.number, first.customer.name, first.currency) == (
        "PT-2026-0041",
        "Acme Localization GmbH",
        "EUR",
    )
    assert (first.issue_date, first.due_date, first.payment_terms) == (
        date(2026, 10, 1),
        date(2026, 10, 31),
        "Net 30",
    )
    [line] = first.lines
    assert (line.service, line.quantity, line.unit_price, line.amount) == (
        "Translation",
        Decimal("1"),
        Decimal("1740.00"),
        Decimal("1740.00"),
    )
    assert (line.tax, line.tax_rate) == ("S", Decimal("21"))
    for invoice in invoices:  # net, tax and gross agree with each other
        assert invoice.totals is not None
        assert (invoice.subtotal, invoice.tax, invoice.total) == (
            invoice.lines[0].amount,
            invoice.totals.tax,
            invoice.totals.total,
        )
    assert [i.note for i in invoices] == [None, "Rush job", None]


def test_the_same_list_as_an_excel_workbook(tmp_path: Path) -> None:
    """What Protemos's export button gives: dates as dates, totals as numbers."""
    s = settings(tmp_path)
    wb = openpyxl.Workbook()
    ws = wb.active
    lines = (SAMPLE / "client-invoices.csv").read_text(encoding="utf-8-sig").splitlines()
    ws.append(lines[0].split(";"))
    for text in lines[1:]:
        cells: list[object] = text.split(";")
        for i in (2, 3):
            cells[i] = date.fromisoformat(str(cells[i]))
        for i in (5, 6, 7):
            cells[i] = float(str(cells[i]).replace(".", "").replace(",", "."))
        ws.append(cells)
    path = tmp_path / "client-invoices.xlsx"
    wb.save(path)
    from_csv = open_source(SAMPLE / "client-invoices.csv", csv=s.csv, options=s.source_options)
    assert [i.fingerprint() for i in load(path, s)] == [
        i.fingerprint() for i in from_csv.invoices()
    ]


def test_totals_that_disagree_are_refused(tmp_path: Path) -> None:
    s = settings(tmp_path)
    path = write(
        tmp_path,
        "PT-1;Acme;2026-10-01;2026-10-31;EUR;1.740,00;365,50;2.105,50;Sent;",
        "PT-2;Acme;2026-10-01;2026-10-31;EUR;1.740,00;365,40;2.105,00;Sent;",
    )
    assert errors(path, s) == [
        "list.csv:2: invoice PT-1: totals.tax: 365.50 disagrees with the lines, which add up to "
        "365.40",
        "list.csv:2: invoice PT-1: totals.total: 2105.50 disagrees with the lines, which add up "
        "to 2105.40",
        "list.csv:3: invoice PT-2: totals.total: 2105.00 disagrees with the lines, which add up "
        "to 2105.40",
    ]


def test_a_cent_of_rounding_is_said_not_hidden(tmp_path: Path) -> None:
    """Within the 0.01 every source is allowed for rounding, but with one line the difference
    is the list's own rounding: the invoice pushed will say 365.40, and the person is told."""
    s = settings(tmp_path)
    path = write(tmp_path, "PT-1;Acme;2026-10-01;2026-10-31;EUR;1.740,00;365,41;2.105,41;Sent;")
    source = open_source(path, csv=s.csv, options=s.source_options)
    assert source.invoices()[0].total == Decimal("2105.40")
    assert [w.replace(str(path), "list.csv") for w in source.warnings] == [
        "list.csv:2: invoice PT-1: totals.tax: 365.41 is 365.40 on the invoice pushed (the net "
        "total at its rate, rounded half-up); the list rounds it another way",
        "list.csv:2: invoice PT-1: totals.total: 2105.41 is 2105.40 on the invoice pushed (the "
        "net total at its rate, rounded half-up); the list rounds it another way",
    ]


def test_a_row_with_its_own_tax_takes_no_default_rate(tmp_path: Path) -> None:
    """Reverse charge for an EU client: the row's tax is AE, and the default 21 % must not be
    put beside it."""
    config = (SAMPLE / "config.toml").read_text(encoding="utf-8")
    s = settings(
        tmp_path, config.replace('subtotal = "Net total"', 'subtotal = "Net total"\ntax = "VAT"')
    )
    path = tmp_path / "list.csv"
    path.write_text(
        HEAD.replace("Note\n", "Note;VAT\n")
        + "PT-1;Acme;2026-10-01;2026-10-31;EUR;100,00;0,00;100,00;Sent;;AE\n"
        + "PT-2;Acme;2026-10-01;2026-10-31;EUR;100,00;21,00;121,00;Sent;;\n",
        encoding="utf-8",
    )
    one, two = load(path, s)
    assert (one.lines[0].tax, one.lines[0].tax_rate) == ("AE", None)
    assert (two.lines[0].tax, two.lines[0].tax_rate) == ("S", Decimal("21"))


def test_problems_of_the_net_total_name_its_column(tmp_path: Path) -> None:
    s = settings(tmp_path)
    path = write(
        tmp_path,
        "PT-1;Acme;2026-10-01;2026-10-31;EUR;-100,00;-21,00;-121,00;Sent;",
        "PT-2;Acme;2026-10-01;2026-10-31;EUR;;;;Sent;",
        "PT-3;Acme;2026-10-01;2026-10-31;EUR;10,005;;;Sent;",
    )
    assert errors(path, s) == [
        "list.csv:2: invoice PT-1: subtotal: -100.00 is negative: a discount is an adjustment "
        "with a negative amount, and money given back is a credit note (type credit_note, "
        "positive amounts); see docs/invoice-format.md#adjustments",
        "list.csv:3: invoice PT-2: subtotal: is required: a row of this list is an invoice whose "
        "one line is its net total",
        "list.csv:4: invoice PT-3: subtotal: 10.005 has too many decimal places (3); at most 2 "
        "(cents)",
    ]


def test_a_number_on_two_rows_is_refused(tmp_path: Path) -> None:
    """Grouped as lines, two rows of one number would push the net total twice."""
    s = settings(tmp_path)
    row = "PT-1;Acme;2026-10-01;2026-10-31;EUR;100,00;21,00;121,00;Sent;"
    assert errors(write(tmp_path, row, row), s) == [
        "list.csv:3: invoice PT-1: number: also on line 2; this list has no line columns, so "
        "each row is a whole invoice: export each invoice once"
    ]


def test_a_list_without_the_defaults_says_what_to_set(tmp_path: Path) -> None:
    config = (SAMPLE / "config.toml").read_text(encoding="utf-8")
    no_defaults = config[: config.index("[csv.defaults]")]
    s = settings(tmp_path, no_defaults)
    path = write(tmp_path, "PT-1;Acme;2026-10-01;2026-10-31;EUR;100,00;21,00;121,00;Sent;")
    assert errors(path, s) == [
        "list.csv:1: this file has no line columns (quantity, unit_price, amount): each row is an "
        "invoice with one line, its net total, and that line needs a service: set service (and "
        "tax, tax_rate) under [csv.defaults] in config.toml, or map a service column "
        "(docs/invoice-format.md#one-row-per-invoice)"
    ]
    s = settings(tmp_path, re.sub(r"subtotal = .*\n", "", no_defaults))
    assert (
        "list.csv:1: this file has no line columns (quantity, unit_price, amount) and no net "
        "total: map the column of the invoice's amount before tax to subtotal in [csv.columns] "
        "(docs/invoice-format.md#one-row-per-invoice)"
    ) in errors(path, s)


def test_defaults_fill_empty_cells_of_a_file_with_lines(tmp_path: Path) -> None:
    s = settings(
        tmp_path,
        '[csv.defaults]\nservice = "Translation"\npayment_terms = "Net 30"\ntax = "NON"\n',
    )
    path = tmp_path / "x.csv"
    path.write_text(
        "number,customer_name,issue_date,currency,service,quantity,unit_price,tax\n"
        "INV-1,Acme,2026-10-01,USD,,2,10,\n"
        "INV-1,Acme,2026-10-01,USD,Proofreading,1,5,TAX\n",
        encoding="utf-8",
    )
    [invoice] = load(path, s)
    assert [(line.service, line.tax) for line in invoice.lines] == [
        ("Translation", "NON"),
        ("Proofreading", "TAX"),
    ]
    assert invoice.payment_terms == "Net 30"


def test_ignored_columns_are_neither_refused_nor_warned_of(tmp_path: Path) -> None:
    path = write(tmp_path, "PT-1;Acme;2026-10-01;2026-10-31;EUR;100,00;21,00;121,00;Sent;")
    path.write_text(
        path.read_text().replace("Note\n", "Note;Paid amount\n").replace("Sent;\n", "Sent;;0\n")
    )
    config = (SAMPLE / "config.toml").read_text(encoding="utf-8")
    [message] = errors(path, settings(tmp_path, config))
    assert "column 'Paid amount': unknown field that can change what is owed" in message
    s = settings(
        tmp_path, config.replace('ignore = ["Status"]', 'ignore = ["Status", "Paid amount"]')
    )
    source = open_source(path, csv=s.csv, options=s.source_options)
    assert [i.number for i in source.invoices()] == ["PT-1"]
    assert source.warnings == []


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        (
            '[csv.defaults]\nquantity = "1"\n',
            "[csv.defaults] takes service, description, unit, tax",
        ),
        ("[csv.defaults]\ntax_rate = 21.5\n", "csv.defaults.tax_rate: write the number as text"),
        ('[csv.defaults]\ntax_rate = "21,5"\n', "csv.defaults.tax_rate: '21,5' is not a number"),
        ('[csv.defaults]\nservice = ""\n', "csv.defaults.service must be a non-empty string"),
        ('[csv]\nignore = "Status"\n', "csv.ignore must be a list of column names"),
        (
            '[csv]\nignore = ["Code"]\n[csv.columns]\nnumber = "Code"\n',
            "csv.ignore: 'Code' is mapped",
        ),
        ('[csv]\ndelimiter = ";"\n', "[csv] takes columns, defaults, ignore"),
    ],
)
def test_csv_settings_are_checked_when_the_config_loads(
    tmp_path: Path, toml: str, message: str
) -> None:
    with pytest.raises(ConfigError) as info:
        settings(tmp_path, toml)
    assert message in info.value.message


def test_defaults_are_documented_with_every_key() -> None:
    from invoicesync.source_config import DEFAULT_KEYS, SOURCE_KEYS

    doc = (Path(__file__).parents[2] / "docs" / "configuration.md").read_text(encoding="utf-8")
    for key in (*SOURCE_KEYS, *DEFAULT_KEYS, "ignore"):
        assert f"`{key}`" in doc or f"{key} =" in doc, key


def test_the_cli_reads_the_list_through_the_source_table(world: World) -> None:
    """config.toml as docs/invoice-format.md#from-protemos writes it, through `invoices`."""
    world.home.mkdir(parents=True, exist_ok=True)
    config = (
        (SAMPLE / "config.toml")
        .read_text(encoding="utf-8")
        .replace(
            '# path = "/srv/exports/client-invoices.xlsx"',
            f'path = "{SAMPLE / "client-invoices.csv"}"',
        )
    )
    (world.home / "config.toml").write_text(config, encoding="utf-8")
    result = world.run("invoices", "--json")
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)["invoices"]
    assert [r["number"] for r in rows] == ["PT-2026-0041", "PT-2026-0042", "PT-2026-0043"]
    cp1252 = world.home.parent / "list.csv"
    cp1252.write_bytes(
        (SAMPLE / "client-invoices.csv")
        .read_text(encoding="utf-8-sig")
        .replace("Nordic Words AB", "Nordic Wörds AB")
        .encode("cp1252")
    )
    refused = world.run("--source", str(cp1252), "invoices")
    assert refused.exit_code == 8
    assert f"{cp1252}:3:22: not UTF-8 text (byte 0xF6)" in refused.stderr
    assert 'set encoding = "cp1252" under [source]' in refused.stderr
