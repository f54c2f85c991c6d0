"""Driving the sandbox with plain httpx, as a third-party script would (no invoicesync client)."""

from __future__ import annotations

import base64
import json
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from invoicesync.targets.quickbooks.sandbox import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    Sandbox,
    SandboxTransport,
)

US = "9130350000000001"
UK = "9130350000000002"
BASIC = (
    "Basic " + base64.b64encode(f"{DEFAULT_CLIENT_ID}:{DEFAULT_CLIENT_SECRET}".encode()).decode()
)


def authorize(http: httpx.Client, realm: str | None = None) -> dict[str, Any]:
    """Run the code flow against the sandbox (auto-approve) and return the token response."""
    r = http.get(
        "/connect/oauth2",
        params={
            "client_id": DEFAULT_CLIENT_ID,
            "response_type": "code",
            "scope": "com.intuit.quickbooks.accounting",
            "redirect_uri": "http://localhost:8765/callback",
            "state": "xyz",
        },
    )
    assert r.status_code == 302
    params = parse_qs(urlsplit(r.headers["location"]).query)
    assert params["state"] == ["xyz"]
    code = params["code"][0]
    if realm is not None:
        assert params["realmId"] == [realm]
    t = http.post(
        "/oauth2/v1/tokens/bearer",
        headers={"Authorization": BASIC, "Accept": "application/json"},
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": "http://localhost:8765/callback",
        },
    )
    assert t.status_code == 200, t.text
    return dict(t.json())


class Api:
    def __init__(self, sandbox: Sandbox, realm: str = US) -> None:
        self.sandbox = sandbox
        self.http = httpx.Client(transport=SandboxTransport(sandbox), base_url="http://qbo.test")
        self.tokens = authorize(self.http)
        self.realm = realm
        self.headers = {
            "Authorization": f"Bearer {self.tokens['access_token']}",
            "Accept": "application/json",
        }

    def url(self, path: str) -> str:
        return f"/v3/company/{self.realm}/{path}"

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.http.get(self.url(path), params=params, headers=self.headers)

    def post(self, path: str, body: Any, **params: Any) -> httpx.Response:
        return self.http.post(
            self.url(path),
            params=params,
            headers=self.headers,
            content=json.dumps(body),
        )

    def query(self, q: str) -> httpx.Response:
        return self.get("query", query=q, minorversion=75)

    def rows(self, q: str, entity: str) -> list[dict[str, Any]]:
        r = self.query(q)
        assert r.status_code == 200, r.text
        return list(r.json()["QueryResponse"].get(entity, []))


def fault(r: httpx.Response) -> dict[str, Any]:
    body = r.json()
    return dict(body["Fault"]["Error"][0])


def line(item: str = "1", qty: str = "10", price: str = "2.50", **extra: Any) -> dict[str, Any]:
    detail: dict[str, Any] = {"ItemRef": {"value": item}, "Qty": Decimal(qty)}
    detail["UnitPrice"] = Decimal(price)
    detail.update(extra)
    return {
        "DetailType": "SalesItemLineDetail",
        "Amount": str((Decimal(qty) * Decimal(price)).quantize(Decimal("0.01"))),
        "SalesItemLineDetail": {
            k: str(v) if isinstance(v, Decimal) else v for k, v in detail.items()
        },
    }


def invoice(customer: str = "1", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"CustomerRef": {"value": customer}, "Line": [line()]}
    body.update(extra)
    return body
