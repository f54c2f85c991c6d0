"""The B2BRouter sandbox served on 127.0.0.1, as `sandbox serve --target b2brouter` will."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import httpx
import pytest

from invoicesync.targets.b2brouter.api import B2BRouterClient
from invoicesync.targets.b2brouter.api import errors as berr
from invoicesync.targets.b2brouter.sandbox import B2BRouterSandbox, B2BRouterServer, start_in_thread
from tests.b2brouter.conftest import ES_KEY
from tests.b2brouter.test_client import draft


@pytest.fixture
def server() -> Iterator[B2BRouterServer]:
    srv = start_in_thread(B2BRouterSandbox())
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()


@pytest.mark.loopback
def test_push_deliver_and_payment_over_loopback(server: B2BRouterServer) -> None:
    assert server.url.startswith("http://127.0.0.1:") and server.sandbox.base_url == server.url
    with B2BRouterClient(ES_KEY, "211", base_url=server.url, timeout=5) as client:
        inv = client.create_invoice(draft(), send=True)
        assert inv.state == "sending"
        admin = httpx.Client(base_url=server.url, timeout=5)
        assert admin.post("/_sandbox/deliver").json()["sent"] == [inv.id]
        r = admin.post(
            f"/_sandbox/invoices/{inv.id}/state", json={"state": "paid", "paid_date": "2026-06-01"}
        )
        assert r.status_code == 200
        [payment] = [p for p in client.payments() if p.invoice_id == inv.id]
        assert (payment.date, str(payment.amount)) == (dt.date(2026, 6, 1), "84.70")
        dump = admin.get("/_sandbox/accounts/211").json()
        assert [i["state"] for i in dump["invoices"]] == ["sent", "paid"]
        assert ES_KEY not in admin.get("/_sandbox/requests").text


@pytest.mark.loopback
def test_connection_dropped_after_commit_over_loopback(server: B2BRouterServer) -> None:
    httpx.post(f"{server.url}/_sandbox/faults", json={"drop_next_writes": 1}, timeout=5)
    with B2BRouterClient(ES_KEY, "211", base_url=server.url, timeout=5) as client:
        with pytest.raises(berr.B2BRouterConnectionError) as exc:
            client.create_invoice(draft())
        assert exc.value.uncertain
        [found] = client.find_by_number("INV-9")
        assert found.total == client.get_invoice(found.id).total


@pytest.mark.loopback
def test_default_connection_opens_the_first_account(server: B2BRouterServer) -> None:
    key, account = server.sandbox.default_connection()
    assert (key, account) == (ES_KEY, "211")
    with B2BRouterClient(key, account, base_url=server.url, timeout=5) as client:
        assert client.get_account().name == "Traducciones Babel S.L."
    fr_only = B2BRouterSandbox(["fr"])
    assert fr_only.default_connection() == ("local_fr_live_key", "212")
