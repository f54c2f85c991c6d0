"""A typed QuickBooks Online client over httpx: retries, requestid, rate limits, paging.

Retry policy (pure functions below, sleep and jitter injectable):
- reads, and writes that carry a `requestid`, are retried on connection errors, 5xx and 429;
- 429 waits `throttle_wait` seconds (Intuit: "wait 60 seconds"), or `Retry-After` if sent;
- everything else raises at once. Writes always carry the caller's `requestid`, identical on
  every attempt, so a retried create that had in fact succeeded is replayed, not duplicated.

The client-side `RateLimiter` keeps a run under QBO's published per-realm limits so that 429s are
the exception, not the way we find the limits.
"""

from __future__ import annotations

import json
import logging
import random
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx

from invoicesync.qbo import errors as qerr
from invoicesync.qbo import query as qq

log = logging.getLogger(__name__)
MINOR_VERSION = 75  # the only behaviour Intuit serves since 2025-08-01 (quickbooks-api.md §1.3)
USER_AGENT = "invoicesync"
POST_QUERY_OVER = 1500  # characters; longer queries are sent as a POST body


# --- JSON with exact decimals --------------------------------------------------------------------
# QBO sends and accepts amounts as JSON numbers. We parse them as Decimal and write Decimal back
# as the same digits, never through float.


class _Encoder(json.JSONEncoder):
    def default(self, o: Any) -> Any:
        if isinstance(o, Decimal):
            return {"__decimal__": str(o)}
        return super().default(o)


_MARK = re.compile(r'\{\s*"__decimal__": "(-?[0-9.]+)"\s*\}')


def dumps(data: Any, indent: int | None = None) -> str:
    return _MARK.sub(r"\1", json.dumps(data, cls=_Encoder, ensure_ascii=False, indent=indent))


def loads(text: str) -> Any:
    return json.loads(text, parse_float=Decimal)


# --- retry policy --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 8.0
    throttle_wait: float = 60.0


def backoff(attempt: int, policy: RetryPolicy, jitter: float) -> float:
    """Exponential backoff capped at `max_delay`, scaled by jitter in [0.5, 1]."""
    delay: float = min(policy.max_delay, policy.base_delay * 2.0 ** (attempt - 1))
    return delay * (0.5 + 0.5 * jitter)


def throttle_delay(response: httpx.Response, policy: RetryPolicy) -> float:
    retry_after = response.headers.get("retry-after", "")
    if retry_after.strip().isdigit():
        return int(retry_after)
    return policy.throttle_wait


# --- rate limiter --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Limits:
    """Per-realm budgets (quickbooks-api.md §7), the published values."""

    concurrent: int = 10
    per_second: int = 10
    per_minute: int = 500
    batch_per_minute: int = 40
    time_scale: float = 1.0  # >1 when talking to a sandbox whose clock runs faster
    guard: float = 0.15  # seconds added to every window: tolerance for delay jitter

    @classmethod
    def off(cls) -> Limits:
        return cls(10**9, 10**9, 10**9, 10**9)


@dataclass
class Ticket:
    """One request's place in the windows. `t` is when it actually left (stamped by an httpx
    event hook after the auth flow, so a token refresh before sending does not skew it)."""

    t: float
    batch: bool
    done: bool = False


@dataclass
class RateLimiter:
    """Blocks before a request would exceed a budget. Thread-safe."""

    limits: Limits = field(default_factory=Limits)
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._inflight = 0
        self._tickets: deque[Ticket] = deque()
        self.waited = 0.0

    def _wait_needed(self, now: float, is_batch: bool) -> float:
        scale = self.limits.time_scale
        # Requests we space over a window can reach the server closer together (network and
        # server delays vary), so every window is kept `guard` seconds longer than QBO's.
        guard = self.limits.guard
        minute = 60.0 / scale + guard
        while self._tickets and self._tickets[0].done and self._tickets[0].t <= now - minute:
            self._tickets.popleft()
        checks = [
            (1.0 / scale + guard, self.limits.per_second, False),
            (minute, self.limits.per_minute, False),
        ]
        if is_batch:
            checks.append((minute, self.limits.batch_per_minute, True))
        wait = 0.005 if self._inflight >= self.limits.concurrent else 0.0
        for span, cap, batch_only in checks:
            pending = 0
            inside: list[float] = []
            for ticket in self._tickets:
                if batch_only and not ticket.batch:
                    continue
                if not ticket.done:
                    pending += 1  # will be stamped at or after now
                elif ticket.t > now - span:
                    inside.append(ticket.t)
            over = pending + len(inside) - cap + 1
            if over > 0:
                inside.sort()
                wait = max(wait, inside[over - 1] + span - now if over <= len(inside) else 0.005)
        return wait

    def acquire(self, is_batch: bool = False) -> Ticket:
        while True:
            with self._lock:
                now = self.clock()
                wait = self._wait_needed(now, is_batch)
                if wait <= 0:
                    self._inflight += 1
                    ticket = Ticket(now, is_batch)
                    self._tickets.append(ticket)
                    return ticket
            self.waited += wait
            self.sleep(wait)

    def stamp(self, ticket: Ticket) -> None:
        with self._lock:
            ticket.t = max(ticket.t, self.clock())

    def release(self, ticket: Ticket) -> None:
        with self._lock:
            self._inflight -= 1
            ticket.done = True


# --- the client ----------------------------------------------------------------------------------


@dataclass
class Stats:
    """What a run cost, by kind of request (for `--verbose` and benchmarks)."""

    requests: dict[str, int] = field(default_factory=dict)
    throttled: int = 0
    retries: int = 0

    def count(self, kind: str) -> None:
        self.requests[kind] = self.requests.get(kind, 0) + 1


class QBOClient:
    """One QBO company (realm). `transport` is the seam for tests and the local sandbox."""

    def __init__(
        self,
        *,
        base_url: str,
        realm_id: str,
        auth: httpx.Auth | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 60.0,
        retry: RetryPolicy | None = None,
        limiter: RateLimiter | None = None,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.realm_id = realm_id
        self.retry = retry or RetryPolicy()
        self.limiter = limiter or RateLimiter()
        self.sleep = sleep
        self.jitter = jitter
        self.stats = Stats()
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            auth=auth,
            transport=transport,
            timeout=timeout,
            headers={"Accept": "application/json", "User-Agent": USER_AGENT},
            event_hooks={"request": [self._on_send]},
        )

    def _on_send(self, request: httpx.Request) -> None:
        ticket = request.extensions.get("invoicesync_ticket")
        if isinstance(ticket, Ticket):
            self.limiter.stamp(ticket)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> QBOClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- transport ---------------------------------------------------------------------------

    def _url(self, path: str) -> str:
        return f"/v3/company/{self.realm_id}/{path}"

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        text: str | None = None,
        requestid: str | None = None,
        kind: str = "api",
    ) -> Any:
        """Send with retries; returns the parsed JSON body or raises a `QBOError`."""
        is_write = method == "POST" and kind not in {"query"}
        if is_write and requestid is None:
            raise ValueError("every write to QuickBooks must carry a requestid")
        query = {"minorversion": str(MINOR_VERSION), **(params or {})}
        if requestid is not None:
            query["requestid"] = requestid
        headers = {}
        content: str | None = None
        if body is not None:
            content = dumps(body)
            headers["Content-Type"] = "application/json"
        elif text is not None:
            content = text
            headers["Content-Type"] = "application/text"
        attempt = 0
        while True:
            attempt += 1
            self.stats.count(kind)
            ticket = self.limiter.acquire(is_batch=kind == "batch")
            try:
                response = self._http.request(
                    method,
                    self._url(path),
                    params=query,
                    content=content.encode("utf-8") if content is not None else None,
                    headers=headers,
                    extensions={"invoicesync_ticket": ticket},
                )
            except httpx.TransportError as exc:
                sent = not isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout))
                if attempt < self.retry.max_attempts:
                    self.stats.retries += 1
                    self.sleep(backoff(attempt, self.retry, self.jitter()))
                    continue
                raise qerr.QBOConnectionError(
                    f"no answer from QuickBooks after {attempt} attempts: "
                    f"{type(exc).__name__}: {exc}",
                    uncertain=is_write and sent,
                ) from None
            finally:
                self.limiter.release(ticket)
            log.debug(
                "%s %s -> %s (intuit_tid %s, attempt %d)",
                method,
                path,
                response.status_code,
                response.headers.get("intuit_tid", "-"),
                attempt,
            )
            if response.status_code == 429:
                self.stats.throttled += 1
                if attempt < self.retry.max_attempts:
                    self.stats.retries += 1
                    self.sleep(throttle_delay(response, self.retry))
                    continue
                raise qerr.from_response(response)
            if response.status_code >= 500:
                if attempt < self.retry.max_attempts:
                    self.stats.retries += 1
                    self.sleep(backoff(attempt, self.retry, self.jitter()))
                    continue
                raise qerr.from_response(response)
            try:
                data = loads(response.text) if response.text.strip() else {}
            except ValueError:
                data = None
            if response.status_code >= 400 or data is None:
                raise qerr.from_response(response, data)
            fault_type, errs = qerr.fault_errors(data)
            if errs:  # HTTP 200 can still carry a Fault
                raise qerr.error_from_fault(
                    fault_type, errs, status=200, intuit_tid=response.headers.get("intuit_tid")
                )
            return data

    # --- operations --------------------------------------------------------------------------

    def read(self, entity: str, entity_id: str) -> dict[str, Any]:
        data = self.request("GET", f"{entity.lower()}/{entity_id}")
        return dict(data[entity])

    def company_info(self) -> dict[str, Any]:
        data = self.request("GET", f"companyinfo/{self.realm_id}")
        return dict(data["CompanyInfo"])

    def preferences(self) -> dict[str, Any]:
        return dict(self.request("GET", "preferences")["Preferences"])

    def query_page(self, statement: str) -> list[dict[str, Any]]:
        if len(statement) > POST_QUERY_OVER:
            # Long IN (...) lists go in the body, as python-quickbooks does: URLs have limits.
            data = self.request("POST", "query", text=statement, kind="query")
        else:
            data = self.request("GET", "query", params={"query": statement}, kind="query")
        response = data.get("QueryResponse", {})
        rows = next((v for k, v in response.items() if isinstance(v, list)), [])
        return [dict(r) for r in rows]

    def query(self, statement: str, page_size: int = qq.PAGE_SIZE) -> list[dict[str, Any]]:
        """All rows, page by page, until a short page (an exactly-full last page is followed by an
        empty one; quickbooks-api.md §2.1)."""
        return list(self.iter_query(statement, page_size))

    def iter_query(self, statement: str, page_size: int = qq.PAGE_SIZE) -> Iterator[dict[str, Any]]:
        start = 1
        while True:
            rows = self.query_page(qq.page(statement, start, page_size))
            yield from rows
            if len(rows) < page_size:
                return
            start += len(rows)

    def count(self, entity: str) -> int:
        data = self.request(
            "GET", "query", params={"query": f"select count(*) from {entity}"}, kind="query"
        )
        return int(data.get("QueryResponse", {}).get("totalCount", 0))

    def create(self, entity: str, payload: Mapping[str, Any], *, requestid: str) -> dict[str, Any]:
        data = self.request(
            "POST", entity.lower(), body=payload, requestid=requestid, kind="create"
        )
        return dict(data[entity])

    def sparse_update(
        self,
        entity: str,
        entity_id: str,
        fields: Mapping[str, Any],
        *,
        requestid: str,
        sync_token: str | None = None,
    ) -> dict[str, Any]:
        """Sparse update; on a stale SyncToken (5010) re-read and try once more."""
        if sync_token is None:
            sync_token = self.read(entity, entity_id)["SyncToken"]
        for attempt in (1, 2):
            body = {"Id": entity_id, "SyncToken": sync_token, "sparse": True, **fields}
            try:
                data = self.request(
                    "POST",
                    entity.lower(),
                    body=body,
                    requestid=f"{requestid}-{attempt}",
                    kind="update",
                )
                return dict(data[entity])
            except qerr.StaleObjectError:
                if attempt == 2:
                    raise
                sync_token = self.read(entity, entity_id)["SyncToken"]
        raise AssertionError("unreachable")

    def void(self, entity: str, entity_id: str, sync_token: str, *, requestid: str) -> Any:
        body = {"Id": entity_id, "SyncToken": sync_token}
        data = self.request(
            "POST",
            entity.lower(),
            params={"operation": "void"},
            body=body,
            requestid=requestid,
            kind="update",
        )
        return dict(data[entity])

    def batch(self, items: Sequence[Mapping[str, Any]], *, requestid: str) -> list[dict[str, Any]]:
        """Up to 30 operations in one request; returns BatchItemResponse in request order."""
        if len(items) > 30:
            raise ValueError("QuickBooks accepts at most 30 items per batch")
        data = self.request(
            "POST",
            "batch",
            body={"BatchItemRequest": list(items)},
            requestid=requestid,
            kind="batch",
        )
        by_id = {str(r.get("bId")): dict(r) for r in data.get("BatchItemResponse", [])}
        return [by_id.get(str(i["bId"]), {"bId": i["bId"]}) for i in items]

    def cdc(self, entities: Sequence[str], changed_since: str) -> dict[str, list[dict[str, Any]]]:
        data = self.request(
            "GET",
            "cdc",
            params={"entities": ",".join(entities), "changedSince": changed_since},
            kind="cdc",
        )
        out: dict[str, list[dict[str, Any]]] = {e: [] for e in entities}
        for block in data.get("CDCResponse", []):
            for qr in block.get("QueryResponse", []):
                for key, value in qr.items():
                    if isinstance(value, list):
                        out.setdefault(key, []).extend(dict(v) for v in value)
        return out

    # --- after the push: send, PDF, upload (issue 18) ------------------------------------------
    # These answer with a PDF or take a multipart body, which `request` (JSON in, JSON out) does
    # not carry; `_exchange` applies the same retry policy and limiter to a raw exchange.

    def _exchange(
        self,
        method: str,
        path: str,
        *,
        kind: str,
        params: Mapping[str, str] | None = None,
        requestid: str | None = None,
        build: Callable[[], dict[str, Any]] | None = None,
        accept: str = "application/json",
    ) -> httpx.Response:
        """One request with retries; `build` makes the body arguments anew for each attempt."""
        query = {"minorversion": str(MINOR_VERSION), **(params or {})}
        if requestid is not None:
            query["requestid"] = requestid
        attempt = 0
        while True:
            attempt += 1
            self.stats.count(kind)
            body = build() if build else {}
            headers = {"Accept": accept, **body.pop("headers", {})}
            ticket = self.limiter.acquire()
            try:
                response = self._http.request(
                    method,
                    self._url(path),
                    params=query,
                    headers=headers,
                    extensions={"invoicesync_ticket": ticket},
                    **body,
                )
            except httpx.TransportError as exc:
                sent = not isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout))
                if attempt < self.retry.max_attempts:
                    self.stats.retries += 1
                    self.sleep(backoff(attempt, self.retry, self.jitter()))
                    continue
                raise qerr.QBOConnectionError(
                    f"no answer from QuickBooks after {attempt} attempts: "
                    f"{type(exc).__name__}: {exc}",
                    uncertain=method == "POST" and sent,
                ) from None
            finally:
                self.limiter.release(ticket)
            if response.status_code == 429 or response.status_code >= 500:
                if response.status_code == 429:
                    self.stats.throttled += 1
                if attempt < self.retry.max_attempts:
                    self.stats.retries += 1
                    wait = (
                        throttle_delay(response, self.retry)
                        if response.status_code == 429
                        else backoff(attempt, self.retry, self.jitter())
                    )
                    self.sleep(wait)
                    continue
            if response.status_code >= 400:
                raise qerr.from_response(response)
            return response

    def _json_of(self, response: httpx.Response) -> dict[str, Any]:
        try:
            data = loads(response.text) if response.text.strip() else None
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise qerr.from_response(response, data)
        fault_type, errs = qerr.fault_errors(data)
        if errs:
            raise qerr.error_from_fault(
                fault_type, errs, status=200, intuit_tid=response.headers.get("intuit_tid")
            )
        return data

    def send_invoice(
        self, invoice_id: str, send_to: str | None, *, requestid: str
    ) -> dict[str, Any]:
        """QuickBooks e-mails the invoice (to `send_to`, or its BillEmail) and returns it with
        EmailStatus and DeliveryInfo updated."""
        params = {"sendTo": send_to} if send_to else {}
        response = self._exchange(
            "POST",
            f"invoice/{invoice_id}/send",
            kind="send",
            params=params,
            requestid=requestid,
            build=lambda: {"content": b"", "headers": {"Content-Type": "application/octet-stream"}},
        )
        return dict(self._json_of(response)["Invoice"])

    def invoice_pdf(self, invoice_id: str) -> bytes:
        """The PDF QuickBooks renders for the invoice (`Accept: application/pdf`)."""
        response = self._exchange("GET", f"invoice/{invoice_id}/pdf", kind="pdf", accept=PDF)
        if not response.content.startswith(b"%PDF-"):
            raise qerr.from_response(response)
        return response.content

    def upload(
        self,
        metadata: Mapping[str, Any],
        file_name: str,
        content_type: str,
        data: bytes,
        *,
        requestid: str,
    ) -> dict[str, Any]:
        """Upload one file as an Attachable (multipart `file_metadata_0` + `file_content_0`)."""

        def build() -> dict[str, Any]:
            return {
                "files": {
                    "file_metadata_0": ("attachment.json", dumps(metadata), "application/json"),
                    "file_content_0": (file_name, data, content_type),
                }
            }

        response = self._exchange("POST", "upload", kind="upload", requestid=requestid, build=build)
        answers = self._json_of(response).get("AttachableResponse") or [{}]
        first = dict(answers[0])
        fault_type, errs = qerr.fault_errors(first)
        if errs or "Attachable" not in first:
            raise qerr.error_from_fault(
                fault_type,
                errs or [{"Message": "QuickBooks returned no Attachable for the upload"}],
                status=200,
                intuit_tid=response.headers.get("intuit_tid"),
            )
        return dict(first["Attachable"])


PDF = "application/pdf"
