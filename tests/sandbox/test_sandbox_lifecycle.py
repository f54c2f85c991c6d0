"""What the lifecycle features (issues 17, 18, 19) need from QuickBooks, against the sandbox
with plain httpx: sparse updates and SyncTokens, void, credit memos, payments applying
invoices and credits, attachments, and creating names with QuickBooks' rules."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest

from invoicesync.targets.quickbooks.sandbox import Faults, Sandbox
from tests.sandbox.support import US, Api, fault, invoice, line


def created(r: httpx.Response, entity: str = "Invoice") -> dict[str, Any]:
    assert r.status_code == 200, r.text
    return dict(r.json()[entity])


def pay(api: Api, customer: str, total: str, *links: tuple[str, str, str]) -> httpx.Response:
    lines = [
        {"Amount": amount, "LinkedTxn": [{"TxnId": txn_id, "TxnType": kind}]}
        for kind, txn_id, amount in links
    ]
    return api.post(
        "payment", {"CustomerRef": {"value": customer}, "TotalAmt": total, "Line": lines}
    )


# --- sparse update and SyncToken -------------------------------------------------------------


def test_sparse_update_changes_only_what_is_sent(api: Api) -> None:
    inv = created(api.post("invoice", invoice(DocNumber="S-1", PrivateNote="first")))
    r = api.post(
        "invoice", {"Id": inv["Id"], "SyncToken": "0", "sparse": True, "PrivateNote": "second"}
    )
    after = created(r)
    assert (after["PrivateNote"], after["SyncToken"], after["DocNumber"]) == ("second", "1", "S-1")
    assert after["Line"] == inv["Line"] and after["TotalAmt"] == inv["TotalAmt"]
    assert after["MetaData"]["CreateTime"] == inv["MetaData"]["CreateTime"]
    lines = api.post(
        "invoice",
        {"Id": inv["Id"], "SyncToken": "1", "sparse": True, "Line": [line(qty="4"), line(qty="2")]},
    )
    assert (created(lines)["TotalAmt"], created(lines)["Balance"]) == (15, 15)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"SyncToken": "0", "sparse": True}, "2020"),  # no Id
        ({"Id": "1", "sparse": True, "PrivateNote": "x"}, "2020"),  # no SyncToken
        ({"Id": "1", "SyncToken": "7", "sparse": True, "PrivateNote": "x"}, "5010"),
        ({"Id": "1", "SyncToken": "zero", "sparse": True, "PrivateNote": "x"}, "5010"),
        ({"Id": "404", "SyncToken": "0", "sparse": True}, "610"),
    ],
)
def test_sync_token_rules(api: Api, body: dict[str, Any], code: str) -> None:
    r = api.post("invoice", body)
    assert r.status_code == 400 and fault(r)["code"] == code


def test_stale_token_after_someone_else_edited(api: Api) -> None:
    inv = created(api.post("invoice", invoice()))
    api.post("invoice", {"Id": inv["Id"], "SyncToken": "0", "sparse": True, "PrivateNote": "them"})
    mine = api.post(
        "invoice", {"Id": inv["Id"], "SyncToken": "0", "sparse": True, "PrivateNote": "me"}
    )
    assert fault(mine)["code"] == "5010"
    assert "Stale Object Error" in fault(mine)["Detail"]
    assert api.get(f"invoice/{inv['Id']}").json()["Invoice"]["PrivateNote"] == "them"


def test_total_cannot_go_below_what_was_paid(api: Api) -> None:
    inv = created(api.post("invoice", invoice()))  # 25.00
    assert pay(api, "1", "20", ("Invoice", inv["Id"], "20")).status_code == 200
    current = api.get(f"invoice/{inv['Id']}").json()["Invoice"]
    smaller = api.post(
        "invoice",
        {
            "Id": inv["Id"],
            "SyncToken": current["SyncToken"],
            "sparse": True,
            "Line": [line(qty="4")],
        },
    )
    assert fault(smaller)["code"] == "6000"
    bigger = api.post(
        "invoice",
        {
            "Id": inv["Id"],
            "SyncToken": current["SyncToken"],
            "sparse": True,
            "Line": [line(qty="20")],
        },
    )
    assert (created(bigger)["TotalAmt"], created(bigger)["Balance"]) == (50, 30)


# --- void --------------------------------------------------------------------------------------


def test_void_keeps_the_memo_and_needs_the_current_token(api: Api) -> None:
    inv = created(api.post("invoice", invoice(PrivateNote="cancelled by client")))
    stale = api.post("invoice", {"Id": inv["Id"], "SyncToken": "3"}, operation="void")
    assert fault(stale)["code"] == "5010"
    voided = created(api.post("invoice", {"Id": inv["Id"], "SyncToken": "0"}, operation="void"))
    assert voided["PrivateNote"] == "Voided - cancelled by client"
    assert (voided["TotalAmt"], voided["Balance"], voided["SyncToken"]) == (0, 0, "1")
    assert api.get(f"invoice/{inv['Id']}").status_code == 200  # voided, not deleted


def test_an_invoice_with_payments_is_not_voided_or_deleted(api: Api) -> None:
    inv = created(api.post("invoice", invoice()))
    assert pay(api, "1", "5", ("Invoice", inv["Id"], "5")).status_code == 200
    token = api.get(f"invoice/{inv['Id']}").json()["Invoice"]["SyncToken"]
    assert (
        fault(api.post("invoice", {"Id": inv["Id"], "SyncToken": token}, operation="void"))["code"]
        == "6000"
    )
    assert (
        fault(api.post("invoice", {"Id": inv["Id"], "SyncToken": token}, operation="delete"))[
            "code"
        ]
        == "6000"
    )


# --- credit memos ------------------------------------------------------------------------------


def test_credit_memo_create_read_query(api: Api) -> None:
    memo = created(
        api.post("creditmemo", invoice(DocNumber="CN-1", PrivateNote="[x CN-1]")), "CreditMemo"
    )
    assert (memo["TotalAmt"], memo["RemainingCredit"], memo["Balance"]) == (25, 25, 25)
    assert "DueDate" not in memo and "SalesTermRef" not in memo
    assert memo["Line"][-1]["DetailType"] == "SubTotalLineDetail"
    assert api.get(f"creditmemo/{memo['Id']}").json()["CreditMemo"] == memo
    rows = api.rows("select * from CreditMemo where DocNumber = 'CN-1'", "CreditMemo")
    assert [r["Id"] for r in rows] == [memo["Id"]]
    pdf = api.http.get(api.url(f"creditmemo/{memo['Id']}/pdf"), headers=api.headers)
    assert pdf.content.startswith(b"%PDF-")


def test_credit_memo_send_marks_the_credit_memo_not_the_invoice_with_its_id(
    api: Api, sb: Sandbox
) -> None:
    """Intuit's CreditMemo reference, "Send a credit memo": `POST /creditmemo/{id}/send`, with
    an optional `sendTo` that becomes the BillEmail; answered with the CreditMemo."""
    memo = created(api.post("creditmemo", invoice(DocNumber="CN-7")), "CreditMemo")
    inv = api.get(f"invoice/{memo['Id']}").json()["Invoice"]  # each entity numbered on its own
    url = api.url(f"creditmemo/{memo['Id']}/send")
    octets = {**api.headers, "Content-Type": "application/octet-stream"}
    r = api.http.post(url, params={"requestid": "cm-send-1"}, headers=octets)
    assert r.status_code == 200, r.text
    sent = r.json()["CreditMemo"]
    assert sent["EmailStatus"] == "EmailSent" and sent["SyncToken"] == "1"
    assert sent["BillEmail"] == {"Address": "ap@acme-localization.example"}  # the customer's
    assert sent["DeliveryInfo"]["DeliveryType"] == "Email"
    to = api.http.post(url, params={"sendTo": "credit@example.org"}, headers=api.headers)
    assert to.json()["CreditMemo"]["BillEmail"] == {"Address": "credit@example.org"}
    log = api.http.get(f"/_sandbox/realms/{US}/sent").json()
    assert [(e["TxnType"], e["TxnId"], e["To"]) for e in log] == [
        ("CreditMemo", memo["Id"], "ap@acme-localization.example"),
        ("CreditMemo", memo["Id"], "credit@example.org"),
    ]
    assert api.get(f"invoice/{memo['Id']}").json()["Invoice"] == inv
    bad = api.http.post(url, params={"sendTo": "nope"}, headers=api.headers)
    assert (fault(bad)["code"], fault(bad)["element"]) == ("2010", "sendTo")
    missing = api.http.post(api.url("creditmemo/9999/send"), headers=api.headers)
    assert fault(missing)["code"] == "610"


def test_doc_numbers_collide_across_invoices_and_credit_memos(api: Api) -> None:
    memo = created(api.post("creditmemo", invoice(DocNumber="X-9")), "CreditMemo")
    clash = api.post("invoice", invoice(DocNumber="X-9"))
    assert fault(clash)["code"] == "6140"
    assert f"TxnType=Credit Memo with TxnId={memo['Id']}" in fault(clash)["Detail"]
    inv = created(api.post("invoice", invoice(DocNumber="X-10")))
    other = api.post("creditmemo", invoice(DocNumber="X-10"))
    assert f"TxnType=Invoice with TxnId={inv['Id']}" in fault(other)["Detail"]


# --- payments ----------------------------------------------------------------------------------


def test_payment_reduces_the_balance_and_links_both_ways(api: Api) -> None:
    inv = created(api.post("invoice", invoice()))
    payment = created(pay(api, "1", "30", ("Invoice", inv["Id"], "10")), "Payment")
    assert (payment["TotalAmt"], payment["UnappliedAmt"]) == (30, 20)
    assert payment["Line"] == [
        {"Amount": 10, "LinkedTxn": [{"TxnId": inv["Id"], "TxnType": "Invoice"}]}
    ]
    after = api.get(f"invoice/{inv['Id']}").json()["Invoice"]
    assert (after["Balance"], after["SyncToken"]) == (15, "1")
    assert after["LinkedTxn"] == [{"TxnId": payment["Id"], "TxnType": "Payment"}]
    rows = api.rows("select * from Payment where CustomerRef = '1'", "Payment")
    assert payment["Id"] in [r["Id"] for r in rows]


def test_payment_deposit_account_must_exist(api: Api) -> None:
    body = {"CustomerRef": {"value": "1"}, "TotalAmt": "5"}
    checking = next(
        a for a in api.rows("select * from Account", "Account") if a["Name"] == "Checking"
    )
    ok = created(
        api.post("payment", body | {"DepositToAccountRef": {"value": checking["Id"]}}), "Payment"
    )
    assert ok["DepositToAccountRef"] == {"value": checking["Id"], "name": "Checking"}
    assert ok["UnappliedAmt"] == 5
    assert (
        fault(api.post("payment", body | {"DepositToAccountRef": {"value": "999"}}))["code"]
        == "2500"
    )
    assert fault(api.post("payment", body | {"TxnDate": "2026-02-30"}))["code"] == "2010"


@pytest.mark.parametrize(
    ("customer", "total", "amount", "code"),
    [
        ("1", "30", "25.01", "6000"),  # more than the open balance
        ("2", "10", "10", "6000"),  # another customer's invoice
        ("1", "5", "10", "6000"),  # applies more than the payment brings
        ("1", "10", "0", "2010"),
    ],
)
def test_payment_refusals(api: Api, customer: str, total: str, amount: str, code: str) -> None:
    inv = created(api.post("invoice", invoice()))
    r = pay(api, customer, total, ("Invoice", inv["Id"], amount))
    assert fault(r)["code"] == code
    assert api.get(f"invoice/{inv['Id']}").json()["Invoice"]["Balance"] == 25


def test_zero_payment_applies_a_credit_memo(api: Api) -> None:
    inv = created(api.post("invoice", invoice()))  # 25
    memo = created(api.post("creditmemo", invoice(Line=[line(qty="4")])), "CreditMemo")  # 10
    applied = created(
        pay(api, "1", "0", ("Invoice", inv["Id"], "10"), ("CreditMemo", memo["Id"], "10")),
        "Payment",
    )
    assert (applied["TotalAmt"], applied["UnappliedAmt"]) == (0, 0)
    assert api.get(f"invoice/{inv['Id']}").json()["Invoice"]["Balance"] == 15
    credit = api.get(f"creditmemo/{memo['Id']}").json()["CreditMemo"]
    assert (credit["RemainingCredit"], credit["Balance"]) == (0, 0)
    assert credit["LinkedTxn"] == [{"TxnId": applied["Id"], "TxnType": "Payment"}]


def test_a_credit_larger_than_the_balance_is_applied_up_to_it(api: Api) -> None:
    inv = created(api.post("invoice", invoice(Line=[line(qty="2")])))  # 5
    memo = created(api.post("creditmemo", invoice()), "CreditMemo")  # 25
    too_much = pay(api, "1", "0", ("Invoice", inv["Id"], "25"), ("CreditMemo", memo["Id"], "25"))
    assert fault(too_much)["code"] == "6000"
    ok = pay(api, "1", "0", ("Invoice", inv["Id"], "5"), ("CreditMemo", memo["Id"], "5"))
    assert ok.status_code == 200
    assert api.get(f"invoice/{inv['Id']}").json()["Invoice"]["Balance"] == 0
    assert api.get(f"creditmemo/{memo['Id']}").json()["CreditMemo"]["RemainingCredit"] == 20


def test_voiding_or_deleting_a_payment_restores_the_balances(api: Api) -> None:
    inv = created(api.post("invoice", invoice()))
    first = created(pay(api, "1", "10", ("Invoice", inv["Id"], "10")), "Payment")
    void = api.post(
        "payment",
        {"Id": first["Id"], "SyncToken": "0", "sparse": True},
        operation="update",
        include="void",
    )
    voided = created(void, "Payment")
    assert (voided["TotalAmt"], voided["Line"], voided["PrivateNote"]) == (0, [], "Voided")
    after = api.get(f"invoice/{inv['Id']}").json()["Invoice"]
    assert (after["Balance"], after["LinkedTxn"]) == (25, [])
    second = created(pay(api, "1", "25", ("Invoice", inv["Id"], "25")), "Payment")
    assert api.get(f"invoice/{inv['Id']}").json()["Invoice"]["Balance"] == 0
    gone = api.post("payment", {"Id": second["Id"], "SyncToken": "0"}, operation="delete")
    assert gone.json()["Payment"]["status"] == "Deleted"
    assert api.get(f"invoice/{inv['Id']}").json()["Invoice"]["Balance"] == 25


def test_updating_a_payment_moves_the_difference(api: Api) -> None:
    inv = created(api.post("invoice", invoice()))
    payment = created(pay(api, "1", "10", ("Invoice", inv["Id"], "10")), "Payment")
    body = {
        "Id": payment["Id"],
        "SyncToken": "0",
        "CustomerRef": {"value": "1"},
        "TotalAmt": "25",
        "Line": [{"Amount": "25", "LinkedTxn": [{"TxnId": inv["Id"], "TxnType": "Invoice"}]}],
    }
    assert created(api.post("payment", body), "Payment")["TotalAmt"] == 25
    assert api.get(f"invoice/{inv['Id']}").json()["Invoice"]["Balance"] == 0


def test_admin_records_a_payment(api: Api) -> None:
    inv = created(api.post("invoice", invoice()))
    r = api.http.post(
        f"/_sandbox/realms/{US}/invoices/{inv['Id']}/pay",
        json={"amount": "7.50", "method": "Check", "reference": "CHK-1001", "date": "2026-11-20"},
    )
    assert r.status_code == 200 and r.json()["Balance"] == 17.5
    [link] = r.json()["LinkedTxn"]
    payment = api.get(f"payment/{link['TxnId']}").json()["Payment"]
    assert payment["PaymentRefNum"] == "CHK-1001" and payment["TxnDate"] == "2026-11-20"
    assert payment["PaymentMethodRef"]["name"] == "Check" and payment["TotalAmt"] == 7.5
    rest = api.http.post(f"/_sandbox/realms/{US}/invoices/{inv['Id']}/pay")
    assert rest.json()["Balance"] == 0
    again = api.http.post(f"/_sandbox/realms/{US}/invoices/{inv['Id']}/pay", json={"amount": "1"})
    assert again.status_code == 400 and again.json()["Fault"]["Error"][0]["code"] == "6000"
    bad = api.http.post(f"/_sandbox/realms/{US}/invoices/{inv['Id']}/pay", json={"amount": "x"})
    assert bad.status_code == 400


# --- attachments -------------------------------------------------------------------------------


def _upload(
    api: Api, meta: dict[str, Any], content: bytes, kind: str = "application/pdf"
) -> httpx.Response:
    return api.http.post(
        api.url("upload"),
        headers=api.headers,
        files={
            "file_metadata_01": (None, json.dumps(meta), "application/json"),
            "file_content_01": (meta.get("FileName", "f"), content, kind),
        },
    )


def test_upload_links_a_file_to_an_invoice(api: Api) -> None:
    inv = created(api.post("invoice", invoice()))
    meta = {
        "FileName": "INV-1.pdf",
        "ContentType": "application/pdf",
        "AttachableRef": [{"EntityRef": {"type": "Invoice", "value": inv["Id"]}}],
    }
    r = _upload(api, meta, b"%PDF-1.4 protemos")
    assert r.status_code == 200, r.text
    [entry] = r.json()["AttachableResponse"]
    att = entry["Attachable"]
    assert (att["FileName"], att["Size"], att["ContentType"]) == (
        "INV-1.pdf",
        17,
        "application/pdf",
    )
    assert att["AttachableRef"][0]["EntityRef"] == {"type": "Invoice", "value": inv["Id"]}
    q = (
        "select * from Attachable where AttachableRef.EntityRef.Type = 'invoice' "
        f"and AttachableRef.EntityRef.value = '{inv['Id']}'"
    )
    assert [a["Id"] for a in api.rows(q, "Attachable")] == [att["Id"]]
    url = api.get(f"download/{att['Id']}").text
    assert api.http.get(url).content == b"%PDF-1.4 protemos"


@pytest.mark.parametrize(
    ("meta", "kind", "code"),
    [
        ({"FileName": "a.exe", "AttachableRef": []}, "application/x-msdownload", "2010"),
        (
            {
                "FileName": "a.pdf",
                "AttachableRef": [{"EntityRef": {"type": "Invoice", "value": "404"}}],
            },
            "application/pdf",
            "2500",
        ),
        ({"AttachableRef": []}, "application/pdf", "2020"),
    ],
)
def test_upload_refusals(api: Api, sb: Sandbox, meta: dict[str, Any], kind: str, code: str) -> None:
    r = _upload(api, meta | {"ContentType": kind}, b"data", kind)
    assert r.status_code == 400 and fault(r)["code"] == code
    assert not sb.company(US).entities["Attachable"]


def test_upload_in_base64_with_bare_line_feeds(api: Api) -> None:
    inv = created(api.post("invoice", invoice()))
    meta = json.dumps(
        {
            "FileName": "n.txt",
            "ContentType": "text/plain",
            "AttachableRef": [{"EntityRef": {"type": "Invoice", "value": inv["Id"]}}],
        }
    )
    body = (
        '\n--B\nContent-Disposition: form-data; name="file_metadata_01"\nContent-Type: application/json\n\n'
        f'{meta}\n\n--B\nContent-Disposition: form-data; name="file_content_01"\nContent-Type: text/plain\n'
        "Content-Transfer-Encoding: base64\n\n"
        f"{base64.b64encode(b'hello').decode()}\n\n--B--\n"
    )
    r = api.http.post(
        api.url("upload"),
        headers={**api.headers, "Content-Type": "multipart/form-data; boundary=B"},
        content=body.encode(),
    )
    assert r.status_code == 200, r.text
    assert r.json()["AttachableResponse"][0]["Attachable"]["Size"] == 5


def test_note_attachable(api: Api) -> None:
    inv = created(api.post("invoice", invoice()))
    note = {
        "Note": "sent by post",
        "AttachableRef": [{"EntityRef": {"type": "Invoice", "value": inv["Id"]}}],
    }
    assert created(api.post("attachable", note), "Attachable")["Note"] == "sent by post"


# --- names: customers, vendors, employees, items, terms, accounts -------------------------------


def test_display_names_are_unique_across_customers_vendors_and_employees(api: Api) -> None:
    assert (
        created(api.post("vendor", {"DisplayName": "Lexis Freelance"}), "Vendor")["Active"] is True
    )
    for kind in ("customer", "employee", "vendor"):
        r = api.post(kind, {"DisplayName": "lexis freelance"})
        assert fault(r)["code"] == "6240", kind
        assert fault(r)["Detail"] == (
            "The name supplied already exists. : Another customer, vendor or employee is already "
            "using this \nname. Please use a different name."
        )
    inactive = api.post("customer", {"DisplayName": "Initech"})  # an inactive customer
    assert fault(inactive)["code"] == "6240"
    colon = api.post("customer", {"DisplayName": "Globex:Sales"})
    assert (fault(colon)["code"], fault(colon)["element"]) == ("2040", "DisplayName")
    child = created(
        api.post("customer", {"DisplayName": "Sales", "ParentRef": {"value": "4"}}), "Customer"
    )
    assert child["FullyQualifiedName"] == "Globex Corporation:Sales" and child["Job"] is True


def test_name_lists_answer_active_records_unless_asked(api: Api) -> None:
    names = [c["DisplayName"] for c in api.rows("select * from Customer", "Customer")]
    assert "Initech" not in names
    everyone = api.rows("select * from Customer where Active IN (true, false)", "Customer")
    assert "Initech" in [c["DisplayName"] for c in everyone]
    reactivated = api.post(
        "customer", {"Id": "8", "SyncToken": "0", "sparse": True, "Active": True}
    )
    assert created(reactivated, "Customer")["Active"] is True


def test_service_items_need_an_income_account(api: Api) -> None:
    income = api.rows("select * from Account where AccountType = 'Income'", "Account")
    services = next(a for a in income if a["Name"] == "Services")
    assert services["Classification"] == "Revenue"
    missing = api.post("item", {"Name": "Glossary work", "Type": "Service"})
    assert fault(missing)["code"] == "2020"
    unknown = api.post("item", {"Name": "Glossary work", "IncomeAccountRef": {"value": "999"}})
    assert fault(unknown)["code"] == "2500"
    bank = next(
        a for a in api.rows("select * from Account", "Account") if a["AccountType"] == "Bank"
    )
    wrong = api.post("item", {"Name": "Glossary work", "IncomeAccountRef": {"value": bank["Id"]}})
    assert fault(wrong)["code"] == "6000"
    item = created(
        api.post(
            "item",
            {
                "Name": "Glossary work",
                "Type": "Service",
                "IncomeAccountRef": {"value": services["Id"]},
                "UnitPrice": "0.08",
            },
        ),
        "Item",
    )
    assert item["IncomeAccountRef"] == {"value": services["Id"], "name": "Services"}
    dup = api.post("item", {"Name": "GLOSSARY WORK", "IncomeAccountRef": {"value": services["Id"]}})
    assert fault(dup)["code"] == "6240"
    assert "Another product or service is already using this name." in fault(dup)["Detail"]


def test_terms_and_accounts(api: Api) -> None:
    term = created(api.post("term", {"Name": "Net 45", "DueDays": 45}), "Term")
    assert (term["DueDays"], term["Type"], term["Active"]) == (45, "STANDARD", True)
    assert fault(api.post("term", {"Name": "net 45", "DueDays": 5}))["code"] == "6240"
    assert fault(api.post("term", {"Name": "Net 60 (old)"}))["code"] == "6240"  # inactive
    assert fault(api.post("term", {"Name": "Net", "DueDays": -3}))["code"] == "2010"
    account = created(
        api.post("account", {"Name": "Interpreting", "AccountType": "Income"}), "Account"
    )
    assert account["Classification"] == "Revenue"
    assert fault(api.post("account", {"Name": "A:B", "AccountType": "Income"}))["code"] == "2040"
    assert fault(api.post("account", {"Name": "Other", "AccountType": "Nope"}))["code"] == "2010"
    assert fault(api.post("account", {"Name": "Other"}))["code"] == "2020"


# --- exactly once: replayed and dropped sends, uploads and payments ----------------------------


def test_send_with_a_requestid_is_replayed_not_repeated(api: Api, sb: Sandbox) -> None:
    inv = created(api.post("invoice", invoice()))
    sb.set_faults(Faults(drop_next_writes=1))
    url = api.url(f"invoice/{inv['Id']}/send")
    with pytest.raises(httpx.RemoteProtocolError):  # the e-mail went out, the answer was lost
        api.http.post(url, params={"requestid": "send-1"}, headers=api.headers)
    again = api.http.post(url, params={"requestid": "send-1"}, headers=api.headers)
    assert again.status_code == 200 and again.json()["Invoice"]["EmailStatus"] == "EmailSent"
    assert len(sb.company(US).sent) == 1


def test_upload_and_payment_with_a_requestid_happen_once(api: Api, sb: Sandbox) -> None:
    inv = created(api.post("invoice", invoice()))
    meta = {
        "FileName": "a.pdf",
        "ContentType": "application/pdf",
        "AttachableRef": [{"EntityRef": {"type": "Invoice", "value": inv["Id"]}}],
    }
    files = {
        "file_metadata_01": (None, json.dumps(meta), "application/json"),
        "file_content_01": ("a.pdf", b"%PDF-", "application/pdf"),
    }
    for _ in range(2):
        r = api.http.post(
            api.url("upload"), params={"requestid": "up-1"}, headers=api.headers, files=files
        )
        assert r.status_code == 200
    assert len(sb.company(US).entities["Attachable"]) == 1
    body = {
        "CustomerRef": {"value": "1"},
        "TotalAmt": "5",
        "Line": [{"Amount": "5", "LinkedTxn": [{"TxnId": inv["Id"], "TxnType": "Invoice"}]}],
    }
    for _ in range(2):
        assert api.post("payment", body, requestid="pay-1").status_code == 200
    assert api.get(f"invoice/{inv['Id']}").json()["Invoice"]["Balance"] == 20
