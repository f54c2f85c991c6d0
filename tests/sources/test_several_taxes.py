"""Several taxes on a line: IVA and an IRPF withholding, in JSON and in CSV.

Before, `taxes` was refused as "not supported yet", so a Spanish freelance invoice could not be
expressed at all; a negative `tax_rate` was refused too."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from invoicesync.errors import SourceError
from invoicesync.models import Tax
from invoicesync.sources import open_source
from tests.sources.test_sources import good, load, problems

IVA = {"category": "S", "rate": "21", "name": "IVA"}
IRPF = {"category": "S", "rate": "-15", "name": "IRPF"}


def line(**over: Any) -> dict[str, Any]:
    return {"service": "Translation", "quantity": "1", "unit_price": "500.00", **over}


def test_a_line_with_iva_and_irpf_totals_530(tmp_path: Path) -> None:
    [inv] = load(tmp_path, [good(lines=[line(taxes=[IVA, IRPF])], totals={"total": "530.00"})])
    assert inv.lines[0].taxes == (
        Tax("S", Decimal(21), "IVA"),
        Tax("S", Decimal(-15), "IRPF"),
    )
    assert (inv.lines[0].tax, inv.lines[0].tax_rate) == (None, None)
    assert (inv.subtotal, inv.tax, inv.total) == (
        Decimal("500.00"),
        Decimal("30.00"),
        Decimal("530.00"),
    )


def test_a_stated_total_that_forgets_the_withholding_is_refused(tmp_path: Path) -> None:
    found = problems(tmp_path, [good(lines=[line(taxes=[IVA, IRPF])], totals={"total": "605.00"})])
    assert len(found) == 1 and "totals.total" in found[0] and "530.00" in found[0]


def test_the_one_tax_shorthand_keeps_its_fingerprint(tmp_path: Path) -> None:
    """`taxes` is a new field: an invoice without it hashes as before (no spurious edit)."""
    [inv] = load(tmp_path, [good(lines=[line(tax="S", tax_rate="21")])])
    assert "taxes" not in inv.fingerprint() and inv.lines[0].taxes == ()
    [named] = load(tmp_path, [good(lines=[line(taxes=[IVA])])])
    assert named.fingerprint() != inv.fingerprint()  # the name is part of what is sent


@pytest.mark.parametrize(
    ("taxes", "extra", "message"),
    [
        (
            [IRPF],
            {},
            "lines[1].taxes: a withholding (negative rate) needs a VAT-type tax beside it on the "
            'line, such as {"category": "S", "rate": "21", "name": "IVA"}',
        ),
        (
            [IVA, dict(IVA, rate="10")],
            {},
            "lines[1].taxes: has 2 VAT-type taxes (rate 0 or more); a line takes at most one",
        ),
        (
            [IVA, IRPF],
            {"tax_rate": "21"},
            "lines[1].taxes: give either `tax` and `tax_rate` (one tax) or `taxes`, not both",
        ),
        ([], {}, "lines[1].taxes: must be a list of taxes, each with category, rate and name"),
        (
            [IVA, dict(IRPF, rate="-150")],
            {},
            "lines[1].taxes[2].rate: -150 must be a percentage between -100 and 100",
        ),
        (
            [dict(IVA, percent="21")],
            {},
            "lines[1].taxes[1].percent: unknown field that can change what is owed",
        ),
        ([{"rate": "21"}], {}, "lines[1].taxes[1].category: is required"),
        (
            [dict(IVA, category="E")],
            {},
            "lines[1].taxes[1].rate: VAT category E has a rate of 0, not 21",
        ),
    ],
)
def test_several_taxes_are_validated(
    tmp_path: Path, taxes: list[Any], extra: dict[str, Any], message: str
) -> None:
    found = problems(tmp_path, [good(lines=[line(taxes=taxes, **extra)])])
    assert len(found) == 1, found
    assert f"invoice INV-1: {message}" in found[0]


def test_a_negative_tax_rate_points_to_several_taxes(tmp_path: Path) -> None:
    [found, *_] = problems(tmp_path, [good(lines=[line(tax="S", tax_rate="-15")])])
    assert "lines[1].tax_rate: -15 must be a percentage between 0 and 100 (a withholding such " in (
        found
    )
    assert "docs/invoice-format.md#several-taxes-on-a-line" in found


def test_csv_second_tax_columns_make_a_line_with_two_taxes(tmp_path: Path) -> None:
    path = tmp_path / "inv.csv"
    header = ["number", "customer_name", "issue_date", "currency", "service", "quantity",
              "unit_price", "tax", "tax_rate", "tax_name", "tax2", "tax2_rate", "tax2_name"]  # fmt: skip
    rows = [
        ["F-1", "Acme", "2026-10-05", "EUR", "Translation", "1", "500.00", "S", "21", "IVA",
         "S", "-15", "IRPF"],
        ["F-2", "Acme", "2026-10-05", "EUR", "Translation", "1", "100.00", "S", "21", "", "",
         "", ""],
    ]  # fmt: skip
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([header, *rows])
    one, two = open_source(path).invoices()
    assert one.lines[0].taxes == (Tax("S", Decimal(21), "IVA"), Tax("S", Decimal(-15), "IRPF"))
    assert one.total == Decimal("530.00")
    assert (two.lines[0].tax, two.lines[0].tax_rate, two.lines[0].taxes) == ("S", Decimal(21), ())


def test_csv_a_second_tax_without_its_rate_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "inv.csv"
    path.write_text(
        "number,customer_name,issue_date,currency,service,quantity,unit_price,tax,tax_rate,tax2\n"
        "F-1,Acme,2026-10-05,EUR,Translation,1,500.00,S,21,S\n",
        encoding="utf-8",
    )
    with pytest.raises(SourceError) as info:
        open_source(path).invoices()
    assert any("tax2_rate: is required" in d for d in info.value.details), info.value.details


def test_two_taxes_survive_a_round_trip_through_csv_and_json(tmp_path: Path) -> None:
    from invoicesync.sources.csv_format import write_csv
    from invoicesync.sources.json_format import to_canonical

    [inv] = load(tmp_path, [good(lines=[line(taxes=[IVA, IRPF]), line(tax="S", tax_rate="21")])])
    path = tmp_path / "back.csv"
    path.write_text(write_csv([inv]), encoding="utf-8")
    assert open_source(path).invoices() == [inv]
    [again] = load(tmp_path, [to_canonical(inv)], name="back.json")
    assert again == inv


def test_several_taxes_need_net_prices(tmp_path: Path) -> None:
    found = problems(tmp_path, [good(tax_calculation="inclusive", lines=[line(taxes=[IVA, IRPF])])])
    assert len(found) == 1 and found[0].endswith(
        "invoice INV-1: tax_calculation: inclusive prices cannot carry several taxes on a line; "
        "give net prices (tax_calculation exclusive)"
    ), found
