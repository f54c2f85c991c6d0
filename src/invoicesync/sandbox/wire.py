"""The wire format: requests, responses, exact-decimal JSON, the QBO envelopes and faults.

Everything the sandbox sends is built here, so the shapes of success, fault and gateway
answers live in one place (quickbooks-api.md §1.6, §5).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from invoicesync.sandbox.errors import Fault

try:
    from zoneinfo import ZoneInfo

    PACIFIC: Any = ZoneInfo("America/Los_Angeles")
except Exception:  # pragma: no cover - platforms without a tz database
    PACIFIC = timezone(timedelta(hours=-8))

JSON = "application/json;charset=UTF-8"


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


def qbo_time(now: datetime) -> str:
    """The `time` of an envelope: Pacific, milliseconds, with offset."""
    return now.astimezone(PACIFIC).isoformat(timespec="milliseconds")


def json_response(status: int, payload: Any) -> Response:
    return Response(status, dumps(payload), {"content-type": "application/json"})


def envelope(payload: dict[str, Any], now: datetime) -> Response:
    return Response(200, dumps(payload | {"time": qbo_time(now)}), {})


def fault_response(fault: Fault, now: datetime, tid: str = "") -> Response:
    return Response(
        fault.status,
        dumps(fault.body() | {"time": qbo_time(now)}),
        {"content-type": JSON, "intuit_tid": tid},
    )


def gateway_fault(
    status: int, code: str, ftype: str, message: str, detail: str | None, millis: int, tid: str
) -> Response:
    """The gateway's lower-case `fault` body (authentication and authorization failures)."""
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
        "time": millis,
        "status": None,
        "cdcresponse": [],
    }
    return Response(status, dumps(body), {"content-type": "application/json", "intuit_tid": tid})


THROTTLE_MESSAGE = "message=ThrottleExceeded; errorCode=003001; statusCode=429"
THROTTLE_DETAIL = "The request limit was reached.  Try again later"


def throttle_response(now: datetime, *, xml: bool) -> Response:
    """429 with Fault 3001, as JSON or as the XML the real gateway often sends instead."""
    if xml:
        body = (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<IntuitResponse xmlns="http://schema.intuit.com/finance/v3" time="'
            + now.astimezone(PACIFIC).isoformat()
            + '"><Fault type="SERVICE"><Error code="3001" element="">'
            f"<Message>{THROTTLE_MESSAGE}</Message>"
            f"<Detail>{THROTTLE_DETAIL}</Detail>"
            "</Error></Fault></IntuitResponse>"
        ).encode()
        return Response(429, body, {"content-type": "application/xml"})
    fault = Fault("3001", THROTTLE_MESSAGE, THROTTLE_DETAIL, status=429, fault_type="SERVICE")
    return Response(
        429,
        dumps(fault.body() | {"time": qbo_time(now)}),
        {"content-type": "application/json"},
    )
