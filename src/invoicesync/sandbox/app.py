"""The sandbox service: routing, envelopes, authentication, limits, faults and replay.

`Sandbox.handle()` takes a plain `Request` and returns a `Response` (or `DROP`, meaning the
connection is cut after the work was committed). `SandboxTransport` serves it in-process to
httpx; `server.serve()` serves it on loopback. Nothing here imports from the rest of
invoicesync: the sandbox is an independent implementation of the service, so tests against it
check our client against the specification, not against itself.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

import httpx

from invoicesync.sandbox import query as qlang
from invoicesync.sandbox.company import (
    ENTITY_NAMES,
    PACIFIC,
    WRITABLE,
    Company,
    Fault,
    builtin_company,
    load_seed,
)
from invoicesync.sandbox.oauth import OAuthError, OAuthServer

DEFAULT_CLIENT_ID = "local-client-id"
DEFAULT_CLIENT_SECRET = "local-client-secret"
REQUESTID_MAX = 50
BATCH_REQUESTID_MAX = 36
BATCH_MAX_ITEMS = 30


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
class Limits:
    """QBO's published per-realm limits (quickbooks-api.md §7); `enabled=False` turns all off."""

    enabled: bool = True
    concurrent: int = 10
    per_second: int = 10
    per_minute: int = 500
    batch_per_minute: int = 40
    xml_rate: float = 0.0  # share of 429s served as XML, as the real gateway sometimes does


@dataclass
class Faults:
    """Injected misbehaviour. Latency is real time; rates are per request, from a seeded RNG."""

    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    error_rate: float = 0.0  # 500/503 before doing any work
    error_next: int = 0  # the next N API requests get a 500/503 (deterministic)
    drop_rate: float = 0.0  # cut the connection after a write committed
    drop_next_writes: int = 0
    drop_requestids: set[str] = field(default_factory=set)
    slow_rate: float = 0.0  # answer `slow_ms` late, after the work committed (client timeouts)
    slow_ms: float = 0.0
    seed: int = 0


@dataclass
class LogEntry:
    method: str
    path: str
    query: dict[str, str]
    status: int
    realm_id: str | None
    requestid: str | None
    kind: str  # api, query, batch, cdc, oauth, admin
    dropped: bool = False
    throttled: bool = False
    body: str = ""


class _JSONEncoder(json.JSONEncoder):
    def default(self, o: Any) -> Any:
        if isinstance(o, Decimal):
            return {"__decimal__": str(o)}
        return super().default(o)


_DECIMAL_MARK = re.compile(r'\{"__decimal__": "(-?[0-9.]+)"\}')


def dumps(data: Any) -> bytes:
    """JSON with exact decimal numbers (QBO sends amounts as JSON numbers)."""
    text = json.dumps(data, cls=_JSONEncoder, ensure_ascii=False)
    return _DECIMAL_MARK.sub(r"\1", text).encode("utf-8")


def _xml_throttle() -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<IntuitResponse xmlns="http://schema.intuit.com/finance/v3" time="'
        + datetime.now(PACIFIC).isoformat()
        + '"><Fault type="SERVICE"><Error code="3001" element="">'
        "<Message>message=ThrottleExceeded; errorCode=003001; statusCode=429</Message>"
        "<Detail>The request limit was reached.  Try again later</Detail>"
        "</Error></Fault></IntuitResponse>"
    ).encode()


class Sandbox:
    """A local QuickBooks Online: companies, OAuth server, limits, faults and a request log."""

    def __init__(
        self,
        companies: Sequence[Path | str] | None = None,
        *,
        clients: Mapping[str, str] | None = None,
        time_scale: float = 1.0,
        limits: Limits | None = None,
        faults: Faults | None = None,
        auto_approve: bool = False,
        rotation_grace: float = 86_400.0,
        base_url: str = "http://localhost",
    ) -> None:
        self._t0_real = time.monotonic()
        self._t0_wall = time.time()
        self.time_scale = time_scale
        self.lock = threading.RLock()
        self.companies: dict[str, Company] = {}
        for spec in companies or ["us"]:
            path = (
                builtin_company(spec)
                if isinstance(spec, str)
                and "/" not in spec
                and not (spec.endswith((".toml", ".json")))
                else Path(spec)
            )
            self.add_company(load_seed(path))
        self.oauth = OAuthServer(
            dict(clients or {DEFAULT_CLIENT_ID: DEFAULT_CLIENT_SECRET}),
            self.clock,
            rotation_grace=rotation_grace,
        )
        self.limits = limits or Limits(enabled=False)
        self.faults = faults or Faults()
        self._rng = random.Random(self.faults.seed)
        self.auto_approve = auto_approve
        self.base_url = base_url
        self.requests: list[LogEntry] = []
        self._replay: dict[tuple[str, str], Response] = {}
        self._inflight: dict[str, int] = {}
        self._windows: dict[tuple[str, str], deque[float]] = {}

    # --- time -------------------------------------------------------------------------------

    def clock(self) -> float:
        """Sandbox seconds since the epoch: real time sped up by `time_scale`."""
        return self._t0_wall + (time.monotonic() - self._t0_real) * self.time_scale

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    def add_company(self, seed: Mapping[str, Any]) -> Company:
        company = Company(seed, self.now)
        self.companies[company.realm_id] = company
        return company

    def company(self, realm_id: str | None = None) -> Company:
        if realm_id is None:
            return next(iter(self.companies.values()))
        return self.companies[realm_id]

    def set_faults(self, faults: Faults) -> None:
        with self.lock:
            self.faults = faults
            self._rng = random.Random(faults.seed)

    # --- entry point ------------------------------------------------------------------------

    def _latency(self) -> None:
        delay = self.faults.latency_ms
        if self.faults.jitter_ms:
            with self.lock:
                delay += self._rng.uniform(-self.faults.jitter_ms, self.faults.jitter_ms)
        if delay > 0:
            time.sleep(delay / 1000.0)

    def handle(self, request: Request) -> Response:
        path = request.path.rstrip("/") or "/"
        if path.startswith("/v3/company/"):
            return self._api(request, path)
        self._latency()
        try:
            response, kind = self._non_api(request, path)
        except OAuthError as exc:
            response = Response(
                exc.status,
                dumps({"error": exc.error, "error_description": exc.description}),
                {"content-type": "application/json"},
            )
            kind = "oauth"
        response.headers.setdefault("intuit_tid", str(uuid.uuid4()))
        with self.lock:
            self.requests.append(
                LogEntry(
                    request.method, path, dict(request.query), response.status, None, None, kind
                )
            )
        return response

    # --- OAuth, discovery, admin ------------------------------------------------------------

    def _non_api(self, request: Request, path: str) -> tuple[Response, str]:
        m = request.method
        if path in {"/.well-known/openid_configuration", "/.well-known/openid-configuration"}:
            return self._json(200, self.oauth.discovery(self.base_url)), "oauth"
        if path == "/connect/oauth2" and m == "GET":
            return self._authorize(request.query), "oauth"
        if path == "/connect/oauth2/decide" and m == "POST":
            form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
            return self._decide(form), "oauth"
        if path == "/oauth2/v1/tokens/bearer" and m == "POST":
            with self.lock:
                payload, _ = self.oauth.token(request.headers, request.body)
            return self._json(200, payload), "oauth"
        if path == "/v2/oauth2/tokens/revoke" and m == "POST":
            try:
                token = str(json.loads(request.body or b"{}").get("token", ""))
            except (ValueError, AttributeError):
                raise OAuthError(400, "invalid_request", "body must be JSON") from None
            with self.lock:
                self.oauth.revoke(request.headers, token)
            return Response(200), "oauth"
        if path.startswith("/_sandbox/"):
            return self._admin(request, path), "admin"
        return self._json(404, {"error": "not_found", "error_description": path}), "other"

    def _json(self, status: int, payload: Any) -> Response:
        return Response(status, dumps(payload), {"content-type": "application/json"})

    def _authorize(self, params: dict[str, str]) -> Response:
        try:
            self.oauth.check_authorize(params)
        except OAuthError as exc:
            return Response(
                exc.status,
                f"<h1>Error</h1><p>{escape(exc.description)}</p>".encode(),
                {"content-type": "text/html; charset=utf-8"},
            )
        if self.auto_approve:
            return self._decide({**params, "realm_id": self.company().realm_id, "approve": "1"})
        hidden = "".join(
            f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">'
            for k, v in params.items()
            if k in {"client_id", "redirect_uri", "state", "scope"}
        )
        choices = "".join(
            f'<label><input type="radio" name="realm_id" value="{escape(c.realm_id)}"'
            f"{' checked' if i == 0 else ''}> {escape(c.name)} ({escape(c.realm_id)})</label><br>"
            for i, c in enumerate(self.companies.values())
        )
        page = (
            "<!doctype html><html><head><meta charset='utf-8'><title>Connect to QuickBooks "
            "(local sandbox)</title></head><body><h1>invoicesync local sandbox</h1>"
            "<p>An app wants to connect to one of these sandbox companies:</p>"
            f"<form method='post' action='/connect/oauth2/decide'>{hidden}{choices}"
            "<button name='approve' value='1'>Connect</button> "
            "<button name='deny' value='1'>Cancel</button></form></body></html>"
        )
        return Response(200, page.encode(), {"content-type": "text/html; charset=utf-8"})

    def _decide(self, form: dict[str, str]) -> Response:
        redirect = form.get("redirect_uri", "")
        params: dict[str, str] = {}
        if form.get("approve") and form.get("realm_id") in self.companies:
            with self.lock:
                params["code"] = self.oauth.issue_code(
                    form.get("client_id", ""), form["realm_id"], redirect
                )
            params["state"] = form.get("state", "")
            params["realmId"] = form["realm_id"]
        else:
            params = {"error": "access_denied", "state": form.get("state", "")}
        sep = "&" if "?" in redirect else "?"
        return Response(302, b"", {"location": f"{redirect}{sep}{urlencode(params)}"})

    def _admin(self, request: Request, path: str) -> Response:
        """Unauthenticated helpers for tests and users' scripts (loopback only)."""
        parts = path.split("/")[2:]
        with self.lock:
            if parts == ["requests"]:
                return self._json(200, [e.__dict__ for e in self.requests])
            if parts == ["faults"] and request.method == "POST":
                spec = json.loads(request.body or b"{}")
                spec["drop_requestids"] = set(spec.get("drop_requestids", []))
                self.set_faults(Faults(**spec))
                return self._json(200, {"ok": True})
            if parts == ["expire-access-tokens"] and request.method == "POST":
                self.oauth.expire_access_tokens()
                return self._json(200, {"ok": True})
            if len(parts) >= 2 and parts[0] == "realms" and parts[1] in self.companies:
                company = self.companies[parts[1]]
                if parts[2:] == ["state"]:
                    return Response(200, dumps(company.entities), {})
                if len(parts) == 5 and parts[2] == "invoices" and parts[4] == "pay":
                    return self._json(200, company.record_payment(parts[3]))
                if parts[2:] == ["preferences"] and request.method == "POST":
                    prefs = json.loads(request.body or b"{}")
                    if "custom_txn_numbers" in prefs:
                        company.custom_txn_numbers = bool(prefs["custom_txn_numbers"])
                    if "multicurrency" in prefs:
                        company.multicurrency = bool(prefs["multicurrency"])
                    return self._json(200, {"ok": True})
        return self._json(404, {"error": "not_found"})

    # --- the Accounting API -----------------------------------------------------------------

    def _api(self, request: Request, path: str) -> Response:
        parts = path.split("/")[2:]  # ["company", realm, entity, ...]
        realm = parts[1] if len(parts) > 1 else ""
        requestid = request.query.get("requestid")
        kind = parts[2] if len(parts) > 2 else ""
        entry = LogEntry(
            request.method,
            path,
            dict(request.query),
            0,
            realm,
            requestid,
            kind="query" if kind == "query" else kind or "api",
            body=request.body.decode("utf-8", "replace")[:4000],
        )
        try:
            response = self._api_guarded(request, parts, realm, requestid, entry)
        finally:
            with self.lock:
                self.requests.append(entry)
        return response

    def _api_guarded(
        self,
        request: Request,
        parts: list[str],
        realm: str,
        requestid: str | None,
        entry: LogEntry,
    ) -> Response:
        tid = str(uuid.uuid4())
        auth = request.headers.get("authorization", "")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
        with self.lock:
            grant = self.oauth.authenticate(token)
        if grant is None:
            entry.status = 401
            return self._gateway_fault(
                401,
                "3200",
                "AUTHENTICATION",
                "message=AuthenticationFailed; errorCode=003200; statusCode=401",
                "Token expired or invalid",
                tid,
            )
        if grant.realm_id != realm or realm not in self.companies:
            entry.status = 403
            return self._gateway_fault(
                403,
                "3100",
                "SERVICE",
                "message=AuthorizationFailed; errorCode=003100; statusCode=403",
                None,
                tid,
            )
        is_batch = len(parts) > 2 and parts[2] == "batch"
        throttled = self._admit(realm, is_batch)
        if throttled is not None:
            entry.status, entry.throttled = 429, True
            throttled.headers["intuit_tid"] = tid
            return throttled
        try:
            self._latency()  # inside the admitted window: slow requests count as concurrent
            with self.lock:
                if self.faults.error_next > 0 or (
                    self.faults.error_rate and self._rng.random() < self.faults.error_rate
                ):
                    self.faults.error_next = max(0, self.faults.error_next - 1)
                    status = self._rng.choice([500, 503])
                    entry.status = status
                    return self._fault_response(
                        Fault(
                            "10000",
                            "An application error has occurred while processing your request",
                            "System Failure Error: injected fault",
                            status=status,
                            fault_type="SystemFault",
                        ),
                        tid,
                    )
                if requestid is not None:
                    limit = BATCH_REQUESTID_MAX if is_batch else REQUESTID_MAX
                    if len(requestid) > limit:
                        entry.status = 400
                        return self._fault_response(
                            Fault(
                                "2010",
                                "Request has invalid or unsupported property",
                                f"requestid exceeds {limit} characters",
                            ),
                            tid,
                        )
                    cached = self._replay.get((realm, requestid))
                    if cached is not None:
                        entry.status = cached.status
                        return Response(
                            cached.status, cached.body, {**cached.headers, "intuit_tid": tid}
                        )
                response, wrote = self._dispatch(request, parts, self.companies[realm])
                response.headers["intuit_tid"] = tid
                response.headers.setdefault("content-type", "application/json;charset=UTF-8")
                if requestid is not None:
                    self._replay[(realm, requestid)] = response
                entry.status = response.status
                if wrote and response.status == 200 and self._should_drop(requestid):
                    entry.dropped = True
                    return DROP
                slow = self.faults.slow_rate and self._rng.random() < self.faults.slow_rate
            if slow:
                time.sleep(self.faults.slow_ms / 1000.0)
            return response
        finally:
            with self.lock:
                self._inflight[realm] -= 1

    def _should_drop(self, requestid: str | None) -> bool:
        f = self.faults
        if requestid is not None and requestid in f.drop_requestids:
            f.drop_requestids.discard(requestid)
            return True
        if f.drop_next_writes > 0:
            f.drop_next_writes -= 1
            return True
        return bool(f.drop_rate) and self._rng.random() < f.drop_rate

    def _admit(self, realm: str, is_batch: bool) -> Response | None:
        """Count the request against the realm's limits; a 429 response if over any of them."""
        with self.lock:
            self._inflight[realm] = self._inflight.get(realm, 0) + 1
            lim = self.limits
            if not lim.enabled:
                return None
            now = self.clock()
            windows = [("second", 1.0, lim.per_second), ("minute", 60.0, lim.per_minute)]
            if is_batch:
                windows.append(("batch", 60.0, lim.batch_per_minute))
            over = self._inflight[realm] > lim.concurrent
            for name, span, cap in windows:
                q = self._windows.setdefault((realm, name), deque())
                while q and q[0] <= now - span:
                    q.popleft()
                over = over or len(q) >= cap
            if over:
                self._inflight[realm] -= 1
                if lim.xml_rate and self._rng.random() < lim.xml_rate:
                    return Response(429, _xml_throttle(), {"content-type": "application/xml"})
                return Response(
                    429,
                    dumps(
                        Fault(
                            "3001",
                            "message=ThrottleExceeded; errorCode=003001; statusCode=429",
                            "The request limit was reached.  Try again later",
                            status=429,
                            fault_type="SERVICE",
                        ).body()
                        | {"time": self._time()}
                    ),
                    {"content-type": "application/json"},
                )
            for name, _, _ in windows:
                self._windows[(realm, name)].append(now)
            return None

    def _time(self) -> str:
        return self.now().astimezone(PACIFIC).isoformat(timespec="milliseconds")

    def _gateway_fault(
        self, status: int, code: str, ftype: str, message: str, detail: str | None, tid: str
    ) -> Response:
        body: dict[str, Any] = {
            "warnings": None,
            "intuitObject": None,
            "fault": {
                "error": [{"message": message, "detail": detail, "code": code, "element": None}],
                "type": ftype,
            },
            "report": None,
            "queryResponse": None,
            "batchItemResponse": [],
            "attachableResponse": [],
            "syncErrorResponse": None,
            "requestId": None,
            "time": int(self.clock() * 1000),
            "status": None,
            "cdcresponse": [],
        }
        return Response(
            status, dumps(body), {"content-type": "application/json", "intuit_tid": tid}
        )

    def _fault_response(self, fault: Fault, tid: str) -> Response:
        return Response(
            fault.status,
            dumps(fault.body() | {"time": self._time()}),
            {"content-type": "application/json;charset=UTF-8", "intuit_tid": tid},
        )

    def _envelope(self, payload: dict[str, Any]) -> Response:
        return Response(200, dumps(payload | {"time": self._time()}), {})

    def _dispatch(
        self, request: Request, parts: list[str], company: Company
    ) -> tuple[Response, bool]:
        """Run one API call; returns (response, whether it changed state)."""
        tid = ""
        try:
            entity_path = parts[2] if len(parts) > 2 else ""
            if entity_path == "query":
                text = request.query.get("query")
                if text is None and request.method == "POST":
                    text = request.body.decode("utf-8")
                return self._envelope(self._query(company, text or "")), False
            if entity_path == "batch" and request.method == "POST":
                return self._batch(request, company)
            if entity_path == "cdc" and request.method == "GET":
                return self._envelope(self._cdc(request, company)), False
            name = ENTITY_NAMES.get(entity_path)
            if name is None:
                raise self._unsupported(request)
            if request.method == "GET":
                if name == "CompanyInfo" and len(parts) == 4 and parts[3] == company.realm_id:
                    return self._envelope({name: company.read(name, "1")}), False
                if name == "Preferences" and len(parts) == 3:
                    return self._envelope({name: company.preferences()}), False
                if len(parts) == 4 and name != "CompanyInfo":
                    return self._envelope({name: company.read(name, parts[3])}), False
                raise self._unsupported(request)
            if request.method == "POST" and len(parts) == 3 and name in WRITABLE:
                try:
                    body = json.loads(request.body or b"{}", parse_float=Decimal)
                except ValueError:
                    raise Fault(
                        "500",
                        "Unsupported Operation",
                        "Operation "
                        "com.fasterxml.jackson.core.JsonParseException: request body is "
                        "not valid JSON is not supported.",
                    ) from None
                if not isinstance(body, dict):
                    raise Fault(
                        "2010",
                        "Request has invalid or unsupported property",
                        "Request body must be an object",
                    )
                result = self._write(company, name, body, request.query)
                return self._envelope({name: result}), True
            raise self._unsupported(request)
        except Fault as fault:
            return self._fault_response(fault, tid), False
        except qlang.QueryError as exc:
            return self._fault_response(Fault(exc.code, exc.message, exc.detail), tid), False

    def _unsupported(self, request: Request) -> Fault:
        return Fault(
            "500",
            "Unsupported Operation",
            f"Operation Could not find resource for relative : {request.path} of full path: "
            f"{self.base_url}{request.path} is not supported.",
        )

    def _write(
        self, company: Company, name: str, body: dict[str, Any], params: Mapping[str, str]
    ) -> dict[str, Any]:
        operation = params.get("operation")
        allow_dup = "allowduplicatedocnum" in params.get("include", "").split(",")
        if operation == "void" and name == "Invoice":
            return company.void(body)
        if operation == "delete":
            return company.delete(name, body)
        if operation not in (None, "update"):
            raise Fault("500", "Unsupported Operation", f"Operation {operation} is not supported.")
        if body.get("Id"):
            return company.update(name, body, allow_duplicate_doc=allow_dup)
        return company.create(name, body, allow_duplicate_doc=allow_dup)

    def _query(self, company: Company, text: str) -> dict[str, Any]:
        entity, rows, total, parsed = company.query(text)
        if parsed.count:
            return {"QueryResponse": {"totalCount": total}}
        if not rows:
            return {"QueryResponse": {}}
        return {
            "QueryResponse": {entity: rows, "startPosition": parsed.start, "maxResults": len(rows)}
        }

    def _cdc(self, request: Request, company: Company) -> dict[str, Any]:
        names = [n.strip() for n in request.query.get("entities", "").split(",") if n.strip()]
        since_raw = request.query.get("changedSince", "")
        try:
            since = datetime.fromisoformat(since_raw.replace("Z", "+00:00"))
        except ValueError:
            raise Fault(
                "2010",
                "Request has invalid or unsupported property",
                f"changedSince is invalid: {since_raw}",
            ) from None
        if since.tzinfo is None:
            since = since.replace(tzinfo=PACIFIC)
        if since < self.now() - timedelta(days=30):
            raise Fault(
                "2010",
                "Request has invalid or unsupported property",
                "changedSince must be within the last 30 days",
            )
        if not names or any(n not in {"Invoice", "Customer", "Item", "Term"} for n in names):
            raise Fault(
                "2010",
                "Request has invalid or unsupported property",
                "entities must name supported entities",
            )
        changed = company.changed_since(names, since)
        responses: list[dict[str, Any]] = []
        for n in names:
            rows = changed[n][:1000]
            responses.append({n: rows, "startPosition": 1, "maxResults": len(rows)} if rows else {})
        return {"CDCResponse": [{"QueryResponse": responses}]}

    def _batch(self, request: Request, company: Company) -> tuple[Response, bool]:
        try:
            body: dict[str, Any] = json.loads(request.body or b"{}", parse_float=Decimal)
            items = body["BatchItemRequest"]
            if not isinstance(items, list):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            raise Fault(
                "2010",
                "Request has invalid or unsupported property",
                "BatchItemRequest is required",
            ) from None
        if len(items) > BATCH_MAX_ITEMS:
            raise Fault(
                "2010",
                "Request has invalid or unsupported property",
                f"Number of items in the batch ({len(items)}) exceeds the maximum of "
                f"{BATCH_MAX_ITEMS}",
            )
        out: list[dict[str, Any]] = []
        wrote = False
        for item in items:
            bid = str(item.get("bId", ""))
            try:
                if "Query" in item:
                    result = self._query(company, str(item["Query"]))
                    out.append({"bId": bid, **result})
                    continue
                operation = item.get("operation", "create")
                entity = next((k for k in item if k in WRITABLE), None)
                if entity is None:
                    raise Fault(
                        "2010",
                        "Request has invalid or unsupported property",
                        "Batch item has no entity",
                    )
                params = {"operation": operation} if operation in {"delete", "void"} else {}
                if item.get("optionsData"):
                    params["include"] = str(item["optionsData"])
                result = self._write(company, entity, dict(item[entity]), params)
                wrote = True
                out.append({"bId": bid, entity: result})
            except Fault as fault:
                out.append({"bId": bid, **fault.body()})
            except qlang.QueryError as exc:
                out.append({"bId": bid, **Fault(exc.code, exc.message, exc.detail).body()})
        return self._envelope({"BatchItemResponse": out}), wrote


class SandboxTransport(httpx.BaseTransport):
    """Serve a `Sandbox` to an httpx client in-process: no sockets, same bytes on the wire."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        req = Request(
            method=request.method,
            path=request.url.path,
            query={k: v for k, v in request.url.params.multi_items()},
            headers={k.lower(): v for k, v in request.headers.items()},
            body=body,
        )
        response = self.sandbox.handle(req)
        if response is DROP:
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            )
        return httpx.Response(
            response.status, headers=response.headers, content=response.body, request=request
        )
