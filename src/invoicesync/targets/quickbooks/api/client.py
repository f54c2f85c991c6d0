"""A typed QuickBooks Online client over httpx: retries, requestid, rate limits, paging.

Retry policy (pure functions below; sleep, jitter and the wait hook are injectable):
- every request this client sends can be repeated safely: reads and queries by nature, writes
  because each carries the caller's `requestid`, identical on every attempt, so a retried create
  that had in fact succeeded is replayed, not duplicated. Connection errors, 5xx, a body that is
  neither JSON nor XML, and fault 10000 (QuickBooks sends it at 400 too) are retried with backoff;
- throttling, in every form QuickBooks uses (429 or 403; JSON or XML; code 3001 or 003001), waits
  `Retry-After` if sent, else `throttle_wait` (Intuit: "wait 60 seconds"), holds every sender
  sharing the limiter's ledger for as long, and is announced through `on_wait`;
- a business refusal raises at once (`ValidationError`, `definitive`).
When retries run out the last error is raised: `ThrottledError` or `ServerError` (unavailable,
safe to re-run), or `QBOConnectionError` (`uncertain` for a write that may have arrived).
"""

from __future__ import annotations

import email.utils
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from invoicesync.targets.quickbooks.api import errors as qerr
from invoicesync.targets.quickbooks.api import query as qq
from invoicesync.targets.quickbooks.api.limiter import (
    ANNOUNCE_FROM,
    THROTTLED,
    FileLedger,
    Limits,
    MemoryLedger,
    Opener,
    RateLimiter,
    Ticket,
    WaitHook,
    log_wait,
)
from invoicesync.targets.quickbooks.api.wire import dumps, loads

__all__ = ["Limits", "QBOClient", "RateLimiter", "RetryPolicy", "backoff", "dumps", "loads"]

log = logging.getLogger(__name__)
MINOR_VERSION = 75  # the only behaviour Intuit serves since 2025-08-01 (https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/minor-versions)
USER_AGENT = "invoicesync"
POST_QUERY_OVER = 1500  # characters; longer queries are sent as a POST body
BATCH_MAX = 30  # operations per batch request (https://developer.intuit.com/app/developer/qbo/docs/learn/limits-and-throttles)


# --- retry policy --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 8.0
    throttle_wait: float = 60.0
    max_throttle_wait: float = 600.0  # a `Retry-After` longer than this is capped


def backoff(attempt: int, policy: RetryPolicy, jitter: float) -> float:
    """Exponential backoff capped at `max_delay`, scaled by jitter in [0.5, 1]."""
    delay: float = min(policy.max_delay, policy.base_delay * 2.0 ** (attempt - 1))
    return delay * (0.5 + 0.5 * jitter)


def throttle_delay(response: httpx.Response, policy: RetryPolicy, now: float) -> float:
    """`Retry-After` in seconds or as an HTTP date (`now` is wall time), else Intuit's 60 s."""
    retry_after = response.headers.get("retry-after", "").strip()
    if retry_after.isdigit():
        return min(int(retry_after), policy.max_throttle_wait)
    if retry_after:
        try:
            when = email.utils.parsedate_to_datetime(retry_after)
        except (TypeError, ValueError):
            when = None
        if when is not None and when.tzinfo is not None:
            return min(max(0.0, when.timestamp() - now), policy.max_throttle_wait)
    return policy.throttle_wait


def unavailable(status: int) -> str:
    return f"QuickBooks is unavailable (HTTP {status})" if status else "QuickBooks is unreachable"


# --- the client ----------------------------------------------------------------------------------


@dataclass
class Stats:
    """What a run cost, by kind of request (for `--verbose` and benchmarks)."""

    requests: dict[str, int] = field(default_factory=dict)
    throttled: int = 0

    def count(self, kind: str) -> None:
        self.requests[kind] = self.requests.get(kind, 0) + 1


class QBOClient:
    """One QBO company (realm). `transport` is the seam for tests and the local sandbox.

    `on_wait(seconds, reason)` is called before every wait a user would notice (throttling,
    a used-up budget, QuickBooks unavailable); by default it logs a warning such as
    "QuickBooks is throttling this company; waiting 60 s". `budget_dir` makes the default
    limiter share this company's request budget with every process given the same directory
    (its files opened by `budget_opener`, see `limiter.Opener`).
    """

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
        sleep: Callable[[float], None] | None = None,
        jitter: Callable[[], float] = random.random,
        clock: Callable[[], float] = time.time,
        on_wait: WaitHook = log_wait,
        budget_dir: Path | None = None,
        budget_opener: Opener | None = None,
    ) -> None:
        self.realm_id = realm_id
        self.retry = retry or RetryPolicy()
        self.sleep = sleep or time.sleep
        self.jitter = jitter
        self.clock = clock
        self.on_wait = on_wait
        shared = FileLedger(budget_dir, realm_id, opener=budget_opener) if budget_dir else None
        self.limiter = limiter or RateLimiter(
            clock=clock,
            sleep=self.sleep,
            ledger=shared or MemoryLedger(),
            on_wait=on_wait,
        )
        self.stats = Stats()
        self._announce_lock = threading.Lock()
        self._announced = ("", 0.0)  # the last wait announced, and when it ends
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

    def _pause(self, seconds: float, reason: str) -> None:
        """Sleep, announcing the wait unless it is short or the same wait is already announced
        (requests in flight together are throttled together: one message, not ten)."""
        now = self.clock()
        with self._announce_lock:
            fresh = reason != self._announced[0] or now >= self._announced[1]
            if fresh:
                self._announced = (reason, now + seconds)
        if fresh and (seconds >= ANNOUNCE_FROM or reason == THROTTLED):
            self.on_wait(seconds, reason)
        self.sleep(seconds)

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
        """Send with retries; returns the parsed body (JSON, or XML in JSON's shape) or raises
        a `QBOError`."""
        is_write = method == "POST" and kind != "query"
        if is_write and requestid is None:
            raise ValueError("every write to QuickBooks must carry a requestid")
        query = {"minorversion": str(MINOR_VERSION), **(params or {})}
        if requestid is not None:
            query["requestid"] = requestid
        headers = {}
        content: bytes | None = None
        if body is not None:
            content = dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        elif text is not None:
            content = text.encode("utf-8")
            headers["Content-Type"] = "application/text"
        attempt = 0
        while True:
            attempt += 1
            last = attempt >= self.retry.max_attempts
            try:
                response = self._send(method, path, query, content, headers, kind)
            except httpx.TransportError as exc:
                if not last:
                    self._pause(backoff(attempt, self.retry, self.jitter()), unavailable(0))
                    continue
                sent = not isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout))
                raise qerr.QBOConnectionError(
                    f"no answer from QuickBooks after {attempt} attempts: "
                    f"{type(exc).__name__}: {exc}",
                    uncertain=is_write and sent,
                ) from None
            data = qerr.parse_body(response.text)
            failure = self._failure(response, data)
            if failure is None:
                return data if data is not None else {}
            if isinstance(failure, qerr.ThrottledError):
                self.stats.throttled += 1
            if last or not self._wait_to_retry(failure, response, attempt):
                raise failure

    def _send(
        self,
        method: str,
        path: str,
        query: Mapping[str, str],
        content: bytes | None,
        headers: Mapping[str, str],
        kind: str,
    ) -> httpx.Response:
        """One attempt, inside the request budget."""
        self.stats.count(kind)
        ticket = self.limiter.acquire(is_batch=kind == "batch")
        try:
            response = self._http.request(
                method,
                self._url(path),
                params=query,
                content=content,
                headers=headers,
                extensions={"invoicesync_ticket": ticket},
            )
        finally:
            self.limiter.release(ticket)
        log.debug(
            "%s %s -> %s (intuit_tid %s)",
            method,
            path,
            response.status_code,
            response.headers.get("intuit_tid", "-"),
        )
        return response

    def _wait_to_retry(
        self, failure: qerr.QBOError, response: httpx.Response, attempt: int
    ) -> bool:
        """Wait as the failure asks and say whether to try again: throttling waits as long as
        QuickBooks asked (and holds other senders on the ledger), unavailability backs off."""
        if isinstance(failure, qerr.ThrottledError):
            wait = throttle_delay(response, self.retry, self.clock())
            self.limiter.hold(wait)
            self._pause(wait, THROTTLED)
            return True
        if isinstance(failure, qerr.ServerError):
            delay = backoff(attempt, self.retry, self.jitter())
            self._pause(delay, unavailable(response.status_code))
            return True
        return False

    @staticmethod
    def _failure(response: httpx.Response, data: Any) -> qerr.QBOError | None:
        """The error an answer carries, if any: an error status, a Fault inside a 200 (also
        one nested in a QueryResponse), or a 200 we cannot read (for a create: it may exist)."""
        if response.status_code >= 400:
            return qerr.from_response(response, data)
        tid = response.headers.get("intuit_tid")
        if data is None and response.text.strip():
            snippet = qerr.printable(response.text[:200])
            return qerr.ServerError(
                f"QuickBooks answered HTTP {response.status_code} with a body it could not "
                "have meant",
                status=response.status_code,
                detail=snippet,
                intuit_tid=tid,
            )
        fault_type, errs = qerr.nested_fault(data)
        if errs:
            return qerr.error_from_fault(
                fault_type, errs, status=response.status_code, intuit_tid=tid
            )
        return None

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
        response = data.get("QueryResponse")
        if not isinstance(response, dict):
            return []
        rows = next((v for v in response.values() if isinstance(v, list)), [])
        return [dict(r) for r in rows if isinstance(r, dict)]

    def query(self, statement: str, page_size: int = qq.PAGE_SIZE) -> list[dict[str, Any]]:
        """All rows, page by page, until a short page (an exactly-full last page is followed by an
        empty one, https://github.com/simonv3/quickbooks-python/issues/4)."""
        return list(self.iter_query(statement, page_size))

    def iter_query(self, statement: str, page_size: int = qq.PAGE_SIZE) -> Iterator[dict[str, Any]]:
        start = 1
        while True:
            rows = self.query_page(qq.page(statement, start, page_size))
            yield from rows
            if len(rows) < page_size:
                return
            start += len(rows)

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

    def batch(self, items: Sequence[Mapping[str, Any]], *, requestid: str) -> list[dict[str, Any]]:
        """Up to 30 operations in one request; returns BatchItemResponse in request order (an item
        QuickBooks did not answer comes back as just its `bId`)."""
        if len(items) > BATCH_MAX:
            raise ValueError(f"QuickBooks accepts at most {BATCH_MAX} items per batch")
        data = self.request(
            "POST",
            "batch",
            body={"BatchItemRequest": list(items)},
            requestid=requestid,
            kind="batch",
        )
        answers = data.get("BatchItemResponse") or []
        by_id = {str(r.get("bId")): dict(r) for r in answers if isinstance(r, dict)}
        return [by_id.get(str(i["bId"]), {"bId": i["bId"]}) for i in items]
