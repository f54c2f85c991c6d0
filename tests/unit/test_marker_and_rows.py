"""Our marker names exactly one invoice number; typed rows read QuickBooks' loose JSON."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from invoicesync.cli.views import money
from invoicesync.marker import (
    marker,
    marker_of,
    origin_of,
    origin_tag,
    with_marker,
    without_marker,
)
from invoicesync.targets.quickbooks.api.rows import CompanyFacts, Entity, QBOInvoice

numbers = st.text(min_size=1, max_size=40).filter(lambda s: s.strip() == s and s)


@given(numbers, st.text(max_size=30))
def test_marker_round_trips_any_number_beside_any_note(number: str, note: str) -> None:
    written = with_marker(note, number)
    assert marker_of(written) == number
    assert marker(number) in written


@given(numbers, numbers)
def test_two_numbers_never_share_a_marker(a: str, b: str) -> None:
    if a != b:
        assert marker(a) != marker(b)
        assert marker_of(marker(a)) != marker_of(marker(b))


def test_plain_numbers_keep_the_form_every_version_wrote() -> None:
    assert marker("INV-2026-0102") == "[invoicesync INV-2026-0102]"
    assert marker_of("[invoicesync INV-2026-0102] PO 7") == "INV-2026-0102"


def test_brackets_spaces_and_unicode_are_encoded() -> None:
    assert marker("K]x") == "[invoicesync ~K%5Dx]"
    assert marker_of(marker("K]x")) == "K]x"
    assert marker_of(marker("K")) == "K"
    assert marker("A B") == "[invoicesync ~A%20B]"
    assert marker_of(marker("Ünï 5")) == "Ünï 5"


def test_markers_of_the_earlier_raw_form_are_still_read() -> None:
    assert marker_of("[invoicesync K]x]") == "K]x"  # not "K"
    assert marker_of("[invoicesync A B] PO 9") == "A B"
    assert marker_of("[invoicesync K] x") == "K"
    assert without_marker("[invoicesync K]x] PO 9") == "PO 9"


def test_the_origin_is_a_tag_of_its_own_that_every_version_reads_past() -> None:
    note = f"{marker('INV-7')} {origin_tag('9f2c41d07ab3e865')} PO 12"
    assert (marker_of(note), origin_of(note)) == ("INV-7", "9f2c41d07ab3e865")
    # What earlier versions read: the marker alone, the same number.
    earlier = re.search(r"\[invoicesync (~?[^\]\s]+)\](?=\s|$)", note)
    assert earlier is not None and earlier[1] == "INV-7"
    # An origin means nothing without our marker, and `link`/`unlink` drop it: the record was
    # not created by the state that links it.
    assert origin_of(origin_tag("9f2c41d07ab3e865")) is None
    assert with_marker(note, "INV-8") == "[invoicesync INV-8] PO 12"
    assert without_marker(note) == "PO 12"
    with pytest.raises(ValueError):
        origin_tag("not hex]")


def test_a_note_without_our_marker() -> None:
    assert marker_of(None) is None
    assert marker_of("Voided") is None
    assert marker_of("[invoicesync]") is None


def test_invoice_rows_read_numbers_in_any_form() -> None:
    row = QBOInvoice.from_row(
        {
            "Id": 7,
            "DocNumber": "1001",
            "CustomerRef": {"value": "3", "name": "Acme"},
            "TotalAmt": 477.5,
            "Balance": 0,
            "CurrencyRef": {"value": "EUR"},
            "SyncToken": "2",
            "TxnDate": "2026-11-02",
            "PrivateNote": "[invoicesync INV-9]",
            "MetaData": {"LastUpdatedTime": "2026-11-02T10:00:00-08:00"},
        },
        Entity.INVOICE,
    )
    assert (row.id, row.customer_id, row.customer_name) == ("7", "3", "Acme")
    assert row.total == Decimal("477.5") and row.balance == Decimal("0")
    assert (str(row.total), str(row.balance)) == ("477.50", "0.00")  # printed like the source
    assert (
        str(QBOInvoice.from_row({"Id": "2", "TotalAmt": "12.345"}, Entity.INVOICE).total)
        == "12.345"
    )
    assert row.marker == "INV-9" and row.status == "paid"
    assert row.updated_at == "2026-11-02T10:00:00-08:00"
    bare = QBOInvoice.from_row({"Id": "8"}, Entity.INVOICE)
    assert (bare.total, bare.currency, bare.marker, bare.status) == (None, None, None, "open")


def test_invoice_status_from_amounts() -> None:
    def status(total: object, balance: object, note: str = "") -> str:
        return QBOInvoice.from_row(
            {"Id": "1", "TotalAmt": total, "Balance": balance, "PrivateNote": note},
            Entity.INVOICE,
        ).status

    assert status(100, 100) == "open"
    assert status(100, 40) == "partly paid"
    assert status(100, 0) == "paid"
    assert status(0, 0, "Voided") == "voided"


def test_company_facts_default_to_a_us_company() -> None:
    facts = CompanyFacts.from_rows({}, {})
    assert facts.us and facts.home_currency == "USD" and not facts.multicurrency
    uk = CompanyFacts.from_rows(
        {"Country": "GB", "CompanyName": "X"},
        {
            "CurrencyPrefs": {"HomeCurrency": {"value": "GBP"}, "MultiCurrencyEnabled": True},
            "SalesFormsPrefs": {"CustomTxnNumbers": True},
        },
    )
    assert not uk.us and uk.home_currency == "GBP" and uk.multicurrency
    assert uk.custom_txn_numbers


def test_money_in_the_currencys_minor_units() -> None:
    assert money(Decimal("477.5"), "USD") == "477.50"
    assert money(Decimal("0"), "EUR") == "0.00"
    assert money(Decimal("1740"), None) == "1740.00"
    assert money(Decimal("1500"), "JPY") == "1500"
    assert money(Decimal("1.2345"), "KWD") == "1.235"  # half-up
    assert money(None) is None
