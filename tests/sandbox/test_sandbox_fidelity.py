"""The sandbox behaves like QuickBooks where our client could otherwise agree with it by
accident: number spelling, optional fields, DocNumber modes, instants, throttles,
hostile dates and company files. Plain httpx, never invoicesync's client."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from pypdf import PdfReader

from invoicesync.targets.quickbooks.sandbox import CompanyFileError, Faults, Sandbox
from tests.sandbox.support import US, Api, fault, invoice, line

# --- numbers, optional fields, multicurrency -------------------------------------------------


def test_numbers_are_spelled_as_quickbooks_spells_them(api: Api) -> None:
    r = api.post("invoice", invoice(Line=[line(qty="1", price="275")]))
    assert r.status_code == 200, r.text
    assert '"TotalAmt": 275.0' in r.text and '"Amount": 275.0' in r.text
    assert '"Qty": 1,' in r.text and '"UnitPrice": 275}' not in r.text
    assert '"UnitPrice": 275' in r.text
    assert '"TotalTax": 0' in r.text
    half = api.post("invoice", invoice(Line=[line(qty="19.1", price="25")]))
    assert '"TotalAmt": 477.5,' in half.text and '"Balance": 477.5,' in half.text
    assert '"TotalAmt": 477.50' not in half.text


def test_paid_balance_is_zero_without_decimals(api: Api, sb: Sandbox) -> None:
    created = api.post("invoice", invoice()).json()["Invoice"]
    sb.company(US).record_payment(created["Id"])
    r = api.get(f"invoice/{created['Id']}")
    assert '"Balance": 0,' in r.text and r.json()["Invoice"]["Balance"] == 0


def test_no_deposit_unless_set(api: Api) -> None:
    plain = api.post("invoice", invoice()).json()["Invoice"]
    assert "Deposit" not in plain
    paid_ahead = api.post("invoice", invoice(Deposit="5")).json()["Invoice"]
    assert (paid_ahead["Deposit"], paid_ahead["TotalAmt"], paid_ahead["Balance"]) == (5, 25, 20)
    too_much = api.post("invoice", invoice(Deposit="25.01"))
    assert fault(too_much)["code"] == "6000"


def test_multicurrency_amounts_on_every_invoice_of_a_multicurrency_company(api: Api) -> None:
    home = api.post("invoice", invoice()).json()["Invoice"]
    assert (home["ExchangeRate"], home["HomeTotalAmt"], home["HomeBalance"]) == (1, 25, 25)
    eur = api.post("invoice", invoice(customer="3")).json()["Invoice"]  # Müller, EUR
    assert eur["CurrencyRef"]["value"] == "EUR"
    assert eur["ExchangeRate"] == 1.08
    assert (eur["HomeTotalAmt"], eur["HomeBalance"]) == (27, 27)


def _single_currency_company(tmp_path: Path, **company: Any) -> Sandbox:
    seed = {
        "company": {"realm_id": "9130350000000009", "name": "Solo", **company},
        "items": [{"name": "Translation", "unit_price": "0.12"}],
        "customers": [{"name": "Acme"}],
    }
    path = tmp_path / "solo.json"
    path.write_text(json.dumps(seed), encoding="utf-8")
    return Sandbox([str(path)], auto_approve=True)


def test_no_exchange_rate_without_multicurrency(tmp_path: Path) -> None:
    api = Api(_single_currency_company(tmp_path), realm="9130350000000009")
    created = api.post("invoice", invoice(ExchangeRate="2")).json()["Invoice"]
    assert not {"ExchangeRate", "HomeTotalAmt", "HomeBalance"} & set(created)


# --- discount lines ----------------------------------------------------------------------------


def _discount(**detail: Any) -> dict[str, Any]:
    line: dict[str, Any] = {"DetailType": "DiscountLineDetail", "DiscountLineDetail": detail}
    if not detail.get("PercentBased"):
        line["Amount"] = detail.pop("amount")
    return line


def test_percent_discount_line(api: Api) -> None:
    body = invoice(
        Line=[line(qty="10", price="10"), _discount(PercentBased=True, DiscountPercent=10)]
    )
    created = api.post("invoice", body).json()["Invoice"]
    kinds = [ln["DetailType"] for ln in created["Line"]]
    assert kinds == ["SalesItemLineDetail", "SubTotalLineDetail", "DiscountLineDetail"]
    assert created["Line"][2]["Amount"] == 10
    assert (created["TotalAmt"], created["Balance"]) == (90, 90)


def test_fixed_discount_and_tax_after_discount(api: Api) -> None:
    body = invoice(
        Line=[line(qty="1", price="100", TaxCodeRef={"value": "TAX"}), _discount(amount="20")],
        TxnTaxDetail={"TxnTaxCodeRef": {"value": "2"}},
        ApplyTaxAfterDiscount=True,
    )
    r = api.post("invoice", body)
    assert r.status_code == 200, r.text
    created = r.json()["Invoice"]
    tax = Decimal(str(created["TxnTaxDetail"]["TotalTax"]))
    rates = [
        Decimal(str(t["TaxLineDetail"]["TaxPercent"])) for t in created["TxnTaxDetail"]["TaxLine"]
    ]
    assert rates == [4, Decimal("4.5")]  # New York City: state and city
    assert tax == sum((Decimal("80") * r / 100).quantize(Decimal("0.01")) for r in rates)
    assert all(
        t["TaxLineDetail"]["NetAmountTaxable"] == 80 for t in created["TxnTaxDetail"]["TaxLine"]
    )
    assert Decimal(str(created["TotalAmt"])) == Decimal("80") + tax


@pytest.mark.parametrize(
    "discount",
    [
        _discount(amount="30"),  # more than the subtotal
        _discount(amount="-1"),
        _discount(PercentBased=True, DiscountPercent=101),
    ],
)
def test_impossible_discounts_are_refused(api: Api, discount: dict[str, Any]) -> None:
    r = api.post("invoice", invoice(Line=[line(), discount]))
    assert r.status_code == 400
    assert fault(r)["code"] in {"6000", "2010"}


# --- DocNumber modes ---------------------------------------------------------------------------


def test_custom_numbers_on_checks_duplicates_and_leaves_absent_empty(api: Api) -> None:
    assert api.get("preferences").json()["Preferences"]["SalesFormsPrefs"]["CustomTxnNumbers"]
    assert "DocNumber" not in api.post("invoice", invoice()).json()["Invoice"]
    assert api.post("invoice", invoice(DocNumber="N-1")).status_code == 200
    assert fault(api.post("invoice", invoice(DocNumber="N-1")))["code"] == "6140"


def test_custom_numbers_off_assigns_and_takes_a_supplied_number_as_is(api: Api) -> None:
    prefs = api.get("preferences").json()["Preferences"]
    r = api.post(
        "preferences",
        {
            "SyncToken": prefs["SyncToken"],
            "sparse": True,
            "SalesFormsPrefs": {"CustomTxnNumbers": False},
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["Preferences"]["SalesFormsPrefs"]["CustomTxnNumbers"] is False
    assert r.json()["Preferences"]["SyncToken"] == str(int(prefs["SyncToken"]) + 1)
    auto = api.post("invoice", invoice()).json()["Invoice"]
    assert auto["DocNumber"] == "1038"
    again = api.post("invoice", invoice(DocNumber="1038"))
    assert again.status_code == 200  # no duplicate check with custom numbers off
    assert again.json()["Invoice"]["DocNumber"] == "1038"


def test_preferences_update_needs_the_current_sync_token(api: Api) -> None:
    r = api.post("preferences", {"SyncToken": "7", "SalesFormsPrefs": {"CustomTxnNumbers": False}})
    assert fault(r)["code"] == "5010"


def test_multicurrency_cannot_be_turned_off(api: Api) -> None:
    r = api.post(
        "preferences",
        {"SyncToken": "0", "CurrencyPrefs": {"MultiCurrencyEnabled": False}},
    )
    assert fault(r)["code"] == "6000"


def test_doc_number_mode_from_the_company_file(tmp_path: Path) -> None:
    sb = _single_currency_company(tmp_path, custom_txn_numbers=False, next_doc_number=7)
    api = Api(sb, realm="9130350000000009")
    assert api.post("invoice", invoice()).json()["Invoice"]["DocNumber"] == "7"


# --- timestamps as instants --------------------------------------------------------------------


def test_timestamps_compare_as_instants_across_the_dst_fall_back(api: Api, sb: Sandbox) -> None:
    first = api.post("invoice", invoice()).json()["Invoice"]
    second = api.post("invoice", invoice()).json()["Invoice"]
    store = sb.company(US).entities["Invoice"]
    # 01:50 PDT comes before 01:10 PST (the clocks went back at 02:00 PDT).
    store[first["Id"]]["MetaData"]["LastUpdatedTime"] = "2026-11-01T01:50:00-07:00"
    store[second["Id"]]["MetaData"]["LastUpdatedTime"] = "2026-11-01T01:10:00-08:00"
    only = f"Id IN ('{first['Id']}', '{second['Id']}')"
    ids = lambda q: [r["Id"] for r in api.rows(q.replace("where", f"where {only} and"), "Invoice")]  # noqa: E731
    after = "select * from Invoice where MetaData.LastUpdatedTime > '2026-11-01T01:55:00-07:00'"
    assert ids(after) == [second["Id"]]
    utc = "select * from Invoice where MetaData.LastUpdatedTime >= '2026-11-01T09:10:00Z'"
    assert ids(utc) == [second["Id"]]
    ordered = ids(
        "select * from Invoice where MetaData.LastUpdatedTime >= '2026-11-01' "
        "ORDERBY MetaData.LastUpdatedTime DESC"
    )
    assert ordered == [second["Id"], first["Id"]]


# --- throttles ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "fmt", "code"),
    [(429, "json", "3001"), (403, "json", "3001"), (429, "xml", "003001"), (403, "xml", "3001")],
)
def test_injected_throttle_forms(sb: Sandbox, status: int, fmt: str, code: str) -> None:
    api = Api(sb)
    sb.set_faults(
        Faults(throttle_next=1, throttle_status=status, throttle_format=fmt, throttle_code=code)
    )
    r = api.post("invoice", invoice())
    assert r.status_code == status
    message = f"message=ThrottleExceeded; errorCode=003001; statusCode={status}"
    if fmt == "xml":
        assert r.headers["content-type"] == "application/xml"
        assert f'<Error code="{code}"' in r.text and message in r.text
    else:
        err = fault(r)
        assert (err["code"], err["Message"]) == (code, message)
        assert r.json()["Fault"]["type"] == "SERVICE"
    assert sb.requests[-1].throttled
    assert not sb.company(US).entities["Invoice"] or all(
        "Acme" not in str(i.get("PrivateNote")) for i in sb.company(US).entities["Invoice"].values()
    )
    assert api.post("invoice", invoice()).status_code == 200  # only the next request


def test_throttled_request_does_no_work(sb: Sandbox) -> None:
    api = Api(sb)
    before = len(sb.company(US).entities["Invoice"])
    sb.set_faults(Faults(throttle_next=2))
    assert [api.post("invoice", invoice()).status_code for _ in range(3)] == [429, 429, 200]
    assert len(sb.company(US).entities["Invoice"]) == before + 1


def test_throttle_knobs_through_the_admin_path(api: Api, sb: Sandbox) -> None:
    ok = api.http.post("/_sandbox/faults", json={"throttle_next": 1, "throttle_status": 403})
    assert ok.status_code == 200
    assert api.query("select * from Term").status_code == 403
    bad = api.http.post("/_sandbox/faults", json={"throttle_status": 500})
    assert bad.status_code == 400 and "throttle_status" in bad.json()["error_description"]
    unknown = api.http.post("/_sandbox/faults", json={"no_such_knob": 1})
    assert unknown.status_code == 400


# --- hostile dates and company files -----------------------------------------------------------


def test_last_representable_date_is_a_clean_fault(api: Api) -> None:
    r = api.post("invoice", invoice(TxnDate="9999-12-31"))  # Acme's Net 30 would overflow
    assert r.status_code == 400
    assert (fault(r)["code"], fault(r)["element"]) == ("2010", "DueDate")
    same_day = api.post("invoice", invoice(customer="2", TxnDate="9999-12-31"))
    assert same_day.status_code == 200, same_day.text
    assert same_day.json()["Invoice"]["DueDate"] == "9999-12-31"


@pytest.mark.parametrize(
    "where",
    [
        "TxnDate <= '9999-12-31'",
        "MetaData.LastUpdatedTime < '9999-12-31T23:59:59-08:00'",
        "MetaData.LastUpdatedTime < '9999-12-31'",
        "MetaData.CreateTime > '0001-01-01T00:00:00+14:00'",
    ],
)
def test_extreme_dates_in_queries(api: Api, where: str) -> None:
    r = api.query(f"select count(*) from Invoice where {where}")
    assert r.status_code == 200, r.text
    assert r.json()["QueryResponse"]["totalCount"] >= 1


def test_extreme_changed_since_is_not_a_crash(api: Api) -> None:
    r = api.get("cdc", entities="Invoice", changedSince="9999-12-31T23:59:59-08:00")
    assert r.status_code == 200
    assert r.json()["CDCResponse"][0]["QueryResponse"] == [{}]


def test_colon_in_a_company_file_name_is_a_clean_message(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[company]\nname = "Bad"\n\n[[customers]]\nname = "Rob:Barnett"\n', "utf-8")
    with pytest.raises(CompanyFileError) as caught:
        Sandbox([str(path)])
    message = str(caught.value)
    assert message.startswith("bad.toml: Customer 'Rob:Barnett': Element contains invalid")
    assert "parent" in message and "\n" not in message


def test_sandbox_serve_with_a_bad_company_file_exits_cleanly(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[[items]]\nname = "A:B"\n', "utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "invoicesync", "sandbox", "serve", "--company", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode not in (0, 1)
    assert "Traceback" not in done.stderr
    assert "Item 'A:B'" in done.stderr


def test_property_lists_and_star_with_extra_properties(api: Api) -> None:
    star = api.query("SELECT *, Sku FROM Item MAXRESULTS 100")
    assert star.status_code == 200, star.text
    assert star.json()["QueryResponse"]["Item"][0]["Type"] == "Service"
    listed = api.rows("SELECT Id, Name FROM Item WHERE Active = true ORDER BY Name", "Item")
    assert listed and all(set(r) == {"Id", "Name", "SyncToken", "domain", "sparse"} for r in listed)
    assert [r["Name"] for r in listed] == sorted((r["Name"] for r in listed), key=str.casefold)
    bad = api.query("SELECT *, Sku FROM Invoice")
    assert fault(bad)["code"] == "4001"


def test_invalid_json_body_is_a_fault_not_a_crash(api: Api) -> None:
    r = api.http.post(api.url("invoice"), headers=api.headers, content=b"{not json")
    assert r.status_code == 400 and fault(r)["code"] == "500"
    assert isinstance(httpx.Response(200).status_code, int)


# --- documents: PDF and send -------------------------------------------------------------------


def test_invoice_pdf_is_a_valid_pdf_with_the_invoice_facts(api: Api) -> None:
    created = api.post("invoice", invoice(DocNumber="PDF-(1)\\x", customer="3")).json()["Invoice"]
    r = api.http.get(
        api.url(f"invoice/{created['Id']}/pdf"),
        headers={**api.headers, "Accept": "application/pdf"},
    )
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert r.content.startswith(b"%PDF-1.4") and r.content.rstrip().endswith(b"%%EOF")
    text = PdfReader(io.BytesIO(r.content)).pages[0].extract_text()
    assert "Invoice PDF-(1)\\x" in text and "Müller Übersetzungen GmbH" in text
    assert "Total: 25.00 EUR" in text and "Balance due: 25.00 EUR" in text
    missing = api.http.get(api.url("invoice/9999/pdf"), headers=api.headers)
    assert fault(missing)["code"] == "610"


def test_send_records_the_email_and_marks_the_invoice(api: Api, sb: Sandbox) -> None:
    created = api.post("invoice", invoice()).json()["Invoice"]
    r = api.http.post(
        api.url(f"invoice/{created['Id']}/send"),
        headers={**api.headers, "Content-Type": "application/octet-stream"},
    )
    assert r.status_code == 200, r.text
    sent = r.json()["Invoice"]
    assert sent["EmailStatus"] == "EmailSent" and sent["SyncToken"] == "1"
    assert sent["BillEmail"] == {"Address": "ap@acme-localization.example"}  # the customer's
    assert sent["DeliveryInfo"]["DeliveryType"] == "Email"
    to = api.http.post(
        api.url(f"invoice/{created['Id']}/send"),
        params={"sendTo": "other@example.org"},
        headers=api.headers,
    )
    assert to.json()["Invoice"]["BillEmail"] == {"Address": "other@example.org"}
    log = api.http.get(f"/_sandbox/realms/{US}/sent").json()
    assert [e["To"] for e in log] == ["ap@acme-localization.example", "other@example.org"]
    bad = api.http.post(
        api.url(f"invoice/{created['Id']}/send"), params={"sendTo": "nope"}, headers=api.headers
    )
    assert (fault(bad)["code"], fault(bad)["element"]) == ("2010", "sendTo")


def test_send_without_any_address_is_refused(api: Api) -> None:
    created = api.post("invoice", invoice(customer="4")).json()["Invoice"]  # Globex: no e-mail
    r = api.http.post(api.url(f"invoice/{created['Id']}/send"), headers=api.headers)
    assert fault(r)["code"] == "2020"


def test_default_filled_lines_keep_their_amount(api: Api) -> None:
    body = invoice(
        Line=[
            {
                "DetailType": "SalesItemLineDetail",
                "Amount": 100,
                "SalesItemLineDetail": {"ItemRef": {"value": "1"}, "Qty": 0, "UnitPrice": 0},
            }
        ]
    )
    body |= {"TotalAmt": "", "Balance": 0, "HomeTotalAmt": 0, "TxnDate": "", "DueDate": ""}
    created = api.post("invoice", body).json()["Invoice"]
    assert (created["TotalAmt"], created["Balance"], created["HomeTotalAmt"]) == (100, 100, 100)
    assert "Qty" not in created["Line"][0]["SalesItemLineDetail"]


@pytest.mark.parametrize(
    ("seed", "message"),
    [
        ({"company": {"default_terms": "Nope"}}, "solo.json: unknown Term 'Nope'"),
        ({"company": {"realm_id": "a/b"}}, "solo.json: realm_id must be digits, not 'a/b'"),
        ({"items": [{"name": "A", "unit_price": "abc"}]}, "should be a number is not"),
        ({"tax_codes": [{"name": "C", "rates": ["Nope"]}]}, "solo.json: unknown TaxRate 'Nope'"),
        ({"items": [{}]}, "solo.json: missing field 'name'"),
        ({"accounts": [{"name": "X", "type": "Nope"}]}, "Account 'X': Invalid Enumeration : Nope"),
        ({"company": []}, "solo.json: invalid value"),
    ],
)
def test_bad_company_files_say_what_is_wrong(tmp_path: Path, seed: Any, message: str) -> None:
    path = tmp_path / "solo.json"
    path.write_text(json.dumps(seed), encoding="utf-8")
    with pytest.raises(CompanyFileError) as caught:
        Sandbox([str(path)])
    assert message in str(caught.value)
