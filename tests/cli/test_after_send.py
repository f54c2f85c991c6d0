"""`invoicesync send` and `push --send` against the sandbox: QuickBooks e-mails the invoice
exactly once, even when a run crashes or the connection drops (tests/cli/after_wire.py)."""

from __future__ import annotations

import json

import httpx
import pytest
from pytest_httpx import HTTPXMock

from invoicesync.store import Store
from invoicesync.store.followups import followups
from tests.cli.after_wire import Wire, params, run, wire
from tests.helpers import US, World


@pytest.fixture
def qbo(us: World, httpx_mock: HTTPXMock) -> Wire:
    return wire(us, httpx_mock)


def remote_id(world: World, number: str) -> str:
    return next(i["Id"] for i in world.invoices() if i.get("DocNumber") == number)


def delivered(world: World, number: str) -> str:
    row = world.sandbox.company(US).entities["Invoice"][remote_id(world, number)]
    return str(row["DeliveryInfo"]["DeliveryTime"])


def send_requests(httpx_mock: HTTPXMock) -> list[httpx.Request]:
    return [r for r in httpx_mock.get_requests() if r.url.path.endswith("/send")]


def sends(world: World, number: str) -> list[tuple[str, str | None, str | None]]:
    store = Store.open(world.home / "state.db")
    try:
        return [(f.state, f.result_to, f.result_at) for f in followups(store, US, "send", number)]
    finally:
        store.close()


def test_send_emails_the_invoice_once_and_records_when_and_to_whom(
    us: World, qbo: Wire, httpx_mock: HTTPXMock
) -> None:
    assert run(us, "push", "INV-2026-0101").exit_code == 0
    result = run(us, "send", "INV-2026-0101", "--json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert len(doc.pop("run_id")) == 32  # the run that sent it (`invoicesync runs show`)
    assert doc == {
        "schema": "invoicesync.send/2",
        "account": US,
        "realm_id": US,
        "results": [
            {
                "invoice": "INV-2026-0101",
                "status": "sent",
                "remote_id": remote_id(us, "INV-2026-0101"),
                "qbo_id": remote_id(us, "INV-2026-0101"),
                "kind": "invoice",
                "to": "ap@acme-localization.example",
                "sent_at": delivered(us, "INV-2026-0101"),
                "message": "",
            }
        ],
    }
    (request,) = send_requests(httpx_mock)
    assert request.url.path == f"/v3/company/{US}/invoice/{remote_id(us, 'INV-2026-0101')}/send"
    assert "sendTo" not in params(request)
    assert params(request)["minorversion"] == ["75"]
    first_at = delivered(us, "INV-2026-0101")
    assert sends(us, "INV-2026-0101") == [("done", "ap@acme-localization.example", first_at)]
    assert [s["To"] for s in qbo.sent] == ["ap@acme-localization.example"]

    again = run(us, "send", "INV-2026-0101")
    assert again.exit_code == 0
    assert f"already sent ({first_at}); --again sends it again" in again.stdout
    assert len(qbo.sent) == 1

    forced = run(us, "send", "INV-2026-0101", "--again", "--to", "boss@acme.example")
    assert forced.exit_code == 0, forced.stderr
    assert [s["To"] for s in qbo.sent] == ["ap@acme-localization.example", "boss@acme.example"]
    first, second = send_requests(httpx_mock)
    assert params(second)["sendTo"] == ["boss@acme.example"]
    assert params(second)["requestid"] != params(first)["requestid"]
    assert sends(us, "INV-2026-0101")[-1] == (
        "done",
        "boss@acme.example",
        delivered(us, "INV-2026-0101"),
    )


def test_push_send_sends_each_created_invoice(us: World, qbo: Wire) -> None:
    result = run(us, "push", "INV-2026-0101", "INV-2026-0106", "--send", "--json")
    assert result.exit_code == 0, result.stderr
    messages = {r["invoice"]: r["message"] for r in json.loads(result.stdout)["results"]}
    assert messages == {
        "INV-2026-0101": "sent to ap@acme-localization.example",
        "INV-2026-0106": "sent to billing@northwind.example",
    }
    assert len(qbo.sent) == 2
    rerun = run(us, "push", "INV-2026-0101", "INV-2026-0106", "--send")
    assert rerun.exit_code == 0
    assert len(qbo.sent) == 2  # linked already: not created, not sent again


def test_refused_send_is_reported_and_can_be_retried_with_an_address(
    us: World, qbo: Wire, httpx_mock: HTTPXMock
) -> None:
    assert run(us, "push", "INV-2026-0104").exit_code == 0
    company = us.sandbox.company(US)
    invoice = company.entities["Invoice"][remote_id(us, "INV-2026-0104")]
    invoice.pop("BillEmail", None)
    company.entities["Customer"][invoice["CustomerRef"]["value"]].pop("PrimaryEmailAddr", None)
    refused = run(us, "send", "INV-2026-0104")
    assert refused.exit_code == 3  # QuickBooks' validation refusal of this invoice
    assert "QuickBooks did not send it: " in refused.stdout
    assert qbo.sent == []
    ok = run(us, "send", "INV-2026-0104", "--to", "pay@example.com")
    assert ok.exit_code == 0, ok.stderr
    assert [s[0] for s in sends(us, "INV-2026-0104")] == ["failed", "done"]
    first, second = (params(r)["requestid"][0] for r in send_requests(httpx_mock))
    assert first != second  # a new attempt: QuickBooks would replay the refusal otherwise
    assert [s["To"] for s in qbo.sent] == ["pay@example.com"]


@pytest.mark.parametrize("when", ["before", "after"])
def test_a_crash_during_send_never_sends_twice(us: World, qbo: Wire, when: str) -> None:
    assert run(us, "push", "INV-2026-0101").exit_code == 0
    qbo.crash["send"] = when
    crashed = run(us, "send", "INV-2026-0101")
    assert crashed.exit_code == 1
    assert [s[0] for s in sends(us, "INV-2026-0101")] == ["pending"]
    rerun = run(us, "send", "INV-2026-0101", "--json")
    assert rerun.exit_code == 0, rerun.stderr
    (result,) = json.loads(rerun.stdout)["results"]
    assert result["status"] == "sent"
    assert len(qbo.sent) == 1  # QuickBooks e-mailed the customer once
    if when == "after":
        assert result["message"] == "sent by an earlier, interrupted run (found in QuickBooks)"
    assert [s[0] for s in sends(us, "INV-2026-0101")] == ["done"]


def test_a_dropped_answer_is_resolved_by_reading_the_invoice(
    us: World, qbo: Wire, httpx_mock: HTTPXMock
) -> None:
    assert run(us, "push", "INV-2026-0106").exit_code == 0
    qbo.drop["send"] = 5  # every attempt's answer lost: the client gives up
    us.monkeypatch.setattr(
        "invoicesync.targets.quickbooks.api.documents.backoff", lambda *a: 0.0
    )  # no real waits
    result = run(us, "send", "INV-2026-0106", "--json")
    assert result.exit_code == 0, result.stderr
    (row,) = json.loads(result.stdout)["results"]
    assert (row["status"], row["to"]) == ("sent", "billing@northwind.example")
    assert len(qbo.sent) == 1
    attempts = qbo.requests_to(httpx_mock, r"/send")
    assert len(attempts) == 5
    assert len({params(r)["requestid"][0] for r in attempts}) == 1  # one requestid throughout


def test_send_refuses_unlinked_invoices_and_bad_addresses(us: World, qbo: Wire) -> None:
    result = run(us, "send", "INV-2026-0101")
    assert result.exit_code == 2
    assert "INV-2026-0101 is not linked to QuickBooks; push or link it first" in (result.stdout)
    bad = run(us, "send", "INV-2026-0101", "--to", "not an address")
    assert bad.exit_code == 2
    assert "--to 'not an address' is not an e-mail address" in bad.stderr
    assert qbo.sent == []


def test_invoices_and_status_show_what_was_sent(us: World, qbo: Wire) -> None:
    assert run(us, "push", "INV-2026-0101", "--send").exit_code == 0
    listed = {i["number"]: i for i in json.loads(run(us, "invoices", "--json").stdout)["invoices"]}
    assert listed["INV-2026-0101"]["sent_at"] == delivered(us, "INV-2026-0101")
    assert listed["INV-2026-0101"]["sent_to"] == "ap@acme-localization.example"
    assert listed["INV-2026-0102"]["sent_at"] is None
    status = json.loads(run(us, "status", "--json").stdout)
    assert (status["sent"], status["paid"]) == (1, 0)


def test_our_own_send_is_not_reported_as_an_edit_by_reconcile(us: World, qbo: Wire) -> None:
    assert run(us, "push", "INV-2026-0101", "INV-2026-0106", "--send").exit_code == 0
    states = {
        d["invoice"]: d["state"] for d in json.loads(run(us, "reconcile", "--json").stdout)["links"]
    }
    assert states == {"INV-2026-0101": "ok", "INV-2026-0106": "ok"}
    company = us.sandbox.company(US)
    invoice = company.entities["Invoice"][remote_id(us, "INV-2026-0106")]
    invoice["SyncToken"] = str(int(invoice["SyncToken"]) + 1)  # someone edits it afterwards
    assert run(us, "send", "INV-2026-0106", "--again").exit_code == 0
    links = json.loads(run(us, "reconcile", "--json").stdout)["links"]
    assert {d["invoice"]: d["state"] for d in links}["INV-2026-0106"] == "changed"


# --- send only the right documents --------------------------------------------------


def settle(world: World, number: str, how: str) -> str:
    """In QuickBooks meanwhile: the invoice is paid in full, voided or deleted."""
    company = world.sandbox.company(US)
    qid = remote_id(world, number)
    if how == "paid":
        company.record_payment(qid)
        return qid
    body = {"Id": qid, "SyncToken": company.entities["Invoice"][qid]["SyncToken"]}
    company.void(body) if how == "voided" else company.delete("Invoice", body)
    return qid


def lose_state(world: World) -> None:
    """Another machine, or a lost `state.db`: the app dir has no links and no journal."""
    for path in world.home.glob("state.db*"):
        path.unlink()


def test_push_send_on_a_lost_state_sends_only_what_this_run_created(us: World, qbo: Wire) -> None:
    ours = ["INV-2026-0101", "INV-2026-0102", "INV-2026-0106"]
    assert run(us, "push", *ours).exit_code == 0
    paid, voided = settle(us, "INV-2026-0101", "paid"), settle(us, "INV-2026-0106", "voided")
    adopted_ids = {paid, voided, remote_id(us, "INV-2026-0102")}
    lose_state(us)
    result = run(us, "push", "--all", "--send", "--json")
    assert result.exit_code == 0, result.stderr
    by = {r["invoice"]: r for r in json.loads(result.stdout)["results"]}
    assert {n: by[n]["status"] for n in ours} == dict.fromkeys(ours, "adopted")
    assert not adopted_ids & {s["TxnId"] for s in qbo.sent}  # none of them e-mailed
    created = {r["remote_id"] for r in by.values() if r["status"] == "created"}
    assert created and {s["TxnId"] for s in qbo.sent} <= created
    assert f"not sent: QuickBooks invoice {paid} is paid" in by["INV-2026-0101"]["message"]
    assert f"not sent: QuickBooks invoice {voided} is voided" in by["INV-2026-0106"]["message"]
    assert (
        "not sent: adopted, not created by this run; `invoicesync send INV-2026-0102` sends it"
        in by["INV-2026-0102"]["message"]
    )
    before = len(qbo.sent)
    unsent = run(us, "push", *ours, "--send-unsent", "--json")
    assert unsent.exit_code == 0, unsent.stderr
    assert len(qbo.sent) == before  # adopted: the journal does not say we created them


def test_push_send_unsent_sends_what_we_created_and_never_sent(us: World, qbo: Wire) -> None:
    numbers = ["INV-2026-0101", "INV-2026-0102", "INV-2026-0106"]
    assert run(us, "push", *numbers).exit_code == 0
    paid, voided = settle(us, "INV-2026-0101", "paid"), settle(us, "INV-2026-0106", "voided")
    plain = run(us, "push", *numbers, "--send")
    assert plain.exit_code == 0 and qbo.sent == []  # linked before: not this run's to send
    result = run(us, "push", *numbers, "--send-unsent", "--json")
    assert result.exit_code == 0, result.stderr
    by = {r["invoice"]: r["message"] for r in json.loads(result.stdout)["results"]}
    assert [s["TxnId"] for s in qbo.sent] == [remote_id(us, "INV-2026-0102")]
    assert "sent to accounts@obrien-partners.example" in by["INV-2026-0102"]
    assert f"not sent: QuickBooks invoice {paid} is paid" in by["INV-2026-0101"]
    assert f"not sent: QuickBooks invoice {voided} is voided" in by["INV-2026-0106"]
    again = run(us, "push", *numbers, "--send-unsent")
    assert again.exit_code == 0 and len(qbo.sent) == 1  # sent once


def test_send_refuses_voided_deleted_and_paid_invoices_after_one_read(
    us: World, qbo: Wire, httpx_mock: HTTPXMock
) -> None:
    numbers = ["INV-2026-0101", "INV-2026-0102", "INV-2026-0106"]
    assert run(us, "push", *numbers).exit_code == 0
    paid = settle(us, "INV-2026-0101", "paid")
    voided = settle(us, "INV-2026-0102", "voided")
    deleted = settle(us, "INV-2026-0106", "deleted")
    before = len(httpx_mock.get_requests())
    batch = run(us, "send", *numbers, "--json")
    assert batch.exit_code == 3, batch.stderr  # per-invoice refusals in a batch
    by = {r["invoice"]: r for r in json.loads(batch.stdout)["results"]}
    assert {r["status"] for r in by.values()} == {"failed"}
    assert by["INV-2026-0101"]["message"] == (
        f"QuickBooks invoice {paid} is paid; `invoicesync send INV-2026-0101 --paid` sends it "
        "anyway"
    )
    assert by["INV-2026-0102"]["message"] == (
        f"QuickBooks invoice {voided} is voided; a voided invoice is not sent"
    )
    assert by["INV-2026-0106"]["message"] == (
        f"QuickBooks invoice {deleted} no longer exists (deleted); `invoicesync reconcile` shows it"
    )
    assert qbo.sent == []
    api = [r for r in httpx_mock.get_requests()[before:] if "/v3/company/" in r.url.path]
    assert len(api) == 1 and "from Invoice where Id IN" in api[0].url.params["query"]
    lone = run(us, "send", "INV-2026-0102")
    assert lone.exit_code == 6 and "is voided" in lone.stdout
    assert run(us, "send", "INV-2026-0101").exit_code == 6
    forced = run(us, "send", "INV-2026-0101", "--paid")
    assert forced.exit_code == 0, forced.stdout
    assert [s["TxnId"] for s in qbo.sent] == [paid]
