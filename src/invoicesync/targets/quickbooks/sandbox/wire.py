"""The wire format: requests, responses, exact-decimal JSON, the QBO envelopes and faults.

Everything the sandbox sends is built here, so the shapes of success, fault and gateway
answers live in one place. The envelope: IntuitResponse in IntuitRestServiceDef.xsd
(https://github.com/intuit/QuickBooks-V3-Java-SDK); faults: https://developer.intuit.com/app/developer/qbo/docs/develop/troubleshooting/error-codes
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from invoicesync.targets.quickbooks.sandbox.errors import Fault
from invoicesync.targets.quickbooks.sandbox.pacific import PACIFIC

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


# Money fields QuickBooks writes like a Java double: `275.0`, `477.5`, `0` (Intuit's own
# create example: `"TotalAmt":100.0`, `"Deposit":0`, `"TotalTax":0`, in the FAQ page
# graphql-vs-rest of https://github.com/IntuitDeveloper/intuit-api-docs). Other numbers (Qty,
# UnitPrice, TaxPercent, ExchangeRate) come without a forced decimal: `"Qty": 1`,
# `"UnitPrice": 275`.
AMOUNT_KEYS = frozenset(
    {
        "Amount",
        "TotalAmt",
        "Balance",
        "BalanceWithJobs",
        "HomeTotalAmt",
        "HomeBalance",
        "Deposit",
        "TotalTax",
        "NetAmountTaxable",
        "UnappliedAmt",
        "RemainingCredit",
    }
)


def qbo_number(value: Decimal, *, amount: bool) -> str:
    """`Decimal("275.00")` → `275.0` (amount) or `275`; zero → `0`; never an exponent."""
    if value == 0:
        return "0"
    text = format(value.normalize(), "f")
    if amount and "." not in text:
        text += ".0"
    return text


def _encode(data: Any, key: str, out: list[str]) -> None:
    """A small JSON writer: json.dumps cannot write a Decimal as an exact number."""
    if isinstance(data, Decimal):
        out.append(qbo_number(data, amount=key in AMOUNT_KEYS))
    elif isinstance(data, dict):
        out.append("{")
        for i, (k, v) in enumerate(data.items()):
            out.append(", " if i else "")
            out.append(json.dumps(str(k), ensure_ascii=False) + ": ")
            _encode(v, str(k), out)
        out.append("}")
    elif isinstance(data, (list, tuple)):
        out.append("[")
        for i, v in enumerate(data):
            out.append(", " if i else "")
            _encode(v, key, out)
        out.append("]")
    else:
        out.append(json.dumps(data, ensure_ascii=False))


def dumps(data: Any) -> bytes:
    """JSON with exact decimal numbers, spelled as QuickBooks spells them."""
    out: list[str] = []
    _encode(data, "", out)
    return "".join(out).encode("utf-8")


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


THROTTLE_DETAIL = "The request limit was reached.  Try again later"


def throttle_response(
    now: datetime, *, xml: bool, status: int = 429, code: str = "3001"
) -> Response:
    """Fault 3001 (type SERVICE) at 429, or at 403 as before December 2016; JSON or the XML
    the real gateway often sends even to JSON clients (https://developer.intuit.com/app/developer/qbo/docs/learn/limits-and-throttles;
    XML observed in https://github.com/routablehq/python-quickbooks/issues/43)."""
    message = f"message=ThrottleExceeded; errorCode=003001; statusCode={status}"
    if xml:
        body = (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<IntuitResponse xmlns="http://schema.intuit.com/finance/v3" time="'
            + now.astimezone(PACIFIC).isoformat()
            + f'"><Fault type="SERVICE"><Error code="{code}" element="">'
            f"<Message>{message}</Message>"
            f"<Detail>{THROTTLE_DETAIL}</Detail>"
            "</Error></Fault></IntuitResponse>"
        ).encode()
        return Response(status, body, {"content-type": "application/xml"})
    fault = Fault(code, message, THROTTLE_DETAIL, status=status, fault_type="SERVICE")
    return Response(
        status,
        dumps(fault.body() | {"time": qbo_time(now)}),
        {"content-type": "application/json"},
    )
