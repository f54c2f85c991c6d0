"""The sandbox service: companies, the OAuth server, the request log, and the routing between
the API (`api.py`), OAuth and consent (`oauth.py`, `consent.py`) and admin (`admin.py`).

`Sandbox.handle()` takes a plain `Request` and returns a `Response` (or `DROP`, meaning the
connection is cut after the work was committed). `SandboxTransport` serves it in-process to
httpx; `server.serve()` serves it on loopback. Nothing here imports from the rest of
invoicesync: the sandbox is an independent implementation of the service, so tests against it
check our client against the specification, not against itself.
"""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs

import httpx

from invoicesync.targets.quickbooks.sandbox import consent, injection
from invoicesync.targets.quickbooks.sandbox.admin import serve_admin
from invoicesync.targets.quickbooks.sandbox.api import serve_api
from invoicesync.targets.quickbooks.sandbox.company import Company
from invoicesync.targets.quickbooks.sandbox.injection import Faults
from invoicesync.targets.quickbooks.sandbox.limits import RateLimiter, RateLimits
from invoicesync.targets.quickbooks.sandbox.oauth import OAuthError, OAuthServer
from invoicesync.targets.quickbooks.sandbox.seeding import (
    CompanyFileError,
    builtin_company,
    load_seed,
)
from invoicesync.targets.quickbooks.sandbox.wire import (
    DROP,
    Request,
    Response,
    dumps,
    json_response,
)

__all__ = ["DEFAULT_CLIENT_ID", "DEFAULT_CLIENT_SECRET", "LogEntry", "Sandbox", "dumps"]

DEFAULT_CLIENT_ID = "local-client-id"
DEFAULT_CLIENT_SECRET = "local-client-secret"


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


def _company_path(spec: Path | str) -> Path:
    """A shipped company's name (`us`) or a company file's path."""
    if isinstance(spec, str) and "/" not in spec and not spec.endswith((".toml", ".json")):
        return builtin_company(spec)
    return Path(spec)


def _load_company(spec: Path | str, now: Callable[[], datetime]) -> Company:
    """Build a company from its file; any problem with the file is one line."""
    path = _company_path(spec)
    try:
        return Company(load_seed(path), now)
    except CompanyFileError as exc:
        raise CompanyFileError(f"{path.name}: {exc}") from None
    except KeyError as exc:
        what = str(exc.args[0])
        what = what if what.startswith("unknown ") else f"missing field {what!r}"
        raise CompanyFileError(f"{path.name}: {what}") from None
    except ArithmeticError:
        raise CompanyFileError(f"{path.name}: a value that should be a number is not") from None
    except (TypeError, AttributeError) as exc:
        # A value of the wrong kind (a list for a table, text for a list).
        raise CompanyFileError(f"{path.name}: invalid value: {exc}") from None
    except ValueError as exc:
        raise CompanyFileError(f"{path.name}: {exc}") from None


class Sandbox:
    """A local QuickBooks Online: companies, OAuth server, limits, faults and a request log."""

    def __init__(
        self,
        companies: Sequence[Path | str] | None = None,
        *,
        clients: Mapping[str, str] | None = None,
        time_scale: float = 1.0,
        limits: RateLimits | None = None,
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
            company = _load_company(spec, self.now)
            self.companies[company.realm_id] = company
        self.oauth = OAuthServer(
            dict(clients or {DEFAULT_CLIENT_ID: DEFAULT_CLIENT_SECRET}),
            self.clock,
            rotation_grace=rotation_grace,
        )
        self.limits = limits or RateLimits(enabled=False)
        self.limiter = RateLimiter()
        self.faults = faults or Faults()
        self._rng = random.Random(self.faults.seed)
        self.auto_approve = auto_approve
        self.base_url = base_url
        self.requests: list[LogEntry] = []
        self.replay: dict[tuple[str, str], Response] = {}

    # --- time and companies -------------------------------------------------------------

    def clock(self) -> float:
        """Sandbox seconds since the epoch: real time sped up by `time_scale`."""
        return self._t0_wall + (time.monotonic() - self._t0_real) * self.time_scale

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    def company(self, realm_id: str | None = None) -> Company:
        if realm_id is None:
            return next(iter(self.companies.values()))
        return self.companies[realm_id]

    def set_faults(self, faults: Faults) -> None:
        with self.lock:
            self.faults = faults
            self._rng = random.Random(faults.seed)

    # --- entry point ----------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        path = request.path.rstrip("/") or "/"
        if path.startswith("/v3/company/"):
            return self._api(request, path)
        with self.lock:
            delay = injection.latency_seconds(self.faults, self._rng)
        injection.sleep(delay)
        try:
            response, kind = self._non_api(request, path)
        except OAuthError as exc:
            response = json_response(
                exc.status, {"error": exc.error, "error_description": exc.description}
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

    def _api(self, request: Request, path: str) -> Response:
        parts = path.split("/")[2:]  # ["company", realm, entity, ...]
        kind = parts[2] if len(parts) > 2 else ""
        entry = LogEntry(
            request.method,
            path,
            dict(request.query),
            0,
            parts[1] if len(parts) > 1 else "",
            request.query.get("requestid"),
            kind="query" if kind == "query" else kind or "api",
            body=request.body.decode("utf-8", "replace")[:4000],
        )
        try:
            return serve_api(self, request, parts, entry)
        finally:
            with self.lock:
                self.requests.append(entry)

    def _non_api(self, request: Request, path: str) -> tuple[Response, str]:
        """OAuth, discovery, consent and admin."""
        m = request.method
        if path in {"/.well-known/openid_configuration", "/.well-known/openid-configuration"}:
            return json_response(200, self.oauth.discovery(self.base_url)), "oauth"
        names = {c.realm_id: c.name for c in self.companies.values()}
        if path == "/connect/oauth2" and m == "GET":
            with self.lock:
                return consent.authorize(
                    self.oauth, names, request.query, self.auto_approve
                ), "oauth"
        if path == "/connect/oauth2/decide" and m == "POST":
            form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
            with self.lock:
                return consent.decide(self.oauth, names, form), "oauth"
        if path == "/oauth2/v1/tokens/bearer" and m == "POST":
            with self.lock:
                payload, _ = self.oauth.token(request.headers, request.body)
            return json_response(200, payload), "oauth"
        if path == "/v2/oauth2/tokens/revoke" and m == "POST":
            token = _revoked_token(request)
            with self.lock:
                self.oauth.revoke(request.headers, token)
            return Response(200), "oauth"
        if path.startswith("/_sandbox/"):
            return serve_admin(self, request, path), "admin"
        return json_response(404, {"error": "not_found", "error_description": path}), "other"


def _revoked_token(request: Request) -> str:
    """The token a revoke names: Intuit documents a JSON body (`{"token": …}`); OAuth
    libraries post RFC 7009's form encoding (`token=…`), so both are read."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    text = request.body.decode("utf-8", "replace")
    if content_type == "application/x-www-form-urlencoded":
        return parse_qs(text).get("token", [""])[0]
    try:
        body = json.loads(text or "{}")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise OAuthError(
            400, "invalid_request", 'body must be JSON {"token": …} or form-encoded token=…'
        )
    return str(body.get("token", ""))


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
