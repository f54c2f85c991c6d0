"""QBOClient against the sandbox: the operations that no command path exercises end to end."""

from __future__ import annotations

from collections.abc import Generator

import httpx
import pytest

from invoicesync.targets.quickbooks.api import errors as qerr
from invoicesync.targets.quickbooks.api.client import Limits, QBOClient, RateLimiter
from invoicesync.targets.quickbooks.sandbox import DEFAULT_CLIENT_ID, Sandbox, SandboxTransport

US = "9130350000000001"


class Bearer(httpx.Auth):
    def __init__(self, token: str) -> None:
        self.token = token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response]:
        request.headers["Authorization"] = f"Bearer {self.token}"
        yield request


@pytest.fixture
def client() -> QBOClient:
    sandbox = Sandbox(["us"])
    grant = sandbox.oauth.issue_grant(DEFAULT_CLIENT_ID, US)
    http = httpx.Client(transport=SandboxTransport(sandbox), base_url="http://qbo.test")
    token = http.post(
        "/oauth2/v1/tokens/bearer",
        auth=("local-client-id", "local-client-secret"),
        data={"grant_type": "refresh_token", "refresh_token": grant.refresh_token},
    ).json()
    return QBOClient(
        base_url="http://qbo.test",
        realm_id=US,
        auth=Bearer(token["access_token"]),
        transport=SandboxTransport(sandbox),
        limiter=RateLimiter(Limits.off()),
    )


def invoice(doc: str) -> dict[str, object]:
    return {
        "CustomerRef": {"value": "1"},
        "DocNumber": doc,
        "Line": [
            {
                "DetailType": "SalesItemLineDetail",
                "Amount": 10,
                "SalesItemLineDetail": {"ItemRef": {"value": "1"}, "Qty": 1, "UnitPrice": 10},
            }
        ],
    }


def test_paging_past_one_thousand_rows(client: QBOClient) -> None:
    for start in range(0, 1200, 30):
        items = [
            {"bId": str(i), "operation": "create", "Invoice": invoice(f"P-{start + i}")}
            for i in range(30)
        ]
        client.batch(items, requestid=f"page-{start}")
    assert len(client.query("select * from Invoice")) == 1201
    long_in = client.query(
        "select * from Invoice where DocNumber IN ("
        + ", ".join(f"'P-{i}'" for i in range(400))
        + ")"
    )
    assert len(long_in) == 400  # sent as a POST body
    assert client.stats.requests["query"] >= 3


def test_sparse_update_and_company_reads(client: QBOClient) -> None:
    created = client.create("Invoice", invoice("V-1"), requestid="v-1")
    updated = client.sparse_update(
        "Invoice", created["Id"], {"PrivateNote": "hi"}, requestid="u", sync_token="0"
    )
    assert updated["SyncToken"] == "1"
    assert client.read("Invoice", created["Id"])["PrivateNote"] == "hi"
    with pytest.raises(qerr.DuplicateDocNumber):
        client.create("Invoice", invoice("V-1"), requestid="v-2")
    assert client.preferences()["SalesFormsPrefs"]["CustomTxnNumbers"] is True
    assert client.company_info()["Country"] == "US"
