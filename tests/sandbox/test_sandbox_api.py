"""The sandbox against the QBO facts (docs/sandbox.md), driven with plain httpx.

These tests never use invoicesync's own client, so the two are checked independently.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from invoicesync.targets.quickbooks.sandbox import (
    DEFAULT_CLIENT_ID,
    Faults,
    RateLimits,
    Sandbox,
    SandboxTransport,
    injection,
)
from tests.helpers import wait_until
from tests.sandbox.support import BASIC, UK, US, Api, fault, invoice, line

# --- 1. hosts, paths, minorversion ------------------------------------------------------------


def test_create_and_read_invoice_round_trip(api: Api) -> None:
    r = api.post("invoice", invoice(DocNumber="A-1"), minorversion=75)
    assert r.status_code == 200
    created = r.json()["Invoice"]
    assert "time" in r.json()
    again = api.get(f"invoice/{created['Id']}", minorversion=40)
    assert again.status_code == 200
    assert again.json()["Invoice"] == created


def test_unknown_path_is_fault_500_unsupported_operation(api: Api) -> None:
    r = api.get("widgets/1")
    assert r.status_code == 400
    err = fault(r)
    assert err["code"] == "500"
    assert err["Message"] == "Unsupported Operation"


# --- 2. authentication --------------------------------------------------------------------------


def test_missing_or_unknown_token_is_401_lowercase_fault(api: Api) -> None:
    r = api.http.get(api.url("invoice/1"), headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401
    body = r.json()
    assert body["fault"]["type"] == "AUTHENTICATION"
    assert body["fault"]["error"][0]["code"] == "3200"
    assert "intuit_tid" in r.headers


def test_token_for_another_realm_is_403_3100(api: Api) -> None:
    r = api.http.get(f"/v3/company/{UK}/invoice/1", headers=api.headers)
    assert r.status_code == 403
    assert r.json()["fault"]["error"][0]["code"] == "3100"


def test_every_response_carries_intuit_tid(api: Api) -> None:
    for r in (api.query("select * from Customer"), api.get("nope"), api.http.get("/nothing")):
        assert r.headers.get("intuit_tid")


def test_expired_access_token_is_401(api: Api, sb: Sandbox) -> None:
    sb.oauth.expire_access_tokens()
    assert api.query("select * from Item").status_code == 401


# --- 3. server-filled fields --------------------------------------------------------------------


def test_server_fills_fields_like_qbo(api: Api) -> None:
    created = api.post("invoice", invoice(TxnDate="2026-10-01")).json()["Invoice"]
    assert isinstance(created["Id"], str) and created["SyncToken"] == "0"
    assert created["domain"] == "QBO" and created["sparse"] is False
    assert created["MetaData"]["CreateTime"][-6:] in {"-07:00", "-08:00"}
    first, subtotal = created["Line"]
    assert first["LineNum"] == 1 and first["Id"] == "1"
    assert first["SalesItemLineDetail"]["TaxCodeRef"] == {"value": "NON"}
    assert subtotal == {
        "Amount": 25.0,
        "DetailType": "SubTotalLineDetail",
        "SubTotalLineDetail": {},
    }
    assert created["TotalAmt"] == 25.0 and created["Balance"] == 25.0
    assert created["CurrencyRef"] == {"value": "USD", "name": "United States Dollar"}
    assert created["CustomerRef"]["name"] == "Acme Localization Inc."
    assert created["SalesTermRef"]["name"] == "Net 30"
    assert created["DueDate"] == "2026-10-31"  # Net 30 from the customer
    assert "DocNumber" not in created  # custom numbers on and none supplied


def test_auto_doc_number_when_custom_numbers_are_off(api: Api, sb: Sandbox) -> None:
    sb.company(US).custom_txn_numbers = False
    first = api.post("invoice", invoice()).json()["Invoice"]
    second = api.post("invoice", invoice()).json()["Invoice"]
    assert (first["DocNumber"], second["DocNumber"]) == ("1038", "1039")


def test_amounts_are_exact_decimals_on_the_wire(api: Api) -> None:
    body = invoice(Line=[line(qty="14.5", price="128.35")])
    body["Line"][0]["Amount"] = "1861.08"  # 1861.075 rounded half-up, as QBO checks it
    r = api.post("invoice", body)
    assert r.status_code == 200, r.text
    assert '"TotalAmt": 1861.08' in r.text


# --- 4. validation faults -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"Line": [line()]}, "2020"),
        ({"CustomerRef": {"value": "1"}, "Line": []}, "2020"),
        (invoice(customer="8"), "610"),  # Initech is inactive
        (invoice(customer="999"), "2500"),
        (invoice(Line=[line(item="8")]), "610"),  # inactive item
        (invoice(Line=[line(item="404")]), "2500"),
        (invoice(DocNumber="X" * 22), "2050"),
        (invoice(SalesTermRef={"value": "4"}), "610"),  # inactive term
        (invoice(Line=[line(TaxCodeRef={"value": "California"})]), "6100"),
    ],
)
def test_invoice_validation_codes(api: Api, body: dict[str, Any], code: str) -> None:
    r = api.post("invoice", body)
    assert r.status_code == 400
    assert fault(r)["code"] == code
    assert r.json()["Fault"]["type"] == "ValidationFault"


def test_amount_not_qty_times_price_is_6070(api: Api) -> None:
    body = invoice()
    body["Line"][0]["Amount"] = "25.01"
    r = api.post("invoice", body)
    assert fault(r)["code"] == "6070"
    assert "Supplied value:25.01" in fault(r)["Detail"]


def test_duplicate_doc_number_names_owner_and_can_be_bypassed(api: Api) -> None:
    first = api.post("invoice", invoice(DocNumber="D-1")).json()["Invoice"]
    r = api.post("invoice", invoice(DocNumber="D-1"))
    assert fault(r)["code"] == "6140"
    assert (
        f"DocNumber=D-1 is assigned to TxnType=Invoice with TxnId={first['Id']}"
        in fault(r)["Detail"]
    )
    ok = api.post("invoice", invoice(DocNumber="D-1"), include="allowduplicatedocnum")
    assert ok.status_code == 200


def test_customer_name_rules(api: Api) -> None:
    dup = api.post("customer", {"DisplayName": "acme localization inc."})
    assert fault(dup)["code"] == "6240"
    assert "this \nname." in fault(dup)["Detail"]  # a real newline, as QBO sends it
    colon = api.post("customer", {"DisplayName": "Rob:Barnett"})
    assert fault(colon)["code"] == "2040"
    sub = api.post("customer", {"DisplayName": "Legal", "ParentRef": {"value": "4"}}).json()
    assert sub["Customer"]["FullyQualifiedName"] == "Globex Corporation:Legal"
    assert sub["Customer"]["Job"] is True


def test_stale_sync_token_is_5010(api: Api) -> None:
    created = api.post("invoice", invoice()).json()["Invoice"]
    ok = api.post(
        "invoice", {"Id": created["Id"], "SyncToken": "0", "sparse": True, "PrivateNote": "hello"}
    )
    assert ok.json()["Invoice"]["SyncToken"] == "1"
    assert ok.json()["Invoice"]["PrivateNote"] == "hello"
    assert ok.json()["Invoice"]["Line"][0]["Amount"] == 25.0
    stale = api.post(
        "invoice", {"Id": created["Id"], "SyncToken": "0", "sparse": True, "PrivateNote": "again"}
    )
    assert fault(stale)["code"] == "5010"


def test_non_us_line_without_tax_code_is_rejected(sb: Sandbox) -> None:
    uk = Api(sb, UK)
    # The UK company is the second one; authorize picked the first, so connect to the UK one.
    uk.tokens = _token_for(sb, uk.http, UK)
    uk.headers["Authorization"] = f"Bearer {uk.tokens['access_token']}"
    r = uk.post("invoice", invoice())
    assert fault(r)["code"] == "6000"
    assert "VAT rate" in fault(r)["Detail"]


def test_foreign_currency_needs_multicurrency(api: Api, sb: Sandbox) -> None:
    sb.company(US).multicurrency = False
    r = api.post("invoice", invoice(customer="3", CurrencyRef={"value": "EUR"}))
    assert fault(r)["code"] == "6000"
    assert "multicurrency" in fault(r)["Detail"]


def test_currency_must_match_customer(api: Api) -> None:
    r = api.post("invoice", invoice(customer="1", CurrencyRef={"value": "EUR"}))
    assert fault(r)["code"] == "6000"


def _token_for(sb: Sandbox, http: httpx.Client, realm: str) -> dict[str, Any]:
    r = http.post(
        "/connect/oauth2/decide",
        data={
            "client_id": DEFAULT_CLIENT_ID,
            "redirect_uri": "http://localhost/cb",
            "state": "s",
            "realm_id": realm,
            "approve": "1",
        },
    )
    code = parse_qs(urlsplit(r.headers["location"]).query)["code"][0]
    t = http.post(
        "/oauth2/v1/tokens/bearer",
        headers={"Authorization": BASIC},
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": "http://localhost/cb",
        },
    )
    return dict(t.json())


# --- taxes --------------------------------------------------------------------------------------


def test_us_sales_tax_from_transaction_tax_code(api: Api) -> None:
    [code] = api.rows("select * from TaxCode where Name = 'California'", "TaxCode")
    california = code["Id"]
    body = invoice(
        Line=[
            line(qty="40", price="18.75", TaxCodeRef={"value": "TAX"}),
            line(qty="1", price="10"),
        ],
        TxnTaxDetail={"TxnTaxCodeRef": {"value": california}},  # 7.25%
    )
    created = api.post("invoice", body).json()["Invoice"]
    assert created["TxnTaxDetail"]["TotalTax"] == 54.38  # 750 * 7.25% = 54.375, half-up
    assert created["TotalAmt"] == 814.38


def test_uk_vat_exclusive_and_inclusive(sb: Sandbox) -> None:
    uk = Api(sb, UK)
    uk.tokens = _token_for(sb, uk.http, UK)
    uk.headers["Authorization"] = f"Bearer {uk.tokens['access_token']}"
    std = {"value": "1"}  # 20.0% S
    excl = uk.post("invoice", invoice(Line=[line(qty="10000", price="0.09", TaxCodeRef=std)]))
    assert excl.json()["Invoice"]["TotalAmt"] == 1080.0
    assert excl.json()["Invoice"]["GlobalTaxCalculation"] == "TaxExcluded"
    incl = uk.post(
        "invoice",
        invoice(
            GlobalTaxCalculation="TaxInclusive", Line=[line(qty="1", price="120", TaxCodeRef=std)]
        ),
    )
    body = incl.json()["Invoice"]
    assert body["TotalAmt"] == 120.0
    assert body["TxnTaxDetail"]["TotalTax"] == 20.0


# --- 5. query engine ----------------------------------------------------------------------------


def test_query_operators(api: Api) -> None:
    names = lambda q: [c["DisplayName"] for c in api.rows(q, "Customer")]  # noqa: E731
    assert names("select * from Customer where DisplayName = 'O\\'Brien & Partners LLP'") == [
        "O'Brien & Partners LLP"
    ]
    assert names("SELECT * FROM Customer WHERE Id IN ('1', '2')") == [
        "Acme Localization Inc.",
        "O'Brien & Partners LLP",
    ]
    assert names("select * from Customer where DisplayName LIKE '%corp%'") == ["Globex Corporation"]
    assert names("select * from Customer where Active = false") == ["Initech"]
    assert names("select * from Customer where CurrencyRef = 'EUR' and Active = true") == [
        "Müller Übersetzungen GmbH"
    ]
    assert names("select * from Customer where ParentRef = '4'") == ["Marketing"]
    items = api.rows("select * from Item where UnitPrice >= '25' ORDERBY UnitPrice DESC", "Item")
    assert [i["Name"] for i in items] == ["Project Management", "Proofreading", "DTP"]
    dated = api.rows("select * from Invoice where MetaData.CreateTime > '2000-01-01'", "Invoice")
    assert len(dated) == 1


def test_query_paging_is_one_based_and_default_100(api: Api) -> None:
    for _ in range(105):
        assert api.post("invoice", invoice()).status_code == 200
    first = api.query("select * from Invoice").json()["QueryResponse"]
    assert (first["startPosition"], first["maxResults"], len(first["Invoice"])) == (1, 100, 100)
    last = api.query("select * from Invoice STARTPOSITION 101 MAXRESULTS 10").json()
    assert last["QueryResponse"]["maxResults"] == 6
    count = api.query("select count(*) from Invoice").json()
    assert count["QueryResponse"] == {"totalCount": 106}


def test_query_zero_rows_has_no_entity_key(api: Api) -> None:
    r = api.query("select * from Invoice where DocNumber = 'nope'")
    assert r.json()["QueryResponse"] == {}


@pytest.mark.parametrize(
    ("q", "code", "detail"),
    [
        ("select * from Customer where DisplayName = 'O'Brien'", "4000", "QueryParserError"),
        ("select * from Customer where DisplayName = 'O’Brien'", "4000", "Lexical error"),
        ("select * from Invoice MAXRESULTS 1001", "4001", "Max allowed value is 1000"),
        ("select * from Invoice STARTPOSITION 0", "4001", "Min allowed value is 1"),
        ("select * from Invoice where NoSuchField = '1'", "4001", "Property NoSuchField not found"),
        ("select * from Widget", "4001", "Entity Widget not found"),
        ("select from Invoice", "4000", "QueryParserError"),
        ("select Id, NoSuchField from Invoice", "4001", "Property NoSuchField not found"),
    ],
)
def test_query_errors(api: Api, q: str, code: str, detail: str) -> None:
    r = api.query(q)
    assert r.status_code == 400
    assert fault(r)["code"] == code
    assert detail in fault(r)["Detail"]


def test_query_by_post_with_text_body(api: Api) -> None:
    r = api.http.post(
        api.url("query"),
        headers={**api.headers, "Content-Type": "application/text"},
        content="select * from Term where Name = 'Net 15'",
    )
    assert [t["DueDays"] for t in r.json()["QueryResponse"]["Term"]] == [15]


def test_backslash_escape_in_values(api: Api) -> None:
    api.post("customer", {"DisplayName": "Back\\slash Co"})
    rows = api.rows("select * from Customer where DisplayName = 'Back\\\\slash Co'", "Customer")
    assert [r["DisplayName"] for r in rows] == ["Back\\slash Co"]


# --- 6. requestid replay ------------------------------------------------------------------------


def test_requestid_replays_original_response(api: Api, sb: Sandbox) -> None:
    a = api.post("invoice", invoice(DocNumber="R-1"), requestid="req-1")
    b = api.post("invoice", invoice(DocNumber="R-1"), requestid="req-1")
    assert a.status_code == b.status_code == 200
    assert a.json() == b.json()
    assert len(sb.company(US).entities["Invoice"]) == 2  # the seeded one + one created
    too_long = api.post("invoice", invoice(), requestid="x" * 51)
    assert too_long.status_code == 400


# --- batch and CDC ------------------------------------------------------------------------------


def test_batch_items_and_per_item_faults(api: Api) -> None:
    body = {
        "BatchItemRequest": [
            {"bId": "1", "operation": "create", "Invoice": invoice(DocNumber="B-1")},
            {"bId": "2", "operation": "create", "Invoice": invoice(customer="999")},
            {"bId": "3", "Query": "select * from Invoice where DocNumber = 'B-1'"},
        ]
    }
    r = api.post("batch", body, requestid="batch-1")
    items = {i["bId"]: i for i in r.json()["BatchItemResponse"]}
    assert items["1"]["Invoice"]["DocNumber"] == "B-1"
    assert items["2"]["Fault"]["Error"][0]["code"] == "2500"
    assert items["3"]["QueryResponse"]["Invoice"][0]["DocNumber"] == "B-1"
    too_many = api.post(
        "batch", {"BatchItemRequest": [{"bId": str(i), "Invoice": invoice()} for i in range(31)]}
    )
    assert too_many.status_code == 400


def test_cdc_reports_changes_and_deleted_stubs(api: Api) -> None:
    created = api.post("invoice", invoice()).json()["Invoice"]
    gone = api.post("invoice", invoice()).json()["Invoice"]
    deleted = api.post("invoice", {"Id": gone["Id"], "SyncToken": "0"}, operation="delete")
    assert deleted.json()["Invoice"] == {"domain": "QBO", "status": "Deleted", "Id": gone["Id"]}
    assert fault(api.get(f"invoice/{gone['Id']}"))["code"] == "610"
    r = api.get("cdc", entities="Invoice,Customer", changedSince="2000-01-01T00:00:00-08:00")
    assert r.status_code == 400  # beyond the 30-day look-back
    since = created["MetaData"]["CreateTime"]
    r = api.get("cdc", entities="Invoice,Customer", changedSince=since)
    invoices_qr, customers_qr = r.json()["CDCResponse"][0]["QueryResponse"]
    statuses = {i["Id"]: i.get("status") for i in invoices_qr["Invoice"]}
    assert statuses[gone["Id"]] == "Deleted" and statuses[created["Id"]] is None
    assert all(c.get("status") != "Deleted" for c in customers_qr.get("Customer", []))


def test_void_zeroes_amounts(api: Api) -> None:
    created = api.post("invoice", invoice()).json()["Invoice"]
    voided = api.post("invoice", {"Id": created["Id"], "SyncToken": "0"}, operation="void")
    body = voided.json()["Invoice"]
    assert (body["TotalAmt"], body["Balance"], body["SyncToken"]) == (0, 0, "1")


# --- 7. throttling ------------------------------------------------------------------------------


def test_over_per_second_limit_is_429_3001(sb: Sandbox) -> None:
    sb.limits = RateLimits(enabled=True, per_second=3, per_minute=500)
    sb.time_scale = 0.0001  # freeze the window so the test does not depend on speed
    api = Api(sb)
    statuses = [api.query("select * from Term").status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
    r = api.query("select * from Term")
    assert r.json()["Fault"]["Error"][0]["code"] == "3001"
    assert r.json()["Fault"]["type"] == "SERVICE"


def test_throttle_can_answer_in_xml(sb: Sandbox) -> None:
    sb.limits = RateLimits(enabled=True, per_second=1, xml_rate=1.0)
    sb.time_scale = 0.0001
    api = Api(sb)
    api.query("select * from Term")
    r = api.query("select * from Term")
    assert r.status_code == 429
    assert r.text.startswith("<?xml") and 'code="3001"' in r.text


# --- 8. OAuth server ----------------------------------------------------------------------------


def test_discovery_document(api: Api) -> None:
    doc = api.http.get("/.well-known/openid_configuration").json()
    assert doc["token_endpoint"].endswith("/oauth2/v1/tokens/bearer")
    assert doc["response_types_supported"] == ["code"]


def test_token_response_shape_and_hard_expiry_header(api: Api) -> None:
    assert api.tokens["expires_in"] == 3600
    assert api.tokens["token_type"] == "bearer"
    assert "x_refresh_token_expires_in" in api.tokens
    assert "x_refresh_token_hard_expires_in" not in api.tokens
    r = api.http.post(
        "/oauth2/v1/tokens/bearer",
        headers={"Authorization": BASIC, "x-include-refresh-token-hard-expires-in": "true"},
        data={"grant_type": "refresh_token", "refresh_token": api.tokens["refresh_token"]},
    )
    assert r.json()["x_refresh_token_hard_expires_in"] > 0


def test_refresh_rotates_and_rejects_superseded_token(api: Api) -> None:
    old = api.tokens["refresh_token"]
    r = api.http.post(
        "/oauth2/v1/tokens/bearer",
        headers={"Authorization": BASIC},
        data={"grant_type": "refresh_token", "refresh_token": old},
    )
    new = r.json()["refresh_token"]
    assert new != old
    again = api.http.post(
        "/oauth2/v1/tokens/bearer",
        headers={"Authorization": BASIC},
        data={"grant_type": "refresh_token", "refresh_token": old},
    )
    assert again.status_code == 400
    assert again.json() == {
        "error": "invalid_grant",
        "error_description": "Incorrect or invalid refresh token",
    }


def test_superseded_token_works_during_grace(sb: Sandbox) -> None:
    sb.oauth.rotation_grace = 3600
    api = Api(sb)
    old = api.tokens["refresh_token"]
    for _ in range(2):
        r = api.http.post(
            "/oauth2/v1/tokens/bearer",
            headers={"Authorization": BASIC},
            data={"grant_type": "refresh_token", "refresh_token": old},
        )
        assert r.status_code == 200


def test_code_is_single_use_and_replay_poisons_grant(api: Api, sb: Sandbox) -> None:
    code = sb.oauth.issue_code(DEFAULT_CLIENT_ID, US, "http://localhost/cb")
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": "http://localhost/cb"}
    first = api.http.post("/oauth2/v1/tokens/bearer", headers={"Authorization": BASIC}, data=data)
    second = api.http.post("/oauth2/v1/tokens/bearer", headers={"Authorization": BASIC}, data=data)
    assert first.status_code == 200 and second.status_code == 400
    bearer = {"Authorization": f"Bearer {first.json()['access_token']}"}
    assert api.http.get(api.url("invoice/1"), headers=bearer).status_code == 401


def test_bad_client_secret_is_401_invalid_client(api: Api) -> None:
    bad = "Basic " + base64.b64encode(b"local-client-id:wrong").decode()
    r = api.http.post(
        "/oauth2/v1/tokens/bearer",
        headers={"Authorization": bad},
        data={"grant_type": "refresh_token", "refresh_token": "x"},
    )
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"


def test_revoke_invalidates_grant(api: Api) -> None:
    r = api.http.post(
        "/v2/oauth2/tokens/revoke",
        headers={"Authorization": BASIC},
        json={"token": api.tokens["refresh_token"]},
    )
    assert r.status_code == 200
    assert api.query("select * from Term").status_code == 401


def test_consent_page_without_auto_approve() -> None:
    sb = Sandbox(["us"], auto_approve=False)
    http = httpx.Client(transport=SandboxTransport(sb), base_url="http://qbo.test")
    r = http.get(
        "/connect/oauth2",
        params={
            "client_id": DEFAULT_CLIENT_ID,
            "response_type": "code",
            "scope": "com.intuit.quickbooks.accounting",
            "redirect_uri": "http://localhost/cb",
            "state": "s",
        },
    )
    assert r.status_code == 200 and "<button name='approve'" in r.text
    denied = http.post(
        "/connect/oauth2/decide",
        data={"redirect_uri": "http://localhost/cb", "state": "s", "deny": "1"},
    )
    assert "error=access_denied" in denied.headers["location"]


# --- fault injection ----------------------------------------------------------------------------


def test_drop_after_commit_still_creates_the_invoice(api: Api, sb: Sandbox) -> None:
    sb.set_faults(Faults(drop_requestids={"drop-me"}))
    with pytest.raises(httpx.RemoteProtocolError):
        api.post("invoice", invoice(DocNumber="DROP-1"), requestid="drop-me")
    assert api.rows("select * from Invoice where DocNumber = 'DROP-1'", "Invoice")
    replay = api.post("invoice", invoice(DocNumber="DROP-1"), requestid="drop-me")
    assert replay.status_code == 200  # the original answer, not a 6140
    assert [e.dropped for e in sb.requests if e.requestid == "drop-me"] == [True, False]


def test_injected_server_errors(sb: Sandbox) -> None:
    api = Api(sb)
    sb.set_faults(Faults(error_rate=1.0))
    r = api.query("select * from Term")
    assert r.status_code in {500, 503}
    assert fault(r)["code"] == "10000"


def test_request_log_records_calls(api: Api, sb: Sandbox) -> None:
    api.query("select * from Term")
    last = sb.requests[-1]
    assert (last.kind, last.status, last.realm_id) == ("query", 200, US)


def test_more_than_ten_concurrent_requests_get_429(
    sb: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """14 requests in flight at once: 10 are admitted, 4 refused. Each admitted one is held in
    its latency until every request has been admitted or refused, so all 14 overlap however
    slowly the threads start (with a real 300 ms latency, on a busy machine the first had
    finished before the last began, and 12 were admitted)."""
    import threading

    sb.limits = RateLimits(enabled=True, per_second=1000, per_minute=10000, concurrent=10)
    api = Api(sb)
    statuses: list[int] = []
    held: list[float] = []
    lock = threading.Lock()
    release = threading.Event()

    def latency(seconds: float) -> None:  # the sandbox's injected latency, on our signal
        with lock:
            held.append(seconds)
        release.wait(60)

    monkeypatch.setattr(injection, "sleep", latency)

    def one() -> None:
        status = api.query("select * from Term").status_code
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=one) for _ in range(14)]
    for t in threads:
        t.start()
    wait_until(lambda: len(held) + statuses.count(429) == 14, "every request admitted or refused")
    release.set()
    for t in threads:
        t.join()
    assert statuses.count(200) == 10 and statuses.count(429) == 4


def test_batch_requests_over_forty_a_minute_get_429(sb: Sandbox) -> None:
    sb.limits = RateLimits(enabled=True, per_second=1000, per_minute=10000, batch_per_minute=40)
    sb.time_scale = 0.0001
    api = Api(sb)
    query = {"BatchItemRequest": [{"bId": "1", "Query": "select * from Term"}]}
    statuses = [api.post("batch", query).status_code for _ in range(42)]
    assert statuses == [200] * 40 + [429, 429]
    assert api.query("select * from Term").status_code == 200  # other requests still pass


def test_company_file_in_json(tmp_path: Path) -> None:
    seed = {
        "company": {"realm_id": "42", "name": "JSON Co", "country": "CA", "home_currency": "CAD"},
        "tax_rates": [{"name": "GST", "rate": "5"}],
        "tax_codes": [{"name": "GST", "rates": ["GST"]}],
        "items": [{"name": "Translation"}],
        "customers": [{"name": "Maple Ltd"}],
    }
    path = tmp_path / "company.json"
    path.write_text(json.dumps(seed))
    sandbox = Sandbox([path], auto_approve=True)
    company = sandbox.company("42")
    assert (company.name, company.country, company.home_currency) == ("JSON Co", "CA", "CAD")
    assert [c["DisplayName"] for c in company.entities["Customer"].values()] == ["Maple Ltd"]


def test_update_and_delete_other_entities(api: Api) -> None:
    customer = api.get("customer/6").json()["Customer"]
    renamed = api.post(
        "customer",
        {
            "Id": "6",
            "SyncToken": customer["SyncToken"],
            "sparse": True,
            "PrimaryEmailAddr": {"Address": "new@northwind.example"},
        },
    )
    assert renamed.json()["Customer"]["PrimaryEmailAddr"]["Address"] == "new@northwind.example"
    assert renamed.json()["Customer"]["DisplayName"] == "Northwind Traders"
    item = api.post("item", {"Name": "Glossary", "IncomeAccountRef": {"value": "1"}})
    assert item.json()["Item"]["IncomeAccountRef"] == {"value": "1", "name": "Services"}
    created = item.json()["Item"]
    refused = api.post("item", {"Id": created["Id"], "SyncToken": "0"}, operation="delete")
    assert fault(refused)["code"] == "500"  # names are made inactive, never deleted
    inactive = api.post(
        "item", {"Id": created["Id"], "SyncToken": "0", "sparse": True, "Active": False}
    )
    assert inactive.json()["Item"]["Active"] is False
    term = api.get("taxcode/TAX")
    assert term.json()["TaxCode"]["Name"] == "TAX"
    assert api.get("preferences").json()["Preferences"]["CurrencyPrefs"]["HomeCurrency"] == {
        "value": "USD"
    }
