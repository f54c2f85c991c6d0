"""Source formats and the validator: every rule with its exact message."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from invoicesync import targets
from invoicesync.errors import SourceError
from invoicesync.models import Customer, Line, LocalInvoice, round_money
from invoicesync.sources import open_source
from invoicesync.sources.base import SourceRules
from invoicesync.sources.csv_format import write_csv
from invoicesync.sources.json_format import to_canonical

SAMPLES = Path(__file__).parents[2] / "src" / "invoicesync" / "data" / "samples"


def good(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "number": "INV-1",
        "customer": {"name": "Acme Localization Inc."},
        "issue_date": "2026-10-01",
        "currency": "USD",
        "lines": [{"service": "Translation", "quantity": "100", "unit_price": "0.12"}],
    }
    base.update(overrides)
    return base


# The rules of the sample companies' target: QuickBooks (a 21-character DocNumber).
QBO = targets.get("quickbooks").source_rules


def load(
    tmp_path: Path, records: Any, name: str = "inv.json", rules: SourceRules = QBO
) -> list[LocalInvoice]:
    path = tmp_path / name
    path.write_text(json.dumps(records, indent=1), encoding="utf-8")
    return open_source(path, rules=rules).invoices()


def problems(tmp_path: Path, records: Any, name: str = "inv.json") -> list[str]:
    with pytest.raises(SourceError) as info:
        load(tmp_path, records, name)
    assert info.value.exit_code == 8
    return [d.replace(f"{tmp_path}/", "") for d in info.value.details]


def test_samples_json_and_csv_load_to_equal_invoices() -> None:
    for company in ("us", "uk"):
        from_json = open_source(SAMPLES / company / "invoices.json").invoices()
        from_csv = open_source(SAMPLES / company / "invoices.csv").invoices()
        assert from_json == from_csv
        assert len(from_json) >= 4


def test_sample_month_covers_the_cases_the_demo_needs() -> None:
    invoices = open_source(SAMPLES / "us" / "invoices.json").invoices()
    by_number = {i.number: i for i in invoices}
    assert by_number["INV-2026-0101"].lines[0].amount == Decimal("1500.00")
    assert by_number["INV-2026-0104"].lines[0].amount == Decimal("416.63")  # 416.625 half-up
    assert by_number["INV-2026-0104"].total == Decimal("480.38")
    assert by_number["INV-2026-0105"].tax == Decimal("54.38")
    assert by_number["INV-2026-0103"].currency == "EUR"
    assert {i.status for i in invoices} == {"sent", "draft", "cancelled"}
    assert any("'" in i.customer.name for i in invoices)
    assert any(":" in i.customer.name for i in invoices)


def line_of(text: str, needle: str, after: int = 0) -> int:
    """1-based line of the first `needle` in `text`, plus `after` lines."""
    return text[: text.index(needle)].count("\n") + 1 + after


RULES: list[tuple[dict[str, Any], str, str]] = [
    # (record, where the message must point: the field's own line, the message after it)
    (good(number=None), '"number"', "invoice ?: number: is required"),
    (
        good(number="X" * 22),
        '"number"',
        "invoice " + "X" * 22 + ": number: is 22 characters; QuickBooks allows at most 21",
    ),
    (good(customer=None), '"customer"', "invoice INV-1: customer: is required"),
    (good(customer={"name": ""}), '"name"', "invoice INV-1: customer.name: is required"),
    (
        good(customer={"name": "A", "email": "nope"}),
        '"email"',
        "invoice INV-1: customer.email: 'nope' is not an e-mail address",
    ),
    (
        good(customer={"name": "A", "country": "XX"}),
        '"country"',
        "invoice INV-1: customer.country: 'XX' is not an ISO 3166 alpha-2 country code "
        "(two capital letters)",
    ),
    (
        good(issue_date="2026-13-01"),
        '"issue_date"',
        "invoice INV-1: issue_date: '2026-13-01' is not a valid date",
    ),
    (
        good(issue_date="01/10/2026"),
        '"issue_date"',
        "invoice INV-1: issue_date: '01/10/2026' is not a date (YYYY-MM-DD)",
    ),
    (
        good(due_date="2026-09-30"),
        '"due_date"',
        "invoice INV-1: due_date: 2026-09-30 is before issue_date 2026-10-01",
    ),
    (
        good(currency="usd"),
        '"currency"',
        "invoice INV-1: currency: 'usd' is not an ISO 4217 code (three capital letters)",
    ),
    (
        good(currency="ABC"),
        '"currency"',
        "invoice INV-1: currency: 'ABC' is not an ISO 4217 code (no currency has this code)",
    ),
    (
        good(status="paid-ish"),
        '"status"',
        "invoice INV-1: status: 'paid-ish' is not one of draft, sent, paid, cancelled",
    ),
    (good(lines=[]), '"lines"', "invoice INV-1: lines: at least one line is required"),
    (
        good(lines=[{"service": "T", "quantity": "abc", "unit_price": "1"}]),
        '"quantity"',
        "invoice INV-1: lines[1].quantity: 'abc' is not a plain decimal number "
        "(no exponents, NaN or separators)",
    ),
    (
        good(lines=[{"service": "T", "quantity": "-1", "unit_price": "1"}]),
        '"quantity"',
        "invoice INV-1: lines[1].quantity: -1 is negative: a discount is an adjustment with a "
        "negative amount, and money given back is a credit note (type credit_note, positive "
        "amounts); see docs/invoice-format.md#adjustments",
    ),
    (
        good(lines=[{"service": "T", "quantity": "0", "unit_price": "1"}]),
        '"quantity"',
        "invoice INV-1: lines[1].quantity: 0 must be greater than 0",
    ),
    (
        good(lines=[{"service": "T", "quantity": "1e3", "unit_price": "1"}]),
        '"quantity"',
        "invoice INV-1: lines[1].quantity: '1e3' is not a plain decimal number "
        "(no exponents, NaN or separators)",
    ),
    (
        good(
            lines=[
                {"service": "T", "quantity": "14.5", "unit_price": "128.35", "amount": "1861.07"}
            ]
        ),
        '"amount"',
        "invoice INV-1: lines[1].amount: 1861.07 is not quantity × unit_price = "
        "14.5 × 128.35 = 1861.08 (rounded half-up to cents)",
    ),
    (
        good(lines=[{"service": "T", "quantity": "1", "unit_price": "99999999999999"}]),
        '"unit_price"',
        "invoice INV-1: lines[1].unit_price: 99999999999999 is too large; invoicesync sends at "
        "most 9,999,999,999.99 here",
    ),
    (
        good(lines=[{"service": "T", "quantity": "0.30000000000000004", "unit_price": "1"}]),
        '"quantity"',
        "invoice INV-1: lines[1].quantity: 0.30000000000000004 has too many decimal places (17); "
        "at most 7 are kept",
    ),
    (
        good(lines=[{"service": "T", "quantity": "999999999999", "unit_price": "999999999999"}]),
        '"quantity"',
        "invoice INV-1: lines[1].quantity: 999999999999 is too large; invoicesync sends at most "
        "9,999,999,999.99 here",
    ),
    (
        good(lines=[{"service": "T", "quantity": "100000", "unit_price": "100000.01"}]),
        '"lines"+1',  # a computed field points at its line's object, after "lines": [
        "invoice INV-1: lines[1].amount: quantity × unit_price = 10000001000.00 is too large; "
        "invoicesync sends at most 9,999,999,999.99 on a line",
    ),
    (
        good(
            lines=[{"service": "T", "quantity": "1", "unit_price": "10.00"}],
            adjustments=[
                {"description": "Discount", "amount": "-999999999999.99", "service": "Discount"}
            ],
        ),
        '"amount"',
        "invoice INV-1: adjustments[1].amount: -999999999999.99 is too large; invoicesync sends "
        "at most 9,999,999,999.99 here",
    ),
    (
        good(
            lines=[{"service": "T", "quantity": "1", "unit_price": "10.00"}],
            adjustments=[{"description": "Discount", "amount": "-10.01", "service": "Discount"}],
        ),
        '"adjustments"',
        "invoice INV-1: adjustments: the adjustments make the invoice total negative (-0.01); "
        "QuickBooks refuses negative totals: issue a credit note instead",
    ),
    (
        good(lines=[{"quantity": "1", "unit_price": "1"}]),
        '"lines"+1',  # a missing field points at its object
        "invoice INV-1: lines[1].service: is required",
    ),
    (
        good(totals={"total": "13.00"}),
        '"total"',
        "invoice INV-1: totals.total: 13.00 disagrees with the lines, which add up to 12.00",
    ),
    (
        good(customer={"name": "Bad\x07Bell"}),
        '"name"',
        "invoice INV-1: customer.name: contains a refused character: U+0007 control character "
        "(\\x07) at character 4; remove it",
    ),
    (
        good(adjustments=[{"description": "Rush", "amount": "10.001", "service": "Rush Fee"}]),
        '"amount"',
        "invoice INV-1: adjustments[1].amount: 10.001 has too many decimal places (3); at most 2 "
        "(cents)",
    ),
    (
        good(credit_for="INV-0"),
        '"credit_for"',
        'invoice INV-1: credit_for: is only for credit notes (type "credit_note")',
    ),
    (
        good(type="credit"),
        '"type"',
        "invoice INV-1: type: 'credit' is not one of invoice, credit_note",
    ),
    (
        good(lines=[{"service": "T", "quantity": "1", "unit_price": "1", "tax": "S"}]),
        '"lines"+1',
        "invoice INV-1: lines[1].tax_rate: VAT category S (standard rate) needs a tax_rate above 0",
    ),
    (
        good(
            lines=[
                {"service": "T", "quantity": "1", "unit_price": "1", "tax": "E", "tax_rate": "7"}
            ]
        ),
        '"tax_rate"',
        "invoice INV-1: lines[1].tax_rate: VAT category E has a rate of 0, not 7",
    ),
    (
        good(
            lines=[
                {"service": "T", "quantity": "1", "unit_price": "1", "tax": "O", "tax_rate": "0"}
            ]
        ),
        '"tax_rate"',
        "invoice INV-1: lines[1].tax_rate: VAT category O (outside the scope of VAT) takes no rate",
    ),
]


@pytest.mark.parametrize(("record", "key", "message"), RULES)
def test_each_rule_has_its_message_on_the_fields_own_line(
    tmp_path: Path, record: dict[str, Any], key: str, message: str
) -> None:
    found = problems(tmp_path, [record])
    text = (tmp_path / "inv.json").read_text()
    line = line_of(text, key.removesuffix("+1"), after=int(key.endswith("+1")))
    assert f"inv.json:{line}: {message}" in found, found


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    found = problems(
        tmp_path, [good(currency="x", issue_date="nope"), good(number="INV-2", lines=[])]
    )
    assert len(found) == 3


def test_duplicate_numbers(tmp_path: Path) -> None:
    found = problems(tmp_path, [good(), good()])
    assert found == [
        "inv.json:8: invoice INV-1: number: duplicate of the invoice at inv.json:2"
    ] or any("duplicate of the invoice" in f for f in found)


def test_unknown_fields_are_warnings(tmp_path: Path) -> None:
    path = tmp_path / "inv.json"
    path.write_text(json.dumps([good(colour="red")], indent=1))
    source = open_source(path)
    assert len(source.invoices()) == 1
    line = line_of(path.read_text(), '"colour"')  # the unknown field's own line
    assert source.warnings == [f"{path}:{line}: invoice INV-1: colour: unknown field, ignored"]


def test_json_errors_name_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('[\n {"number": "A",\n  "x": }\n]')
    with pytest.raises(SourceError) as info:
        open_source(path).invoices()
    assert info.value.details[0] == f"{path}:3:8: invalid JSON: Expecting value"


def test_nan_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "nan.json"
    path.write_text(
        '{"number": "A", "customer": "C", "issue_date": "2026-01-01", "currency": "USD",'
        ' "lines": [{"service": "T", "quantity": NaN, "unit_price": 1}]}'
    )
    with pytest.raises(SourceError) as info:
        open_source(path).invoices()
    assert "NaN" in info.value.details[0]


def test_json_lines_and_single_object_and_folder(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_text(
        json.dumps(good()) + "\n\n" + json.dumps(good(number="INV-2")) + "\n"
    )
    (tmp_path / "b.json").write_text(json.dumps(good(number="INV-3")))
    numbers = [i.number for i in open_source(tmp_path).invoices()]
    assert numbers == ["INV-1", "INV-2", "INV-3"]


def test_csv_semicolon_bom_and_column_map(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text(
        "\ufeffInvoice #;Client;issue_date;currency;service;quantity;unit_price\n"
        "INV-9;Acme;2026-10-01;USD;Translation;100;0,12\n".replace("0,12", "0.12"),
        encoding="utf-8",
    )
    source = open_source(path, csv_columns={"number": "Invoice #", "customer_name": "Client"})
    [invoice] = source.invoices()
    assert (invoice.number, invoice.customer.name, invoice.total) == (
        "INV-9",
        "Acme",
        Decimal("12.00"),
    )


def test_csv_rows_of_one_invoice_must_agree(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text(
        "number,customer_name,issue_date,currency,service,quantity,unit_price\n"
        "A,Acme,2026-10-01,USD,T,1,1\nA,Other,2026-10-01,USD,T,1,1\n"
    )
    with pytest.raises(SourceError) as info:
        open_source(path).invoices()
    assert info.value.details == [
        f"{path}:3: invoice A: customer_name: differs from the first row of this invoice (line 2)"
    ]


def test_csv_mixed_delimiters_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text(
        "number,customer_name,issue_date,currency,service,quantity,unit_price\n"
        "A;Acme;2026-10-01;USD;T;1;1\n"
    )
    with pytest.raises(SourceError) as info:
        open_source(path).invoices()
    assert "row has 1 fields but the header has 7" in info.value.details[0]


def test_missing_source_and_bad_extension(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such file"):
        open_source(tmp_path / "nope.json").invoices()
    (tmp_path / "x.txt").write_text("")
    with pytest.raises(SourceError, match="unknown file type"):
        open_source(tmp_path / "x.txt").invoices()


# --- round trip -----------------------------------------------------------------------------

# Any name the validator takes: not the controls, separators and bidi embeddings, overrides and
# isolates it refuses (sources/fields.py: `_BAD_ANY`; tests/sources/test_fields.py tests those).
_BIDI = "".join(map(chr, [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]))
names = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cc", "Cs", "Zl", "Zp"), blacklist_characters=":" + _BIDI
    ),
    min_size=1,
    max_size=30,
).filter(lambda s: s.strip() == s and s != "")
qty = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999"), places=2)
price = st.decimals(min_value=Decimal("0"), max_value=Decimal("9999"), places=3)


@st.composite
def invoices(draw: st.DrawFn) -> LocalInvoice:
    lines = tuple(
        Line(draw(names), q, p, round_money(q * p), description=draw(st.none() | names))
        for q, p in draw(st.lists(st.tuples(qty, price), min_size=1, max_size=4))
    )
    return LocalInvoice(
        number=draw(st.from_regex(r"[A-Z]{2,4}-[0-9]{1,8}", fullmatch=True)),
        customer=Customer(draw(names)),
        issue_date=draw(st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 1, 1))),
        currency=draw(st.sampled_from(["USD", "EUR", "GBP"])),
        lines=lines,
        note=draw(st.none() | names),
        status=draw(st.sampled_from(["sent", "draft", "paid"])),
    )


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(invoices(), min_size=1, max_size=4, unique_by=lambda i: i.number))
def test_round_trip_through_json_and_csv(tmp_path: Path, batch: list[LocalInvoice]) -> None:
    (tmp_path / "r.json").write_text(json.dumps([to_canonical(i) for i in batch]), encoding="utf-8")
    (tmp_path / "r.csv").write_text(write_csv(batch), encoding="utf-8")
    assert open_source(tmp_path / "r.json").invoices() == batch
    assert open_source(tmp_path / "r.csv").invoices() == batch


def test_each_target_states_its_own_number_limit_and_words(tmp_path: Path) -> None:
    """QuickBooks keeps 21 characters of a DocNumber; B2BRouter documents no limit, so a long
    number is its to refuse, not ours. Both refuse a negative invoice in their own name."""
    long = good(number="F-2026-" + "0" * 20)
    b2b = targets.get("b2brouter").source_rules
    assert [i.number for i in load(tmp_path, [long], rules=b2b)] == [long["number"]]
    assert problems(tmp_path, [long]) == [
        f"inv.json:3: invoice {long['number']}: number: is 27 characters; QuickBooks allows at "
        "most 21"
    ]
    negative = good(
        lines=[{"service": "T", "quantity": "1", "unit_price": "10.00"}],
        adjustments=[{"description": "Discount", "amount": "-10.01", "service": "Discount"}],
    )
    with pytest.raises(SourceError) as info:
        load(tmp_path, [negative], rules=b2b)
    assert any(
        "the adjustments make the invoice total negative (-0.01); B2BRouter refuses negative "
        "totals: issue a credit note instead" in d
        for d in info.value.details
    )
