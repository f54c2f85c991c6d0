"""Send, PDF and upload on the QBOClient with pytest-httpx: exact wire forms, retries with the
same requestid, error mapping; and the typed Payment/Attachable/billing views."""

from __future__ import annotations

import email.parser
import email.policy
import json
from decimal import Decimal

import httpx
import pytest
from pytest_httpx import HTTPXMock

from invoicesync.targets.quickbooks.api import documents
from invoicesync.targets.quickbooks.api import errors as qerr
from invoicesync.targets.quickbooks.api.client import Limits, QBOClient, RateLimiter, RetryPolicy
from invoicesync.targets.quickbooks.api.followup_rows import QBOAttachable, QBOBilling, QBOPayment
from invoicesync.targets.quickbooks.api.rows import Entity

BASE = "https://qbo.example"
REALM = "123"


@pytest.fixture
def client() -> QBOClient:
    return QBOClient(
        base_url=BASE,
        realm_id=REALM,
        sleep=lambda s: None,
        jitter=lambda: 1.0,
        limiter=RateLimiter(Limits.off()),
        retry=RetryPolicy(max_attempts=3),
    )


def url(path: str, **params: str) -> str:
    query = httpx.QueryParams({"minorversion": "75", **params})
    return f"{BASE}/v3/company/{REALM}/{path}?{query}"


def test_send_posts_an_empty_octet_stream_with_send_to_and_requestid(
    client: QBOClient, httpx_mock: HTTPXMock
) -> None:
    sent = {"Id": "7", "EmailStatus": "EmailSent", "DeliveryInfo": {"DeliveryType": "Email"}}
    httpx_mock.add_response(
        method="POST",
        url=url("invoice/7/send", sendTo="a@b.example", requestid="r1"),
        json={"Invoice": sent},
    )
    assert documents.send(client, Entity.INVOICE, "7", "a@b.example", requestid="r1") == sent
    request = httpx_mock.get_request()
    assert request is not None
    assert request.headers["content-type"] == "application/octet-stream"
    assert request.headers["accept"] == "application/json"
    assert request.content == b""
    assert client.stats.requests == {"send": 1}


def test_a_credit_memo_is_sent_and_rendered_through_its_own_endpoint(
    client: QBOClient, httpx_mock: HTTPXMock
) -> None:
    """Intuit's CreditMemo reference: `POST /creditmemo/{id}/send`, `GET /creditmemo/{id}/pdf`;
    the path comes from the entity, so credit memo 7 is never sent as invoice 7."""
    httpx_mock.add_response(
        method="POST",
        url=url("creditmemo/7/send", requestid="r1"),
        json={"CreditMemo": {"Id": "7", "EmailStatus": "EmailSent"}},
    )
    httpx_mock.add_response(url=url("creditmemo/7/pdf"), content=b"%PDF-1.4 cm")
    sent = documents.send(client, Entity.CREDIT_MEMO, "7", None, requestid="r1")
    assert sent == {"Id": "7", "EmailStatus": "EmailSent"}
    assert documents.pdf(client, Entity.CREDIT_MEMO, "7") == b"%PDF-1.4 cm"
    assert [r.url.path for r in httpx_mock.get_requests()] == [
        f"/v3/company/{REALM}/creditmemo/7/send",
        f"/v3/company/{REALM}/creditmemo/7/pdf",
    ]


def test_send_retries_a_5xx_with_the_same_requestid(
    client: QBOClient, httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_response(url=url("invoice/7/send", requestid="r1"), status_code=503)
    httpx_mock.add_response(
        url=url("invoice/7/send", requestid="r1"), json={"Invoice": {"Id": "7"}}
    )
    assert documents.send(client, Entity.INVOICE, "7", None, requestid="r1") == {"Id": "7"}
    assert client.stats.requests == {"send": 2}


def test_send_refusal_is_a_validation_error(client: QBOClient, httpx_mock: HTTPXMock) -> None:
    fault = {
        "Error": [{"Message": "Invalid Email Address", "code": "2050"}],
        "type": "ValidationFault",
    }
    httpx_mock.add_response(
        url=url("invoice/7/send", requestid="r1"), status_code=400, json={"Fault": fault}
    )
    with pytest.raises(qerr.ValidationError, match="Invalid Email Address"):
        documents.send(client, Entity.INVOICE, "7", None, requestid="r1")


def test_dropped_send_is_an_uncertain_connection_error(
    client: QBOClient, httpx_mock: HTTPXMock
) -> None:
    for _ in range(3):
        httpx_mock.add_exception(httpx.RemoteProtocolError("dropped"))
    with pytest.raises(qerr.QBOConnectionError) as caught:
        documents.send(client, Entity.INVOICE, "7", None, requestid="r1")
    assert caught.value.uncertain
    assert {r.url.params["requestid"] for r in httpx_mock.get_requests()} == {"r1"}


def test_pdf_asks_for_application_pdf_and_checks_what_comes_back(
    client: QBOClient, httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_response(url=url("invoice/7/pdf"), content=b"%PDF-1.4 x")
    assert documents.pdf(client, Entity.INVOICE, "7") == b"%PDF-1.4 x"
    assert httpx_mock.get_requests()[0].headers["accept"] == "application/pdf"
    httpx_mock.add_response(
        url=url("invoice/8/pdf"), text="<html>maintenance</html>", is_reusable=True
    )
    with pytest.raises(qerr.ServerError, match="with a body it could not have meant"):
        documents.pdf(client, Entity.INVOICE, "8")


def test_upload_sends_metadata_and_content_as_multipart(
    client: QBOClient, httpx_mock: HTTPXMock
) -> None:
    row = {"Id": "5000", "FileName": "a.pdf", "Size": 3}
    httpx_mock.add_response(
        url=url("upload", requestid="r2"), json={"AttachableResponse": [{"Attachable": row}]}
    )
    meta = {"FileName": "a.pdf", "Note": "n"}
    assert documents.upload(client, meta, "a.pdf", "application/pdf", b"%PD", requestid="r2") == row
    request = httpx_mock.get_request()
    assert request is not None
    head = f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + request.content)
    parts = list(message.iter_parts())
    assert [p.get_param("name", header="content-disposition") for p in parts] == [
        "file_metadata_0",
        "file_content_0",
    ]
    assert parts[0].get_content_type() == "application/json"
    assert json.loads(parts[0].get_payload(decode=True)) == meta
    assert (parts[1].get_filename(), parts[1].get_content_type()) == ("a.pdf", "application/pdf")
    assert parts[1].get_payload(decode=True) == b"%PD"


def test_upload_fault_inside_the_attachable_response_raises(
    client: QBOClient, httpx_mock: HTTPXMock
) -> None:
    fault = {
        "Error": [{"Message": "File type not supported", "code": "2170"}],
        "type": "ValidationFault",
    }
    httpx_mock.add_response(
        url=url("upload", requestid="r3"), json={"AttachableResponse": [{"Fault": fault}]}
    )
    with pytest.raises(qerr.ValidationError, match="File type not supported"):
        documents.upload(client, {}, "a.pdf", "application/pdf", b"x", requestid="r3")


def test_an_applied_credit_is_never_money() -> None:
    """A zero-total payment applies a credit; a mixed one is money plus credit, the credit
    counted against the invoices in line order, so the money always adds up to TotalAmt."""

    def line(amount: str, txn: str, kind: str) -> dict[str, object]:
        return {"Amount": Decimal(amount), "LinkedTxn": [{"TxnId": txn, "TxnType": kind}]}

    applied = QBOPayment.from_row(
        {
            "Id": "1",
            "TotalAmt": 0,
            "Line": [line("30", "2", "Invoice"), line("30", "1", "CreditMemo")],
        }
    )
    assert applied.amount_for("2") == Decimal("0")
    assert applied.credits_for("2") == (("1", Decimal("30")),)
    mixed = QBOPayment.from_row(
        {
            "Id": "2",
            "TotalAmt": Decimal("65"),
            "Line": [
                line("40", "5", "Invoice"),
                line("60", "6", "Invoice"),
                line("25", "3", "CreditMemo"),
                line("10", "4", "CreditMemo"),
            ],
        }
    )
    assert [mixed.amount_for(i) for i in ("5", "6")] == [Decimal("5"), Decimal("60")]
    assert mixed.amount_for("5") + mixed.amount_for("6") == mixed.total
    assert mixed.credits_for("5") == (("3", Decimal("25")), ("4", Decimal("10")))
    assert mixed.credits_for("6") == ()
    assert mixed.applied_from("3") == (("5", Decimal("25")),)


def test_typed_views_of_payments_attachables_and_billing() -> None:
    payment = QBOPayment.from_row(
        {
            "Id": "70",
            "TxnDate": "2026-03-01",
            "TotalAmt": Decimal("150"),
            "PaymentMethodRef": {"value": "2"},
            "Line": [
                {"Amount": Decimal("100"), "LinkedTxn": [{"TxnId": "7", "TxnType": "Invoice"}]},
                {"Amount": Decimal("50.5"), "LinkedTxn": [{"TxnId": "8", "TxnType": "Invoice"}]},
                {"Amount": 1, "LinkedTxn": [{"TxnId": "9", "TxnType": "CreditMemo"}]},
                "junk",
            ],
        }
    )
    # the credit memo's 1 is credit used against invoice 7 (the first line), not money
    assert (payment.amount_for("7"), payment.amount_for("8"), payment.amount_for("9")) == (
        Decimal("99"),
        Decimal("50.5"),
        Decimal("0.00"),
    )
    assert payment.credits_for("7") == (("9", Decimal("1")),)
    assert payment.applied_from("9") == (("7", Decimal("1")),)
    assert (payment.method, payment.reference) == ("2", None)
    billing = QBOBilling.from_row(
        {
            "Id": "7",
            "EmailStatus": "EmailSent",
            "DeliveryInfo": {"DeliveryType": "Email", "DeliveryTime": "2026-03-02T10:00:00-08:00"},
            "BillEmail": {"Address": "a@b.example"},
            "LinkedTxn": [
                {"TxnId": "70", "TxnType": "Payment"},
                {"TxnId": "70", "TxnType": "Payment"},
                {"TxnId": "3", "TxnType": "Estimate"},
            ],
        },
        Entity.INVOICE,
    )
    assert (billing.sent, billing.delivered_at, billing.bill_email, billing.payment_ids) == (
        True,
        "2026-03-02T10:00:00-08:00",
        "a@b.example",
        ("70",),
    )
    assert QBOBilling.from_row({"Id": "8"}, Entity.INVOICE).sent is False
    assert QBOAttachable.from_row({"Id": "1", "Size": 12.0, "FileName": "a.pdf"}).size == 12
