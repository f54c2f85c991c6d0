"""After the push, as strict as B2BRouter: the contract details of the client
(state flags, the send answer), the legal documents, delivery failures with their reasons
and the VeriFactu reports, against the sandbox in-process."""

from __future__ import annotations

import httpx
import pytest

from invoicesync.targets.b2brouter.api import B2BRouterClient
from invoicesync.targets.b2brouter.api import errors as berr
from invoicesync.targets.b2brouter.sandbox import B2BRouterSandbox, B2BRouterTransport
from tests.b2brouter.conftest import BASE, ES_KEY, invoice_body
from tests.b2brouter.test_client import draft

JUAN = 5006  # the es seed's contact without a transport


def test_state_filters_are_sent_as_1(client: B2BRouterClient, sandbox: B2BRouterSandbox) -> None:
    client.create_invoice(draft())
    assert [i.number for i in client.invoices(states=["sent"])] == ["2026-0007"]
    assert sandbox.log()[-1]["query"]["sent"] == "1"


def test_a_send_answer_without_an_invoice_is_a_success() -> None:
    """The send answer is undocumented: `{}` or `{"ok": true}` must not read as a failure."""
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        return httpx.Response(200, json={"ok": True})

    with B2BRouterClient(
        ES_KEY, "211", base_url=BASE, transport=httpx.MockTransport(handler)
    ) as client:
        assert client.send_invoice(100001) is None
    assert seen == ["/invoices/send_invoice/100001"]


def test_the_pdf_is_generated_asynchronously_and_the_xml_at_once(
    client: B2BRouterClient, sandbox: B2BRouterSandbox
) -> None:
    inv = client.create_invoice(draft())
    with pytest.raises(berr.NotFoundError):
        client.document(inv.id, "pdf.invoice")  # a first 404 is normal
    assert client.document(inv.id, "pdf.invoice").startswith(b"%PDF-")
    ubl = client.document(inv.id, "xml.ubl.invoice.bis3")
    assert b"<ID>INV-9</ID>" in ubl
    assert sandbox.log()[-1]["path"] == f"/invoices/{inv.id}/as/xml.ubl.invoice.bis3"
    with pytest.raises(berr.NotFoundError):
        client.document(inv.id, "xml.nothing")
    with pytest.raises(ValueError):
        client.document(inv.id, "../../accounts")


def test_delivery_to_a_contact_without_transport_fails_with_the_reason(
    client: B2BRouterClient, sandbox: B2BRouterSandbox
) -> None:
    inv = client.create_invoice(draft(contact_id=JUAN))
    verdict = client.validate_invoice(inv.id)
    assert not verdict.valid and "no transport" in verdict.errors[0]
    client.send_invoice(inv.id)
    delivered = sandbox.network.deliver_all()
    assert delivered["error"] == [inv.id]
    after = client.get_invoice(inv.id)
    assert after.state == "error"
    assert after.state_reason is not None and "B2BRouter → Contacts" in after.state_reason


def test_tax_reports_move_through_their_states_and_sometimes_fail(
    client: B2BRouterClient, sandbox: B2BRouterSandbox
) -> None:
    first = client.create_invoice(draft("A-1"), send=True)
    second = client.create_invoice(draft("A-2"), send=True)
    [r1], [r2] = client.get_invoice(first.id).tax_report_ids, second.tax_report_ids
    assert client.tax_report(r1).state == "processing"
    sandbox.network.deliveries.fail_reports.append("NIF del destinatario no identificado")
    sandbox.network.deliver_all()
    failed, registered = client.tax_report(r1), client.tax_report(r2)
    assert (failed.kind, failed.state) == ("Verifactu", "error")
    assert failed.reason == "NIF del destinatario no identificado"
    assert (registered.state, registered.reason) == ("registered", None)


def test_a_tax_report_of_another_account_is_missing(sandbox: B2BRouterSandbox) -> None:
    with httpx.Client(
        base_url=BASE,
        transport=B2BRouterTransport(sandbox),
        headers={"X-B2B-API-Key": ES_KEY, "X-B2B-API-Version": "2026-04-20"},
    ) as http:
        inv = http.post(
            "/accounts/211/invoices", json={**invoice_body(), "send_after_import": True}
        ).json()["invoice"]
        [report] = inv["tax_report_ids"]
        assert http.get(f"/tax_reports/{report}").json()["tax_report"]["state"] == "processing"
        assert http.get(f"/tax_reports/{report + 1}").status_code == 404
        assert http.get("/tax_reports/x1").status_code == 404
