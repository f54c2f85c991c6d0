"""A line with several taxes (IVA and an IRPF withholding) cannot be held by
QuickBooks, which has one tax code per line. Refused per invoice with the reason, the rest of
the batch pushed; never sent without one of its taxes."""

from __future__ import annotations

from tests.cli.test_push import invoice, write_source
from tests.helpers import UK, World

TWO = {
    "service": "Translation",
    "quantity": "10",
    "unit_price": "1",
    "taxes": [
        {"category": "S", "rate": "21", "name": "IVA"},
        {"category": "S", "rate": "-15", "name": "IRPF"},
    ],
}
REASON = (
    "tax 'line 1': 2 taxes on one line (IVA 21 %, IRPF -15 %): QuickBooks holds one tax code "
    "per line; push this invoice to a B2BRouter profile, or give the line one tax"
)


def test_us_invoice_with_two_taxes_on_a_line_is_refused_the_rest_pushed(us: World) -> None:
    write_source(
        us,
        [
            invoice("TWO-1", "Acme Localization Inc.", lines=[TWO]),
            invoice("OK-1", "Acme Localization Inc."),
        ],
    )
    result = us.json("push", "--all")
    got = {r["invoice"]: r for r in result["results"]}
    assert got["TWO-1"]["status"] == "failed" and REASON in got["TWO-1"]["message"]
    assert got["OK-1"]["status"] == "created"
    assert {i.get("DocNumber") for i in us.invoices()} >= {"OK-1"}
    assert "TWO-1" not in {i.get("DocNumber") for i in us.invoices()}


def test_uk_line_with_two_taxes_is_not_called_a_line_without_a_code(world: World) -> None:
    world.connect(UK)
    write_source(world, [invoice("UK-2", "Albion Publishing Ltd", currency="GBP", lines=[TWO])])
    result = world.run("push", "UK-2")
    assert result.exit_code == 5, result.stderr
    assert REASON in " ".join(result.stderr.split())
    assert "missing: non-US companies need a tax code" not in result.stderr
