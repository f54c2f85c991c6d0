"""Each sandbox rule, with plain httpx: what B2BRouter's documentation says it answers."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from invoicesync.targets.b2brouter.sandbox import B2BRouterSandbox, B2BRouterTransport
from tests.b2brouter.conftest import BASE, FR_KEY, invoice_body, line


def err(response: httpx.Response) -> tuple[int, str | None]:
    body = response.json()
    assert set(body["error"]) == {"code", "message", "type"}
    return response.status_code, body["error"]["code"]


def raw(sandbox: B2BRouterSandbox, headers: dict[str, str]) -> httpx.Client:
    return httpx.Client(base_url=BASE, transport=B2BRouterTransport(sandbox), headers=headers)


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({}, 401, "missing_api_key"),
        ({"X-B2B-API-Key": "test_nope"}, 401, "invalid_api_key"),
        ({"X-B2B-API-Key": "test_local_expired_key"}, 401, "expired_api_key"),
        ({"X-B2B-API-Key": "test_local_nogroup_key"}, 403, "no_account_group"),
        ({"X-B2B-API-Key": "test_local_versionless_key"}, 400, "missing_api_version"),
        (
            {"X-B2B-API-Key": "test_local_es_key", "X-B2B-API-Version": "2024-01-01"},
            400,
            "invalid_api_version",
        ),
        (
            {"X-B2B-API-Key": "test_local_es_key", "X-B2B-API-Version": "2025-01-01"},
            400,
            "api_version_subdomain_mismatch",
        ),
        # A production key cannot open the test account, and the other way round.
        # a production key on a test account: unknown in that environment (401)
        ({"X-B2B-API-Key": "local_fr_live_key"}, 401, "invalid_api_key"),
    ],
)
def test_authentication_and_version_errors(
    sandbox: B2BRouterSandbox, headers: dict[str, str], status: int, code: str
) -> None:
    assert err(raw(sandbox, headers).get("/accounts/211")) == (status, code)


def test_key_group_default_version_applies_when_header_is_absent(
    sandbox: B2BRouterSandbox,
) -> None:
    r = raw(sandbox, {"X-B2B-API-Key": "test_local_es_key"}).get("/accounts/211")
    assert r.status_code == 200
    assert r.json()["account"]["round_before_sum"] is False
    assert sandbox.log()[-1]["api_version"] is None
    assert r.headers["x-b2b-api-request-id"]


def test_test_key_cannot_open_production_account(http: httpx.Client) -> None:
    assert err(http.get("/accounts/212/invoices")) == (401, "invalid_api_key")


def test_create_computes_amounts_and_answers_201(http: httpx.Client) -> None:
    body = invoice_body(invoice_lines_attributes=[line("1.5", "33.33"), line("2", "10.00")])
    r = http.post("/accounts/211/invoices", json=body)
    assert r.status_code == 201
    inv = r.json()["invoice"]
    assert inv["state"] == "new"
    # 1.5 × 33.33 = 49.995 is not rounded before the sum: 69.995 → 70.00; 21% → 14.70.
    assert (inv["subtotal"], inv["total"]) == (70.0, 84.7)
    assert inv["taxes"] == [
        {"name": "IVA", "category": "S", "percent": 21, "base": 70.0, "amount": 14.7}
    ]
    assert b'"subtotal": 70.00' in r.content  # exact decimals on the wire


def test_duplicate_number_is_parameter_taken(http: httpx.Client) -> None:
    assert http.post("/accounts/211/invoices", json=invoice_body("2026-0007")).status_code == 422
    assert err(http.post("/accounts/211/invoices", json=invoice_body("2026-0007"))) == (
        422,
        "parameter_taken",
    )


def test_numbers_are_unique_per_account_whatever_the_year_contact_state_or_type(
    http: httpx.Client, sandbox: B2BRouterSandbox
) -> None:
    """What is unique is the number within the account. Neither B2BRouter's API
    reference nor its PHP SDK scopes it to a series or a year (the SDK's examples draw a random
    number "to avoid duplicates"); the sandbox refuses any second use in the account, in any
    state (the first is sent), for another year, contact, or a credit note, and another account
    may use it. A number freed by deleting a draft (possible in `new`) may be used again."""
    first = http.post("/accounts/211/invoices", json=invoice_body("A-1", date="2025-12-31"))
    assert first.status_code == 201
    http.post(f"/invoices/send_invoice/{first.json()['invoice']['id']}")
    for other in (
        invoice_body("A-1", date="2026-01-01"),  # another year
        invoice_body("A-1", contact_id=5006),  # another contact
        invoice_body(  # a credit note (against the seeded invoice)
            "A-1",
            is_credit_note=True,
            invoice_references=[{"number": "2026-0007", "date": "2026-03-02"}],
            invoice_lines_attributes=[line("-1")],
        ),
    ):
        assert err(http.post("/accounts/211/invoices", json=other)) == (422, "parameter_taken")
    renumbered = {**other["invoice"], "number": "A-2"}  # type: ignore[dict-item]
    assert http.post("/accounts/211/invoices", json={"invoice": renumbered}).status_code == 201
    with raw(sandbox, {"X-B2B-API-Key": FR_KEY, "X-B2B-API-Version": "2026-04-20"}) as fr:
        [dupont, *_] = fr.get("/accounts/212/contacts").json()["contacts"]
        body = invoice_body("A-1", contact_id=dupont["id"])
        assert fr.post("/accounts/212/invoices", json=body).status_code == 201
    draft = http.post("/accounts/211/invoices", json=invoice_body("B-1")).json()["invoice"]
    assert http.delete(f"/invoices/{draft['id']}").status_code == 200
    assert http.post("/accounts/211/invoices", json=invoice_body("B-1")).status_code == 201


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"number": " "}, 422, "parameter_blank"),
        ({"date": None}, 422, "parameter_blank"),
        ({"date": "04/05/2026"}, 400, "invalid_request_params"),
        ({"invoice_lines_attributes": []}, 422, "parameter_blank"),
        ({"contact_id": 999999}, 422, "parameter_inclusion"),
        ({"contact_id": None}, 422, "parameter_blank"),
        ({"currency": "EURO"}, 422, "parameter_inclusion"),
        (
            {"invoice_lines_attributes": [{**line(), "taxes_attributes": []}]},
            422,
            "parameter_blank",
        ),
        ({"invoice_lines_attributes": [line(percent=None)]}, 422, "parameter_blank"),
        ({"invoice_lines_attributes": [line(category="XX")]}, 422, "parameter_inclusion"),
        (
            {"invoice_lines_attributes": [line(category="Z", percent=21)]},
            422,
            "parameter_inclusion",
        ),
        ({"invoice_lines_attributes": [line(price="1e400")]}, 400, "invalid_request_params"),
        ({"invoice_lines_attributes": [line(price=True)]}, 400, "invalid_request_params"),
        ({"number": "A\x00B"}, 400, "invalid_request_params"),
    ],
)
def test_invalid_invoices(
    http: httpx.Client, change: dict[str, object], status: int, code: str
) -> None:
    assert err(http.post("/accounts/211/invoices", json=invoice_body(**change))) == (status, code)


def test_malformed_json_and_wrong_shape(http: httpx.Client) -> None:
    r = http.post("/accounts/211/invoices", content=b"{nope", headers={"content-type": "x"})
    assert err(r) == (400, "invalid_request_params")
    assert err(http.post("/accounts/211/invoices", json=[1])) == (400, "invalid_request_params")
    assert err(http.post("/accounts/211/invoices", json={"invoice": 3})) == (
        400,
        "invalid_request_params",
    )


def test_zero_rate_and_negative_withholding_are_accepted(http: httpx.Client) -> None:
    lines = [line(category="AE", percent=0), line("1", "100", "S", "-15")]
    inv = http.post("/accounts/211/invoices", json=invoice_body(invoice_lines_attributes=lines))
    assert inv.status_code == 201
    assert inv.json()["invoice"]["total"] == 185.0


def test_inline_contact_needs_tax_id_from_2026_04_20(http: httpx.Client) -> None:
    body = invoice_body(contact_id=None, contact={"name": "Nuevo S.L.", "country": "es"})
    assert err(http.post("/accounts/211/invoices", json=body)) == (422, "parameter_blank")
    r = http.post("/accounts/211/invoices", json=body, headers={"X-B2B-API-Version": "2026-03-02"})
    assert r.status_code == 201
    # With a tax id the existing contact is reused.
    again = invoice_body(
        "INV-2", contact_id=None, contact={"name": "x", "tin_value": "DE123456789", "country": "de"}
    )
    assert http.post("/accounts/211/invoices", json=again).json()["invoice"]["contact_id"] == 5002


def test_base_quantity_only_from_2026_03_02(http: httpx.Client) -> None:
    lines = [{**line("250", "12.00"), "base_quantity": 100}]
    new = http.post("/accounts/211/invoices", json=invoice_body(invoice_lines_attributes=lines))
    assert new.json()["invoice"]["subtotal"] == 30.0
    old = http.post(
        "/accounts/211/invoices",
        json=invoice_body("INV-2", invoice_lines_attributes=lines),
        headers={"X-B2B-API-Version": "2025-10-13"},
    )
    assert old.json()["invoice"]["subtotal"] == 3000.0


def test_list_filters_by_exact_number_and_pages_with_meta(http: httpx.Client) -> None:
    for n in range(30):
        assert http.post("/accounts/211/invoices", json=invoice_body(f"P-{n}")).status_code == 201
    page = http.get("/accounts/211/invoices", params={"offset": 25, "limit": 25}).json()
    assert page["meta"] == {"total_count": 31, "offset": 25, "limit": 25}
    assert len(page["invoices"]) == 6
    found = http.get("/accounts/211/invoices", params={"number": "P-1"}).json()
    assert [i["number"] for i in found["invoices"]] == ["P-1"]
    assert err(http.get("/accounts/211/invoices", params={"limit": 501})) == (
        400,
        "invalid_request_params",
    )


def test_state_and_date_filters(http: httpx.Client, sandbox: B2BRouterSandbox) -> None:
    """State flags are 1/0 (`true` is not a flag: no filtering); dates are submission dates."""
    http.post("/accounts/211/invoices", json=invoice_body("D-1", date="2020-06-01"))
    sent = http.get("/accounts/211/invoices", params={"sent": "1"}).json()["invoices"]
    assert [i["number"] for i in sent] == ["2026-0007"]
    loose = http.get("/accounts/211/invoices", params={"sent": "true"}).json()["invoices"]
    assert [i["number"] for i in loose] == ["2026-0007", "D-1"]
    today = sandbox.network.now().date().isoformat()
    submitted = http.get("/accounts/211/invoices", params={"date_from": today}).json()
    assert [i["number"] for i in submitted["invoices"]] == ["2026-0007", "D-1"]
    before = http.get("/accounts/211/invoices", params={"date_to": "2020-12-31"}).json()
    assert before["invoices"] == []  # D-1 is dated 2020 but was submitted today


def test_send_moves_to_sending_and_refuses_twice(
    http: httpx.Client, sandbox: B2BRouterSandbox
) -> None:
    inv = http.post("/accounts/211/invoices", json=invoice_body()).json()["invoice"]
    r = http.post(f"/invoices/send_invoice/{inv['id']}")
    assert r.json()["invoice"]["state"] == "sending"
    assert err(http.post(f"/invoices/send_invoice/{inv['id']}")) == (409, "conflict")
    delivered = http.post("/_sandbox/deliver").json()
    assert delivered == {"sent": [inv["id"]], "error": [], "tax_reports": [9001]}
    assert http.get(f"/invoices/{inv['id']}").json()["invoice"]["state"] == "sent"


def test_send_after_import_queues(http: httpx.Client) -> None:
    r = http.post("/accounts/211/invoices", json={**invoice_body(), "send_after_import": True})
    assert r.json()["invoice"]["state"] == "sending"


def test_update_and_delete_only_before_sending(http: httpx.Client) -> None:
    inv = http.post("/accounts/211/invoices", json=invoice_body()).json()["invoice"]
    r = http.put(f"/invoices/{inv['id']}", json={"invoice": {"extra_info": "[invoicesync]"}})
    assert r.json()["invoice"]["extra_info"] == "[invoicesync]"
    assert err(http.put(f"/invoices/{inv['id']}", json={"invoice": {"number": "2026-0007"}})) == (
        422,
        "parameter_taken",
    )
    lines = {"invoice": {"invoice_lines_attributes": [line()]}}
    assert err(http.put(f"/invoices/{inv['id']}", json=lines)) == (422, "parameter_cannot_change")
    assert err(http.delete("/invoices/100001")) == (409, "conflict")  # the seeded, sent one
    assert http.delete(f"/invoices/{inv['id']}").status_code == 200
    assert err(http.get(f"/invoices/{inv['id']}")) == (404, "resource_missing")


def test_mark_as_documented_states_and_paid_date(http: httpx.Client) -> None:
    assert err(http.post("/invoices/100001/mark_as", json={"state": "sending"})) == (
        422,
        "parameter_inclusion",
    )
    r = http.post("/invoices/100001/mark_as", json={"state": "paid", "paid_date": "2026-04-01"})
    assert (r.json()["invoice"]["state"], r.json()["invoice"]["paid_date"]) == (
        "paid",
        "2026-04-01",
    )


def test_admin_hook_moves_through_delivery_states(http: httpx.Client) -> None:
    for state in ("sending", "error", "sent", "refused", "accepted", "paid", "closed"):
        r = http.post("/_sandbox/invoices/100001/state", json={"state": state})
        assert r.json()["invoice"]["state"] == state
    assert http.post("/_sandbox/invoices/100001/state", json={"state": "lost"}).status_code == 400
    assert http.post("/_sandbox/invoices/9/state", json={"state": "sent"}).status_code == 404


def test_contacts_create_search_and_scope(http: httpx.Client) -> None:
    assert err(http.post("/accounts/211/contacts", json={"contact": {"name": "X"}})) == (
        422,
        "parameter_blank",
    )
    made = http.post(
        "/accounts/211/contacts",
        json={"contact": {"name": "Ünïcode <Co>", "email": "a@b.example", "tin_value": "ESX1"}},
    )
    assert made.status_code == 201
    by_tin = http.get("/accounts/211/contacts", params={"name": "esx1"}).json()
    assert [c["name"] for c in by_tin["contacts"]] == ["Ünïcode <Co>"]
    globex = http.get("/accounts/211/contacts", params={"name": "globex"}).json()
    assert globex["meta"]["total_count"] == 2
    by_address = http.get("/accounts/211/contacts", params={"name": "calle mayor"}).json()
    assert [c["id"] for c in by_address["contacts"]] == [5001]
    assert err(http.get("/contacts/5007")) == (404, "resource_missing")  # the fr account's
    assert err(http.delete("/contacts/5001")) == (409, "conflict")  # it has an invoice


def test_unknown_path_is_resource_missing(http: httpx.Client) -> None:
    assert err(http.get("/accounts/211/nothing")) == (404, "resource_missing")
    assert err(http.patch("/invoices/100001")) == (404, "resource_missing")


def test_rounding_settings_change_the_totals(http: httpx.Client, sandbox: B2BRouterSandbox) -> None:
    lines = [line("1", "0.125"), line("1", "0.125")]
    body = invoice_body(invoice_lines_attributes=lines)
    loose = http.post("/accounts/211/invoices", json=body).json()["invoice"]
    assert (loose["subtotal"], loose["taxes"][0]["amount"]) == (0.25, 0.05)
    http.post(
        "/_sandbox/accounts/211/settings",
        json={"round_before_sum": True, "apply_taxes_per_line": True},
    )
    tight = http.post(
        "/accounts/211/invoices", json=invoice_body("INV-2", invoice_lines_attributes=lines)
    ).json()["invoice"]
    # Each 0.125 line rounds to 0.13 (half up); 21% of 0.13 is 0.0273 → 0.03 per line.
    assert (tight["subtotal"], tight["taxes"][0]["amount"], tight["total"]) == (0.26, 0.06, 0.32)
    assert Decimal(str(tight["total"])) == Decimal("0.32")
    assert http.post("/_sandbox/accounts/211/settings", json={"bogus": 1}).status_code == 400


@pytest.mark.parametrize("bad_id", ["²", "٣", "1" * 30, "-1", "1.0"])
def test_odd_ids_are_resource_missing(http: httpx.Client, bad_id: str) -> None:
    assert err(http.get(f"/invoices/{bad_id}")) == (404, "resource_missing")
    assert err(http.get(f"/accounts/{bad_id}")) == (404, "resource_missing")


def test_numeric_tin_scheme_is_accepted(http: httpx.Client) -> None:
    made = http.post(
        "/accounts/211/contacts",
        json={"contact": {"name": "N", "email": "n@x.example", "tin_scheme": 9920}},
    )
    assert made.json()["contact"]["tin_scheme"] == "9920"


def test_seed_files_are_checked(tmp_path: Path) -> None:
    seed = tmp_path / "mine.toml"
    seed.write_text(
        '[account]\nid = 7\nname = "Mine"\nenvironment = "production"\n'
        '[[api_keys]]\nkey = "test_wrong_env"\n',
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match="a test key cannot open a production account"):
        B2BRouterSandbox([seed])
    seed.write_text('[account]\nid = 7\nname = "Mine"\nrounding_method = "up"\n', "utf-8")
    with pytest.raises(ValueError, match="unknown rounding_method"):
        B2BRouterSandbox([str(seed)])
    with pytest.raises(ValueError, match="no built-in B2BRouter sandbox account 'xx'"):
        B2BRouterSandbox(["xx"])
    with pytest.raises(ValueError, match="seeded twice"):
        B2BRouterSandbox(["es", "es"])


def test_default_connection_needs_a_usable_key(tmp_path: Path) -> None:
    seed = tmp_path / "mine.toml"
    seed.write_text(
        '[account]\nid = 7\nname = "Mine"\n[[api_keys]]\nkey = "test_old"\nexpired = true\n',
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match="no usable API key opens account 7"):
        B2BRouterSandbox([seed]).default_connection()


def test_a_line_takes_iva_and_irpf_and_each_is_computed_on_its_base(http: httpx.Client) -> None:
    two = dict(line("1", "500.00"))
    two["taxes_attributes"] = [
        {"name": "IVA", "category": "S", "percent": "21"},
        {"name": "IRPF", "category": "S", "percent": "-15"},
    ]
    inv = http.post("/accounts/211/invoices", json=invoice_body(invoice_lines_attributes=[two]))
    assert inv.status_code == 201, inv.text
    got = inv.json(parse_float=Decimal)["invoice"]
    assert [(t["name"], Decimal(t["amount"])) for t in got["taxes"]] == [
        ("IVA", Decimal("105.00")),
        ("IRPF", Decimal("-75.00")),
    ]
    assert Decimal(got["total"]) == Decimal("530.00")
    assert (got["is_credit_note"], got["invoice_references"]) == (False, [])


def test_a_credit_note_references_the_invoice_it_credits(http: httpx.Client) -> None:
    refs = [{"number": "2026-0007", "date": "2026-05-01"}]
    body = invoice_body(
        "CN-1", is_credit_note=True, invoice_references=refs, invoice_lines_attributes=[line("-1")]
    )
    made = http.post("/accounts/211/invoices", json=body)
    assert made.status_code == 201, made.text
    got = made.json(parse_float=Decimal)["invoice"]
    assert (got["is_credit_note"], got["invoice_references"]) == (True, refs)
    assert Decimal(got["total"]) == Decimal("-121.00")
    read = http.get(f"/invoices/{got['id']}").json()["invoice"]
    assert read["invoice_references"] == refs


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"is_credit_note": True}, 422, "parameter_blank"),
        ({"is_credit_note": "yes"}, 400, "invalid_request_params"),
        ({"invoice_references": [{"date": "2026-05-01"}]}, 422, "parameter_blank"),
        (
            {"invoice_references": [{"number": "X", "date": "01/05/2026"}]},
            400,
            "invalid_request_params",
        ),
        ({"invoice_references": {"number": "X"}}, 400, "invalid_request_params"),
    ],
)
def test_credit_note_rules(
    http: httpx.Client, change: dict[str, object], status: int, code: str
) -> None:
    assert err(http.post("/accounts/211/invoices", json=invoice_body("CN-2", **change))) == (
        status,
        code,
    )


def test_invoice_references_need_api_2026_04_20(http: httpx.Client) -> None:
    body = invoice_body("CN-3", invoice_references=[{"number": "2026-0007"}])
    r = http.post("/accounts/211/invoices", json=body, headers={"X-B2B-API-Version": "2026-03-02"})
    assert err(r) == (400, "invalid_request_params")
