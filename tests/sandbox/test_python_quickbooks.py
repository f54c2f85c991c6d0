"""python-quickbooks (with intuit-oauth), the client people most often point at
`invoicesync sandbox serve`, driven against the sandbox over loopback.

The library talks `requests`, so it needs a real socket: 127.0.0.1 only. Its OAuth session
refuses plain http unless OAUTHLIB_INSECURE_TRANSPORT=1, which docs/sandbox.md tells users.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from intuitlib.client import AuthClient
from pypdf import PdfReader
from quickbooks import QuickBooks
from quickbooks.batch import batch_create
from quickbooks.cdc import change_data_capture
from quickbooks.exceptions import QuickbooksException
from quickbooks.objects.attachable import Attachable
from quickbooks.objects.base import AttachableRef, LinkedTxn
from quickbooks.objects.creditmemo import CreditMemo
from quickbooks.objects.customer import Customer
from quickbooks.objects.detailline import (
    DiscountLine,
    DiscountLineDetail,
    SalesItemLine,
    SalesItemLineDetail,
)
from quickbooks.objects.invoice import Invoice
from quickbooks.objects.item import Item
from quickbooks.objects.payment import Payment, PaymentLine
from quickbooks.objects.term import Term
from quickbooks.objects.vendor import Vendor

from invoicesync.targets.quickbooks.sandbox import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    Sandbox,
    SandboxServer,
    start_in_thread,
)
from tests.sandbox.support import US

pytestmark = pytest.mark.loopback


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[Sandbox, SandboxServer]]:
    sandbox = Sandbox(["us"], auto_approve=True)
    server = start_in_thread(sandbox)
    try:
        yield sandbox, server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def qb(served: tuple[Sandbox, SandboxServer], monkeypatch: pytest.MonkeyPatch) -> QuickBooks:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    sandbox, server = served
    grant = sandbox.oauth.issue_grant(DEFAULT_CLIENT_ID, US)
    issued = grant.refresh_token
    auth = AuthClient(
        DEFAULT_CLIENT_ID,
        DEFAULT_CLIENT_SECRET,
        "http://localhost:8765/callback",
        environment=f"{server.url}/.well-known/openid_configuration",
    )
    client = QuickBooks(auth_client=auth, refresh_token=issued, company_id=US, minorversion=75)
    client.api_url_v3 = f"{server.url}/v3"  # not "sandbox"/"production": our own host
    assert client.refresh_token == grant.refresh_token != issued  # rotated on the first refresh
    return client


def _invoice(qb: QuickBooks, amount: int = 100, **fields: Any) -> Invoice:
    item = Item.filter(Name="Translation", qb=qb)[0]
    line = SalesItemLine()
    line.Amount = amount
    line.SalesItemLineDetail = SalesItemLineDetail()
    line.SalesItemLineDetail.ItemRef = item.to_ref()
    invoice = Invoice()
    invoice.CustomerRef = Customer.get(2, qb=qb).to_ref()
    invoice.Line.append(line)
    for key, value in fields.items():
        setattr(invoice, key, value)
    saved: Invoice = invoice.save(qb=qb)
    return saved


def test_lists_filters_counts_and_reads(qb: QuickBooks) -> None:
    items = Item.all(qb=qb)  # SELECT *, Sku FROM Item MAXRESULTS 100
    assert "Translation" in [i.Name for i in items]
    obrien = Customer.filter(DisplayName="O'Brien & Partners LLP", qb=qb)
    assert [c.Id for c in obrien] == ["2"]
    ordered = Customer.where("Active = true", order_by="DisplayName", qb=qb)
    names = [c.DisplayName for c in ordered]
    assert names == sorted(names, key=str.casefold) and "Initech" not in names
    assert next(t.Name for t in Term.all(order_by="Name DESC", qb=qb)) == "Net 30"  # active only
    assert Invoice.count(qb=qb) >= 1
    assert Invoice.count("DocNumber = '1037'", qb=qb) == 1
    chosen = Customer.choose(["1", "2"], qb=qb)
    assert sorted(c.Id for c in chosen) == ["1", "2"]
    assert Customer.get(1, qb=qb).DisplayName == "Acme Localization Inc."


def test_create_update_void_delete(qb: QuickBooks, served: tuple[Sandbox, SandboxServer]) -> None:
    created = _invoice(qb, 100)
    assert (created.TotalAmt, created.Balance, created.SyncToken) == (100.0, 100.0, "0")
    fetched = Invoice.get(created.Id, qb=qb)
    fetched.PrivateNote = "edited by a script"
    updated = fetched.save(qb=qb)  # a full update with everything the library holds
    assert (updated.SyncToken, updated.PrivateNote, updated.TotalAmt) == (
        "1",
        "edited by a script",
        100.0,
    )
    stale = Invoice.get(created.Id, qb=qb)
    stale.SyncToken = "0"
    with pytest.raises(QuickbooksException) as caught:
        stale.save(qb=qb)
    assert caught.value.error_code == 5010
    voided = Invoice.get(created.Id, qb=qb)
    voided.void(qb=qb)
    assert Invoice.get(created.Id, qb=qb).TotalAmt == 0
    doomed = _invoice(qb, 50)
    doomed.delete(qb=qb)
    with pytest.raises(QuickbooksException) as gone:
        Invoice.get(doomed.Id, qb=qb)
    assert gone.value.error_code == 610
    sandbox, _ = served
    assert doomed.Id not in sandbox.company(US).entities["Invoice"]


def test_discount_line_through_the_library(qb: QuickBooks) -> None:
    discount = DiscountLine()
    discount.DiscountLineDetail = DiscountLineDetail()
    discount.DiscountLineDetail.PercentBased = True
    discount.DiscountLineDetail.DiscountPercent = 10
    item = Item.filter(Name="Translation", qb=qb)[0]
    line = SalesItemLine()
    line.Amount = 200
    line.SalesItemLineDetail = SalesItemLineDetail()
    line.SalesItemLineDetail.ItemRef = item.to_ref()
    invoice = Invoice()
    invoice.CustomerRef = Customer.get(2, qb=qb).to_ref()
    invoice.Line = [line, discount]
    assert invoice.save(qb=qb).TotalAmt == 180.0


def test_batch_and_cdc(qb: QuickBooks, served: tuple[Sandbox, SandboxServer]) -> None:
    item = Item.filter(Name="Proofreading", qb=qb)[0]
    invoices = []
    for amount in (10, 20):
        line = SalesItemLine()
        line.Amount = amount
        line.SalesItemLineDetail = SalesItemLineDetail()
        line.SalesItemLineDetail.ItemRef = item.to_ref()
        inv = Invoice()
        inv.CustomerRef = Customer.get(6, qb=qb).to_ref()
        inv.Line.append(line)
        invoices.append(inv)
    result = batch_create(invoices, qb=qb)
    assert not result.faults
    assert sorted(i.TotalAmt for i in result.successes) == [10.0, 20.0]
    since = (served[0].now() - timedelta(hours=1)).isoformat(timespec="seconds")
    changes = change_data_capture([Invoice, Customer], since, qb=qb)
    ids = {i.Id for i in changes.Invoice}
    assert {i.Id for i in result.successes} <= ids


def test_send_and_pdf(qb: QuickBooks, served: tuple[Sandbox, SandboxServer]) -> None:
    created = _invoice(qb, 75, DocNumber="PQB-1")
    sent = created.send(qb=qb, send_to="ap+scripts@obrien-partners.example")
    assert sent["Invoice"]["EmailStatus"] == "EmailSent"
    assert sent["Invoice"]["BillEmail"] == {"Address": "ap+scripts@obrien-partners.example"}
    sandbox, _ = served
    assert sandbox.company(US).sent[-1]["To"] == "ap+scripts@obrien-partners.example"
    pdf = created.download_pdf(qb=qb)
    reader = PdfReader(io.BytesIO(pdf))
    text = reader.pages[0].extract_text()
    assert "Invoice PQB-1" in text and "O'Brien & Partners LLP" in text and "75.0" in text


def _linked(kind: str, txn_id: str) -> LinkedTxn:
    link = LinkedTxn()
    link.TxnId = txn_id
    link.TxnType = kind
    return link


def _payment_line(amount: int, kind: str, txn_id: str) -> PaymentLine:
    line = PaymentLine()
    line.Amount = amount
    line.LinkedTxn.append(_linked(kind, txn_id))
    return line


def test_credit_memo_payments_and_void(qb: QuickBooks) -> None:
    invoice = _invoice(qb, 100)
    item = Item.filter(Name="Translation", qb=qb)[0]
    credit_line = SalesItemLine()
    credit_line.Amount = 30
    credit_line.SalesItemLineDetail = SalesItemLineDetail()
    credit_line.SalesItemLineDetail.ItemRef = item.to_ref()
    memo = CreditMemo()
    memo.CustomerRef = invoice.CustomerRef
    memo.Line.append(credit_line)
    memo = memo.save(qb=qb)
    assert memo.RemainingCredit == 30.0
    apply_credit = Payment()
    apply_credit.CustomerRef = invoice.CustomerRef
    apply_credit.TotalAmt = 0
    apply_credit.Line = [
        _payment_line(30, "Invoice", invoice.Id),
        _payment_line(30, "CreditMemo", memo.Id),
    ]
    apply_credit.save(qb=qb)
    assert Invoice.get(invoice.Id, qb=qb).Balance == 70.0
    assert CreditMemo.get(memo.Id, qb=qb).RemainingCredit == 0
    cash = Payment()
    cash.CustomerRef = invoice.CustomerRef
    cash.TotalAmt = 70
    cash.PaymentRefNum = "WIRE-7"
    cash.Line = [_payment_line(70, "Invoice", invoice.Id)]
    cash = cash.save(qb=qb)
    assert Invoice.get(invoice.Id, qb=qb).Balance == 0
    assert [p.PaymentRefNum for p in Payment.filter(PaymentRefNum="WIRE-7", qb=qb)] == ["WIRE-7"]
    cash.void(qb=qb)  # operation=update&include=void, sparse
    assert Invoice.get(invoice.Id, qb=qb).Balance == 70.0


def test_attachment_upload_and_names(qb: QuickBooks) -> None:
    invoice = _invoice(qb, 40)
    attachment = Attachable()
    ref = AttachableRef()
    ref.EntityRef = invoice.to_ref()
    ref.EntityRef.type = "Invoice"
    attachment.AttachableRef.append(ref)
    attachment.FileName = "protemos-INV-7.pdf"
    attachment.ContentType = "application/pdf"
    attachment._FileBytes = b"%PDF-1.4 from protemos"
    saved = attachment.save(qb=qb)
    assert (saved.FileName, saved.Size) == ("protemos-INV-7.pdf", 22)
    found = Attachable.where(f"AttachableRef.EntityRef.value = '{invoice.Id}'", qb=qb)
    assert [a.Id for a in found] == [saved.Id]
    vendor = Vendor()
    vendor.DisplayName = "Acme Localization Inc."  # a customer's name
    with pytest.raises(QuickbooksException) as caught:
        vendor.save(qb=qb)
    assert caught.value.error_code == 6240
