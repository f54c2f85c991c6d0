"""The operations on a QuickBooks document that are not JSON in, JSON out: the send of an
invoice or credit memo (an empty octet-stream body), its PDF (answered as `application/pdf`)
and file uploads (multipart). Same retry policy, limiter and error mapping as
`QBOClient.request`; every write carries the caller's `requestid`, identical on every attempt.
A document's path comes from its `Entity`, never from a convention.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import httpx

from invoicesync.targets.quickbooks.api import errors as qerr
from invoicesync.targets.quickbooks.api.client import MINOR_VERSION, QBOClient, backoff, unavailable
from invoicesync.targets.quickbooks.api.rows import Entity
from invoicesync.targets.quickbooks.api.wire import dumps

PDF = "application/pdf"


def exchange(
    client: QBOClient,
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
        last = attempt >= client.retry.max_attempts
        try:
            response = _attempt(client, method, path, query, kind, build, accept)
        except httpx.TransportError as exc:
            if not last:
                client._pause(backoff(attempt, client.retry, client.jitter()), unavailable(0))
                continue
            sent = not isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout))
            raise qerr.QBOConnectionError(
                f"no answer from QuickBooks after {attempt} attempts: {type(exc).__name__}: {exc}",
                uncertain=method == "POST" and sent,
            ) from None
        if accept == PDF and response.status_code == 200 and response.content[:5] == b"%PDF-":
            return response
        failure = client._failure(response, qerr.parse_body(response.text))
        if failure is None:
            return response
        if isinstance(failure, qerr.ThrottledError):
            client.stats.throttled += 1
        if last or not client._wait_to_retry(failure, response, attempt):
            raise failure


def _attempt(
    client: QBOClient,
    method: str,
    path: str,
    query: Mapping[str, str],
    kind: str,
    build: Callable[[], dict[str, Any]] | None,
    accept: str,
) -> httpx.Response:
    body = build() if build else {}
    headers = {"Accept": accept, **body.pop("headers", {})}
    client.stats.count(kind)
    ticket = client.limiter.acquire()
    try:
        return client._http.request(
            method,
            client._url(path),
            params=query,
            headers=headers,
            extensions={"invoicesync_ticket": ticket},
            **body,
        )
    finally:
        client.limiter.release(ticket)


def _json(response: httpx.Response) -> dict[str, Any]:
    data = qerr.parse_body(response.text)
    if not isinstance(data, dict):
        raise qerr.from_response(response, data)
    return data


def send(
    client: QBOClient, entity: Entity, txn_id: str, send_to: str | None, *, requestid: str
) -> dict[str, Any]:
    """QuickBooks e-mails the invoice or credit memo (to `send_to`, or its BillEmail) and
    returns it with EmailStatus and DeliveryInfo updated: `POST /{entity}/{id}/send` (Intuit's
    Invoice and CreditMemo references, "Send an invoice", "Send a credit memo")."""
    response = exchange(
        client,
        "POST",
        f"{entity.path}/{txn_id}/send",
        kind="send",
        params={"sendTo": send_to} if send_to else {},
        requestid=requestid,
        build=lambda: {"content": b"", "headers": {"Content-Type": "application/octet-stream"}},
    )
    return dict(_json(response)[entity.value])


def pdf(client: QBOClient, entity: Entity, txn_id: str) -> bytes:
    """The PDF QuickBooks renders for the invoice or credit memo (`Accept: application/pdf`)."""
    response = exchange(client, "GET", f"{entity.path}/{txn_id}/pdf", kind="pdf", accept=PDF)
    if response.content[:5] != b"%PDF-":
        raise qerr.from_response(response)
    return response.content


def upload(
    client: QBOClient,
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

    response = exchange(client, "POST", "upload", kind="upload", requestid=requestid, build=build)
    answers = _json(response).get("AttachableResponse") or [{}]
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
