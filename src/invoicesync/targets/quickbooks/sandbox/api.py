"""The Accounting API's front door: authentication, limits, injected faults, requestid replay.

Order matters and follows what a client can observe of the real service: a bad token is
refused before anything is counted; a throttled request does no work; an injected 5xx does
no work; a replayed `requestid` returns the first answer without doing the work again; a
dropped connection happens after the work committed.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from invoicesync.targets.quickbooks.sandbox import injection
from invoicesync.targets.quickbooks.sandbox.errors import Fault, invalid_property
from invoicesync.targets.quickbooks.sandbox.limits import throttle_as_xml
from invoicesync.targets.quickbooks.sandbox.operations import Operations
from invoicesync.targets.quickbooks.sandbox.wire import (
    DROP,
    JSON,
    Request,
    Response,
    fault_response,
    gateway_fault,
    throttle_response,
)

if TYPE_CHECKING:
    from invoicesync.targets.quickbooks.sandbox.app import LogEntry, Sandbox

REQUESTID_MAX = 50
BATCH_REQUESTID_MAX = 36


def serve_api(sandbox: Sandbox, request: Request, parts: list[str], entry: LogEntry) -> Response:
    """Answer one `/v3/company/...` request; `entry` receives its status and flags."""
    tid = str(uuid.uuid4())
    realm = entry.realm_id or ""
    refused = _authenticate(sandbox, request, realm, tid)
    if refused is not None:
        entry.status = refused.status
        return refused
    is_batch = len(parts) > 2 and parts[2] == "batch"
    throttled = _throttle(sandbox, realm, is_batch)
    if throttled is not None:
        entry.status, entry.throttled = throttled.status, True
        throttled.headers["intuit_tid"] = tid
        return throttled
    try:
        with sandbox.lock:
            delay = injection.latency_seconds(sandbox.faults, sandbox._rng)
        injection.sleep(delay)  # inside the admitted window: slow requests count as concurrent
        with sandbox.lock:
            response, slow = _work(sandbox, request, parts, entry, tid, is_batch)
        injection.sleep(slow)
        return response
    finally:
        with sandbox.lock:
            sandbox.limiter.release(realm)


def _throttle(sandbox: Sandbox, realm: str, is_batch: bool) -> Response | None:
    """An injected throttle, or the limits' 429; None when the request is admitted."""
    with sandbox.lock:
        f = sandbox.faults
        if injection.take_throttle(f):
            return throttle_response(
                sandbox.now(),
                xml=f.throttle_format == "xml",
                status=f.throttle_status,
                code=f.throttle_code,
            )
        if sandbox.limiter.admit(sandbox.limits, realm, is_batch, sandbox.clock()):
            return None
        xml = throttle_as_xml(sandbox.limits, sandbox._rng)
    return throttle_response(sandbox.now(), xml=xml)


def _authenticate(sandbox: Sandbox, request: Request, realm: str, tid: str) -> Response | None:
    auth = request.headers.get("authorization", "")
    token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
    with sandbox.lock:
        grant = sandbox.oauth.authenticate(token)
    millis = int(sandbox.clock() * 1000)
    if grant is None:
        return gateway_fault(
            401,
            "3200",
            "AUTHENTICATION",
            "message=AuthenticationFailed; errorCode=003200; statusCode=401",
            "Token expired or invalid",
            millis,
            tid,
        )
    if grant.realm_id != realm or realm not in sandbox.companies:
        return gateway_fault(
            403,
            "3100",
            "SERVICE",
            "message=AuthorizationFailed; errorCode=003100; statusCode=403",
            None,
            millis,
            tid,
        )
    return None


def _work(
    sandbox: Sandbox, request: Request, parts: list[str], entry: LogEntry, tid: str, is_batch: bool
) -> tuple[Response, float]:
    """Under the lock: injected error, replay, the operation, an injected drop or delay."""
    realm = entry.realm_id or ""
    requestid = entry.requestid
    status = injection.take_error(sandbox.faults, sandbox._rng)
    if status is not None:
        entry.status = status
        injected = Fault(
            "10000",
            "An application error has occurred while processing your request",
            "System Failure Error: injected fault",
            status=status,
            fault_type="SystemFault",
        )
        return fault_response(injected, sandbox.now(), tid), 0.0
    if requestid is not None:
        limit = BATCH_REQUESTID_MAX if is_batch else REQUESTID_MAX
        if len(requestid) > limit:
            entry.status = 400
            too_long = invalid_property(f"requestid exceeds {limit} characters")
            return fault_response(too_long, sandbox.now(), tid), 0.0
        cached = sandbox.replay.get((realm, requestid))
        if cached is not None:
            entry.status = cached.status
            return Response(cached.status, cached.body, {**cached.headers, "intuit_tid": tid}), 0.0
    ops = Operations(sandbox.companies[realm], sandbox.now(), sandbox.base_url)
    response, wrote = ops.dispatch(request, parts)
    response.headers["intuit_tid"] = tid
    response.headers.setdefault("content-type", JSON)
    if requestid is not None:
        sandbox.replay[(realm, requestid)] = response
    entry.status = response.status
    if (
        wrote
        and response.status == 200
        and injection.take_drop(sandbox.faults, sandbox._rng, requestid)
    ):
        entry.dropped = True
        return DROP, 0.0
    return response, injection.take_slow(sandbox.faults, sandbox._rng)
