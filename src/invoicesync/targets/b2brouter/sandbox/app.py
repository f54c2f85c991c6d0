"""The sandbox service: authentication, API version, routing, faults, admin hooks, request log.

`B2BRouterSandbox.handle()` takes a plain `Request` and returns a `Response`, or `DROP` (the
connection is cut after the work committed). `B2BRouterTransport` serves it in-process to httpx;
`server.start_in_thread()` serves it on loopback. Nothing here imports from the rest of
invoicesync: tests against it check our client against B2BRouter's documentation, not against
itself. That is why this file has its own exact-decimal JSON encoder.

Implements, for API version 2026-04-20 (2025-10-13 and 2026-03-02 accepted), the endpoints of
https://developer.b2brouter.net/reference/ as used by the official PHP SDK
(B2Brouter/b2brouter-php, lib/B2BRouter/Service/*.php):
GET /accounts/{account}; GET|POST /accounts/{account}/contacts; GET|PUT|DELETE /contacts/{id};
GET|POST /accounts/{account}/invoices; GET|PUT|DELETE /invoices/{id};
POST /invoices/send_invoice/{id}; POST /invoices/{id}/mark_as; GET /invoices/{id}/validate;
GET /invoices/{id}/as/{document type}; GET /tax_reports/{id} (delivery.py).
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from invoicesync.targets.b2brouter.sandbox import rules
from invoicesync.targets.b2brouter.sandbox.admin import Faults, admin
from invoicesync.targets.b2brouter.sandbox.model import (
    API_VERSIONS,
    ApiError,
    ApiKey,
    builtin_seed,
    load_seed,
    not_found,
)
from invoicesync.targets.b2brouter.sandbox.network import Network

WRITE_METHODS = frozenset({"POST", "PUT", "DELETE"})


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes = b""


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


DROP = Response(status=-1)


@dataclass
class Document:
    """A non-JSON answer: the bytes of a legal document."""

    body: bytes
    content_type: str


@dataclass
class LogEntry:
    method: str
    path: str
    query: dict[str, str]
    status: int
    api_version: str | None
    kind: str  # api, admin
    dropped: bool = False
    body: str = ""


class _Encoder(json.JSONEncoder):
    def default(self, o: Any) -> Any:
        if isinstance(o, Decimal):
            return {"__decimal__": format(o, "f")}
        return super().default(o)


_DECIMAL = re.compile(r'\{"__decimal__": "(-?[0-9.]+)"\}')


def dumps(data: Any) -> bytes:
    """JSON with amounts as exact JSON numbers, never through float."""
    return _DECIMAL.sub(r"\1", json.dumps(data, cls=_Encoder, ensure_ascii=False)).encode()


def json_response(status: int, payload: Any, request_id: str | None = None) -> Response:
    headers = {"content-type": "application/json; charset=utf-8"}
    if request_id:
        headers["x-b2b-api-request-id"] = request_id  # the header name since API 2026-03-02
    return Response(status, dumps(payload), headers)


def seed_path(spec: Path | str) -> Path:
    if isinstance(spec, str) and "/" not in spec and not spec.endswith(".toml"):
        return builtin_seed(spec)
    return Path(spec)


class B2BRouterSandbox:
    """A local B2BRouter: accounts from seed files, keys, contacts, invoices, faults, a log."""

    def __init__(
        self,
        accounts: Sequence[Path | str] = ("es", "fr"),
        *,
        faults: Faults | None = None,
        base_url: str = "http://localhost",
    ) -> None:
        self.lock = threading.RLock()
        self.network = Network(lambda: datetime.now(UTC))
        for spec in accounts:
            self.network.add_seed(load_seed(seed_path(spec)))
        self.faults = faults or Faults()
        self._rng = random.Random(self.faults.seed)
        self.base_url = base_url
        self.requests: list[LogEntry] = []

    def set_faults(self, faults: Faults) -> None:
        with self.lock:
            self.faults = faults
            self._rng = random.Random(faults.seed)

    # --- entry point ----------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        path = request.path.rstrip("/") or "/"
        entry = LogEntry(
            request.method,
            path,
            dict(request.query),
            0,
            request.headers.get("x-b2b-api-version"),
            "admin" if path.startswith("/_sandbox/") else "api",
            body=request.body.decode("utf-8", "replace")[:4000],
        )
        if entry.kind == "admin":
            with self.lock:
                status, payload = admin(self, request.method, path, request.body)
            response = json_response(status, payload)
        else:
            if self.faults.latency_ms > 0:
                time.sleep(self.faults.latency_ms / 1000.0)
            response = self._api(request, path, entry)
        entry.status = response.status
        with self.lock:
            self.requests.append(entry)
        return response

    def _api(self, request: Request, path: str, entry: LogEntry) -> Response:
        request_id = str(uuid.uuid4())
        try:
            key, version = self._authenticate(request.headers)
            with self.lock:
                injected = self._injected_fault(request_id)
                if injected is not None:
                    return injected
                status, payload = self._route(request, path, key, version)
                drop = request.method in WRITE_METHODS and status < 400 and self._drop_now()
        except ApiError as exc:
            return json_response(exc.status, exc.body(), request_id)
        if drop:
            entry.dropped = True
            return DROP
        if isinstance(payload, Document):
            headers = {"content-type": payload.content_type, "x-b2b-api-request-id": request_id}
            return Response(status, payload.body, headers)
        return json_response(status, payload, request_id)

    def _authenticate(self, headers: dict[str, str]) -> tuple[ApiKey, str]:
        """X-B2B-API-Key, then X-B2B-API-Version (error-codes page: missing_api_key,
        invalid_api_key, expired_api_key, no_account_group, invalid_api_version,
        missing_api_version, api_version_subdomain_mismatch)."""
        raw = headers.get("x-b2b-api-key", "").strip()
        if not raw:
            raise ApiError(401, "missing_api_key", "No API key provided in X-B2B-API-Key")
        key = self.network.keys.get(raw)
        if key is None:
            raise ApiError(401, "invalid_api_key", "Invalid API Key provided")
        if key.expired:
            raise ApiError(401, "expired_api_key", "The API key has expired")
        if not key.accounts:
            raise ApiError(403, "no_account_group", "The API key has no group or permissions")
        version = headers.get("x-b2b-api-version", "").strip() or key.api_version
        if version is None:
            raise ApiError(400, "missing_api_version", "API Version is not specified")
        if version == "2025-01-01":
            raise ApiError(
                400, "api_version_subdomain_mismatch", "Use app.b2brouter.net for 2025-01-01"
            )
        if version not in API_VERSIONS:
            raise ApiError(400, "invalid_api_version", f"API Version {version} is not supported")
        return key, version

    def _injected_fault(self, request_id: str) -> Response | None:
        f = self.faults
        if f.throttle_next > 0:
            f.throttle_next -= 1
            body = {"error": {"code": None, "message": "Rate limit exceeded", "type": "rate_limit"}}
            response = json_response(429, body, request_id)
            response.headers["retry-after"] = "1"  # UNVERIFIED: B2BRouter's 429 headers
            return response
        if f.error_next > 0 or (f.error_rate and self._rng.random() < f.error_rate):
            f.error_next = max(0, f.error_next - 1)
            status = self._rng.choice([500, 502, 503])
            error = ApiError(status, "internal_server_error", "injected fault")
            return json_response(status, error.body(), request_id)
        return None

    def _drop_now(self) -> bool:
        f = self.faults
        if f.drop_next_writes > 0:
            f.drop_next_writes -= 1
            return True
        return bool(f.drop_rate) and self._rng.random() < f.drop_rate

    # --- routing --------------------------------------------------------------------------------

    def _route(self, request: Request, path: str, key: ApiKey, version: str) -> tuple[int, Any]:
        net, m, q = self.network, request.method, request.query
        parts = path.strip("/").split("/")
        body = rules.json_body(request.body) if m in {"POST", "PUT"} else {}
        if parts[0] == "accounts" and len(parts) in {2, 3}:
            account = net.account_for(key, parts[1])
            if len(parts) == 2 and m == "GET":
                return 200, {"account": account.to_json()}
            if parts[2] == "contacts" and m == "GET":
                page, meta = net.page(net.list_contacts(account, q), q)
                return 200, {"contacts": [c.to_json() for c in page], "meta": meta}
            if parts[2] == "contacts" and m == "POST":
                return 201, {"contact": net.create_contact(account, body).to_json()}
            if parts[2] == "invoices" and m == "GET":
                page, meta = net.page(net.list_invoices(account, q), q)
                return 200, {"invoices": [net.invoice_json(i) for i in page], "meta": meta}
            if parts[2] == "invoices" and m == "POST":
                invoice = net.create_invoice(account, body, version)
                return 201, {"invoice": net.invoice_json(invoice)}
        if parts[0] == "contacts" and len(parts) == 2:
            contact = net.contact_for(key, parts[1])
            if m == "GET":
                return 200, {"contact": contact.to_json()}
            if m == "PUT":
                return 200, {"contact": net.update_contact(contact, body).to_json()}
            if m == "DELETE":
                return 200, {"contact": net.delete_contact(contact).to_json()}
        if (
            parts[0] == "invoices"
            and len(parts) == 3
            and parts[1] == "send_invoice"
            and m == "POST"
        ):
            invoice = net.send(net.invoice_for(key, parts[2]))
            return 200, {"invoice": net.invoice_json(invoice)}
        if parts[0] == "invoices" and len(parts) >= 3 and m == "GET":
            return self._after_push(parts, key)
        if parts[0] == "tax_reports" and len(parts) == 2 and m == "GET":
            report = net.deliveries.report_for(key.accounts, parts[1])
            return 200, {"tax_report": report.to_json()}
        if parts[0] == "invoices" and len(parts) == 3 and parts[2] == "mark_as" and m == "POST":
            invoice = net.mark_as(net.invoice_for(key, parts[1]), body)
            return 200, {"invoice": net.invoice_json(invoice)}
        if parts[0] == "invoices" and len(parts) == 2:
            invoice = net.invoice_for(key, parts[1])
            if m == "GET":
                return 200, {"invoice": net.invoice_json(invoice)}
            if m == "PUT":
                return 200, {"invoice": net.invoice_json(net.update_invoice(invoice, body))}
            if m == "DELETE":
                doc = net.invoice_json(invoice)
                net.delete_invoice(invoice)
                return 200, {"invoice": doc}
        raise not_found(f"{m} {path}")

    def _after_push(self, parts: list[str], key: ApiKey) -> tuple[int, Any]:
        """GET /invoices/{id}/validate and GET /invoices/{id}/as/{document type}."""
        net = self.network
        invoice = net.invoice_for(key, parts[1])
        contact = net.contacts[invoice.contact_id]
        if len(parts) == 3 and parts[2] == "validate":
            return 200, net.deliveries.validation(contact)
        if len(parts) == 4 and parts[2] == "as":
            body, content_type = net.deliveries.document(invoice, contact, parts[3])
            return 200, Document(body, content_type)
        raise not_found("/".join(parts))

    def default_connection(self) -> tuple[str, str]:
        """(API key, account id) that open the first seeded account: what `sandbox serve`
        prints so a script can connect with nothing else."""
        with self.lock:
            first = next(iter(self.network.accounts))
            for key in self.network.keys.values():
                if first in key.accounts and not key.expired:
                    return key.key, str(first)
        raise ValueError(f"no usable API key opens account {first}")

    def log(self) -> list[dict[str, Any]]:
        with self.lock:
            return [asdict(e) for e in self.requests]


class B2BRouterTransport(httpx.BaseTransport):
    """Serve a sandbox to an httpx client in-process: no sockets, the same bytes."""

    def __init__(self, sandbox: B2BRouterSandbox) -> None:
        self.sandbox = sandbox

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        req = Request(
            method=request.method,
            path=request.url.path,
            query=dict(request.url.params.multi_items()),
            headers={k.lower(): v for k, v in request.headers.items()},
            body=request.read(),
        )
        response = self.sandbox.handle(req)
        if response is DROP:
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            )
        return httpx.Response(
            response.status, headers=response.headers, content=response.body, request=request
        )
