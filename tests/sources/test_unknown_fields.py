"""Unknown fields that could change money are errors, the harmless ones warnings.

A field invoicesync does not know is dropped; dropping a second tax sent a B2BRouter invoice
at 605.00 instead of 530.00. The rule (docs/invoice-format.md#unknown-fields): inside a line,
an adjustment, the customer or the totals every unknown field is an error; elsewhere (the
invoice itself, `source`, a CSV column) a name that speaks of money, taxes, the customer, the
currency or dates is an error, any other a warning.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from invoicesync.errors import SourceError
from invoicesync.sources import open_source
from invoicesync.sources.base import (
    ADJUSTMENT_FIELDS,
    CUSTOMER_FIELDS,
    INVOICE_FIELDS,
    LINE_FIELDS,
    TOTALS_FIELDS,
)
from invoicesync.sources.unknown import STEMS, WORDS, money_name
from tests.sources.test_sources import good, line_of, problems

UNKNOWN = (
    "unknown field that can change what is owed; invoicesync cannot hold it, so the invoice "
    "could be wrong: remove it or see docs/invoice-format.md#unknown-fields"
)
SEVERAL_TAXES = (
    "several taxes on an adjustment are not supported, and dropping one would make the total "
    "wrong; give the adjustment its one tax as `tax` and `tax_rate`, or bill it as a line, "
    "which takes `taxes` (docs/invoice-format.md#several-taxes-on-a-line)"
)
COLUMN = (
    "unknown field that can change what is owed; invoicesync cannot hold it, so the invoices "
    "could be wrong: remove the column, or map it in [csv.columns] if it is one of the fields "
    "in docs/invoice-format.md"
)
IRPF_LINE: dict[str, Any] = {
    "service": "Translation",
    "quantity": "1",
    "unit_price": "500.00",
    "tax": "S",
    "tax_rate": "21",
    "taxes": [{"name": "IRPF", "category": "S", "percent": "-15"}],
}


def test_a_second_tax_beside_the_one_tax_shorthand_is_refused(tmp_path: Path) -> None:
    """A line takes `taxes` but not beside `tax`/`tax_rate`; an adjustment takes no
    `taxes`: both refused, never dropped."""
    text = json.dumps([good(lines=[IRPF_LINE])], indent=1)
    found = problems(tmp_path, [good(lines=[IRPF_LINE])])
    line = line_of(text, '"taxes"')
    assert found == [
        f"inv.json:{line}: invoice INV-1: lines[1].taxes: give either `tax` and `tax_rate` (one "
        "tax) or `taxes`, not both"
    ]
    adjustment = {"description": "Fee", "amount": "5.00", "service": "Fee", "taxes": []}
    found = problems(tmp_path, [good(adjustments=[adjustment])])
    assert [p.split(": ", 1)[1] for p in found] == [
        f"invoice INV-1: adjustments[1].taxes: {SEVERAL_TAXES}"
    ]


# (record, the field as the message names it, the key to find its line)
IN_MONEY_OBJECTS: list[tuple[dict[str, Any], str, str]] = [
    (
        good(lines=[{"service": "T", "quantity": "1", "unit_price": "1", "note": "?"}]),
        "lines[1].note",
        '"note"',
    ),
    (
        good(lines=[{"service": "T", "quantity": "1", "unit_price": "9", "discount": "10%"}]),
        "lines[1].discount",
        '"discount"',
    ),
    (
        good(customer={"name": "Acme Localization Inc.", "vat": "ESB1"}),
        "customer.vat",
        '"vat"',
    ),
    (
        good(customer={"name": "Acme Localization Inc.", "colour": "red"}),
        "customer.colour",
        '"colour"',
    ),
    (
        good(adjustments=[{"description": "D", "amount": "-1.00", "service": "D", "pct": "5"}]),
        "adjustments[1].pct",
        '"pct"',
    ),
    (good(totals={"total": "12.00", "withholding": "-1.80"}), "totals.withholding", '"withh'),
]


@pytest.mark.parametrize(
    ("record", "field", "key"), IN_MONEY_OBJECTS, ids=[r[1] for r in IN_MONEY_OBJECTS]
)
def test_any_unknown_field_in_a_line_adjustment_customer_or_totals_is_an_error(
    tmp_path: Path, record: dict[str, Any], field: str, key: str
) -> None:
    text = json.dumps([record], indent=1)
    assert problems(tmp_path, [record]) == [
        f"inv.json:{line_of(text, key)}: invoice INV-1: {field}: {UNKNOWN}"
    ]


@pytest.mark.parametrize(
    "key",
    ["taxes", "discount", "discounts", "withholding", "withholdings", "surcharge", "tax", "vat",
     "irpf", "retention", "total", "grand_total", "amount_due", "customer_id", "paid_on"],
)  # fmt: skip
def test_a_top_level_name_that_speaks_of_money_is_an_error(tmp_path: Path, key: str) -> None:
    record = good(**{key: "15"})
    line = line_of(json.dumps([record], indent=1), '"' + key + '"')
    assert problems(tmp_path, [record]) == [f"inv.json:{line}: invoice INV-1: {key}: {UNKNOWN}"]


def test_harmless_unknown_names_stay_warnings_and_the_invoice_loads(tmp_path: Path) -> None:
    path = tmp_path / "inv.json"
    record = good(notes_internal="call first", project_manager="Ana", source={
        "system": "protemos", "id": "7", "imported_by": "script"})  # fmt: skip
    path.write_text(json.dumps([record]), encoding="utf-8")
    source = open_source(path)
    assert len(source.invoices()) == 1
    assert source.warnings == [
        f"{path}:1: invoice INV-1: notes_internal: unknown field, ignored",
        f"{path}:1: invoice INV-1: project_manager: unknown field, ignored",
        f"{path}:1: invoice INV-1: source.imported_by: unknown field, ignored",
    ]


def test_a_money_name_under_source_is_an_error_too(tmp_path: Path) -> None:
    record = good(source={"system": "protemos", "id": "7", "total": "12.00"})
    line = line_of(json.dumps([record], indent=1), '"total"')
    assert problems(tmp_path, [record]) == [
        f"inv.json:{line}: invoice INV-1: source.total: {UNKNOWN}"
    ]


def test_unknown_names_are_escaped_in_errors(tmp_path: Path) -> None:
    record = good(lines=[{"service": "T", "quantity": "1", "unit_price": "1", "x\x1b[2J": 1}])
    line = line_of(json.dumps([record], indent=1), '"x\\u001b')
    assert problems(tmp_path, [record]) == [
        f"inv.json:{line}: invoice INV-1: lines[1].x\\x1b[2J: {UNKNOWN}"
    ]


HEAD = "number,customer_name,issue_date,currency,service,quantity,unit_price"


def test_a_csv_column_that_speaks_of_money_is_an_error_a_harmless_one_a_warning(
    tmp_path: Path,
) -> None:
    path = tmp_path / "x.csv"
    path.write_text(
        f"{HEAD},Created by,IRPF,Paid amount\nA,Acme,2026-10-01,EUR,T,1,500,Ana,-15,0\n",
        encoding="utf-8",
    )
    source = open_source(path)
    with pytest.raises(SourceError) as info:
        source.invoices()
    assert info.value.exit_code == 8
    assert info.value.details == [
        f"{path}:1: column 'IRPF': {COLUMN}",
        f"{path}:1: column 'Paid amount': {COLUMN}",
    ]
    path.write_text(f"{HEAD},Created by\nA,Acme,2026-10-01,EUR,T,1,500,Ana\n", encoding="utf-8")
    source = open_source(path)
    assert len(source.invoices()) == 1
    assert source.warnings == [f"{path}:1: column 'Created by' is not a known field, ignored"]


# The classification, pinned name by name: (name, whether it can change money).
NAMES: list[tuple[str, bool]] = [
    # taxes and withholdings, in the ways exports write them
    ("taxes", True), ("tax", True), ("Tax", True), ("vat", True), ("VAT", True),
    ("vat_rate", True), ("VATRate", True), ("vat21", True), ("irpf", True), ("IRPF", True),
    ("irpf15", True), ("withholding", True), ("withholdings", True), ("withholdingTax", True),
    ("retention", True), ("retención", True), ("iva", True), ("igic", True), ("gst", True),
    ("tva", True), ("mwst", True), ("taxAmount", True), ("surtax", True),
    # discounts, charges, amounts and totals
    ("discount", True), ("discounts", True), ("Discount %", True), ("descuento", True),
    ("surcharge", True), ("shipping_fee", True), ("fees", True), ("rebate", True),
    ("total", True), ("Total", True), ("grand_total", True), ("GrandTotal", True),
    ("subtotal", True), ("amount", True), ("Paid amount", True), ("net", True),
    ("gross", True), ("cost", True), ("price", True), ("rate", True), ("percent", True),
    ("pct", True), ("qty", True), ("quantity", True), ("balance", True), ("deposit", True),
    ("credit", True), ("allowance", True), ("importe", True), ("Importe total", True),
    ("remise", True), ("sum", True),
    # what the invoice holds: lines and items
    ("line_items", True), ("items", True), ("extra_lines", True),
    # the customer
    ("customer_id", True), ("client", True), ("Cliente", True), ("bill_to", True),
    ("contact_id", True), ("buyer", True), ("nif", True),
    # the currency
    ("currency_code", True), ("fx", True), ("fx_rate", True), ("exchange", True),
    # dates and terms
    ("date", True), ("paid_on", True), ("payment_date", True), ("delivery_date", True),
    ("amount_due", True), ("due", True), ("service_period", True), ("deadline", True),
    ("terms", True), ("fecha", True),
    # harmless: they cannot change what is owed
    ("notes_internal", False), ("project_manager", False), ("colour", False),
    ("created_by", False), ("Created by", False), ("project", False), ("reference", False),
    ("internal_id", False), ("tags", False), ("translator", False), ("updated_at", False),
    ("private_note", False), ("language", False), ("Project manager", False),
    ("comments", False), ("owner", False), ("department", False), ("imported_by", False),
    ("premises", False), ("x", False), ("", False),
]  # fmt: skip


@pytest.mark.parametrize(("name", "money"), NAMES, ids=[n or "(empty)" for n, _ in NAMES])
def test_which_names_can_change_money(name: str, money: bool) -> None:
    assert money_name(name) is money


SCHEMA = Path(__file__).parents[2] / "src" / "invoicesync" / "data" / "invoice.schema.json"


def test_the_schema_closes_exactly_the_objects_that_hold_money() -> None:
    """The shipped schema refuses what the reader refuses inside the money-holding objects, with
    the same field names, and leaves the invoice and its source open (warnings or the list)."""
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    customer = schema["properties"]["customer"]["oneOf"][1]
    closed = {
        "line": (schema["$defs"]["line"], LINE_FIELDS),
        "adjustment": (schema["$defs"]["adjustment"], ADJUSTMENT_FIELDS),
        "customer": (customer, CUSTOMER_FIELDS),
        "totals": (schema["properties"]["totals"], TOTALS_FIELDS),
    }
    for name, (part, known) in closed.items():
        assert part["additionalProperties"] is False, name
        assert set(part["properties"]) == known, name
    assert schema["additionalProperties"] is True
    assert set(schema["properties"]) == INVOICE_FIELDS
    assert "additionalProperties" not in schema["properties"]["source"]
    irpf = {k: v for k, v in IRPF_LINE.items() if k not in ("tax", "tax_rate")}
    irpf["taxes"] = [{"name": "IRPF", "category": "S", "rate": "-15", "percent": "-15"}]
    refused = good(lines=[irpf])  # `percent` is B2BRouter's name; ours is `rate`
    with pytest.raises(jsonschema.ValidationError, match="'percent' was unexpected"):
        jsonschema.validate(refused, schema)
    both = good(lines=[dict(IRPF_LINE, taxes=[{"category": "S", "rate": "21"}])])
    with pytest.raises(jsonschema.ValidationError, match="should not be valid"):
        jsonschema.validate(both, schema)
    jsonschema.validate(good(notes_internal="call first"), schema)


def test_the_documented_lists_are_the_ones_the_reader_uses() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "invoice-format.md").read_text(encoding="utf-8")
    section = doc.split("### Unknown fields\n", 1)[1].split("\n### ", 1)[0]
    quotes = re.findall(r"((?:^> .*\n)+)", section, re.M)
    listed = [
        [w.strip() for w in q.replace("> ", "").replace("\n", " ").split(",")] for q in quotes
    ]
    assert listed == [list(STEMS), list(WORDS)]
