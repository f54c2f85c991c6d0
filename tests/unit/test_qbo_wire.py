"""The wire formats: exact decimals out and in, and XML read into JSON's shape."""

from __future__ import annotations

import json
from decimal import Decimal

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from invoicesync.targets.quickbooks.api import errors as qerr
from invoicesync.targets.quickbooks.api import wire


@given(st.decimals(allow_nan=False, allow_infinity=False))
def test_any_finite_decimal_round_trips_as_a_plain_number(value: Decimal) -> None:
    text = wire.dumps({"Qty": value})
    assert "__decimal__" not in text and '"Qty": "' not in text
    back = json.loads(text, parse_float=Decimal)["Qty"]
    assert isinstance(back, int | Decimal)
    assert back == value
    if isinstance(back, Decimal):  # same digits, not just the same value
        assert back.as_tuple() == value.as_tuple()


@given(
    st.recursive(
        st.none()
        | st.booleans()
        | st.integers()
        | st.text()
        | st.decimals(allow_nan=False, allow_infinity=False),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
        max_leaves=20,
    )
)
def test_documents_round_trip_through_dumps_and_loads(doc: object) -> None:
    assert wire.loads(wire.dumps(doc)) == doc
    assert wire.loads(wire.dumps(doc, indent=2)) == doc


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("0.0000001"), "0.0000001"),
        (Decimal("1E-7"), "0.0000001"),
        (Decimal("1861.08"), "1861.08"),
        (Decimal("-0.00"), "-0.00"),
        (Decimal("1E+2"), "100"),
        (Decimal("999999999999.99"), "999999999999.99"),
        (Decimal("1E+400"), "1E+400"),
    ],
)
def test_decimals_are_written_as_quickbooks_reads_them(value: Decimal, text: str) -> None:
    assert wire.dumps([value]) == f"[{text}]"


def test_what_json_cannot_carry_is_refused() -> None:
    with pytest.raises(ValueError, match="JSON has no such number"):
        wire.dumps({"Amount": Decimal("NaN")})
    with pytest.raises(TypeError, match="Decimal"):
        wire.dumps({"Amount": 0.1})
    with pytest.raises(ValueError, match="NaN"):
        wire.loads('{"Amount": NaN}')


def test_indented_output_matches_the_standard_library() -> None:
    doc = {"Line": [{"Amount": 1, "Ünïcode": "’"}], "Empty": {}, "None": []}
    assert wire.dumps(doc, indent=2) == json.dumps(doc, indent=2, ensure_ascii=False)
    assert wire.dumps(doc) == json.dumps(doc, ensure_ascii=False)


def test_xml_entities_keep_refs_lines_and_attributes() -> None:
    body = (
        '<IntuitResponse xmlns="http://schema.intuit.com/finance/v3">'
        '<Invoice domain="QBO"><Id>5</Id><CustomerRef name="Amy">1</CustomerRef>'
        "<Line><Amount>10.00</Amount></Line><PrivateNote/></Invoice></IntuitResponse>"
    )
    assert wire.parse_xml(body) == {
        "Invoice": {
            "domain": "QBO",
            "Id": "5",
            "CustomerRef": {"name": "Amy", "value": "1"},
            "Line": [{"Amount": "10.00"}],
            "PrivateNote": "",
        }
    }


def test_xml_empty_query_and_cdc_answers_have_json_shapes() -> None:
    assert wire.parse_xml("<IntuitResponse><QueryResponse/></IntuitResponse>") == {
        "QueryResponse": {}
    }
    cdc = (
        "<IntuitResponse><CDCResponse><QueryResponse><Invoice><Id>1</Id></Invoice>"
        "</QueryResponse></CDCResponse></IntuitResponse>"
    )
    assert wire.parse_xml(cdc) == {"CDCResponse": [{"QueryResponse": [{"Invoice": [{"Id": "1"}]}]}]}


@pytest.mark.parametrize("text", ["", "plain text", "{}", "<html><body>Bad gateway"])
def test_what_is_not_intuit_xml_gives_nothing_or_no_fault(text: str) -> None:
    parsed = wire.parse_xml(text)
    assert parsed is None or "Fault" not in parsed


@given(st.text(max_size=300), st.sampled_from([200, 400, 403, 429, 500, 503]))
def test_any_body_becomes_data_or_an_error_never_a_crash(body: str, status: int) -> None:
    parsed = qerr.parse_body(body)
    assert parsed is None or isinstance(parsed, dict | list | str | int | Decimal | bool)
    err = qerr.from_response(httpx.Response(status, text=body))
    assert isinstance(err, qerr.QBOError) and "\n" not in str(err)


@given(
    st.text(alphabet=st.sampled_from(list("<>/=\"' FaultErorcdMsgDtailxmn&;!-[]")), max_size=200)
)
def test_xml_like_garbage_never_crashes_the_reader(body: str) -> None:
    parsed = wire.parse_xml("<" + body)
    assert parsed is None or isinstance(parsed, dict)


@pytest.mark.parametrize("body", ["[" * 100_000, "<a>" * 5_000 + "</a>" * 5_000])
def test_absurd_nesting_is_no_answer_not_a_crash(body: str) -> None:
    assert qerr.parse_body(body) is None
    assert isinstance(qerr.from_response(httpx.Response(200, text=body)), qerr.QBOError)
