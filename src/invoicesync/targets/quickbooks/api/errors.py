"""Errors from QuickBooks Online, and the one place that decides what an answer means.

    QBOError                       status, code, message, detail, element, fault_type, intuit_tid
    ├── QBOConnectionError         no answer; `uncertain` if a write may have reached the server
    ├── AuthError                  401 / 100 / 120 / 3200: token expired, revoked, not allowed
    ├── ForbiddenError             403 / 3100: wrong environment or realm for this token
    ├── ThrottledError             429, or fault 3001 (`003001`) at any status (403 before 2016)
    ├── ServerError                5xx, or fault 10000 at any status: unavailable, safe to re-run
    ├── DuplicateRequest           600: the requestid was used before; its first outcome counts
    └── ValidationError            a business refusal: QuickBooks read the request and said no
        ├── NotFoundError          610 (deleted or inactive)
        ├── InvalidReferenceError  2500
        ├── DuplicateDocNumber     6140 (`txn_id` names the owner)
        ├── StaleObjectError       5010
        └── QueryError             4000 / 4001

`definitive` is true only for business refusals (6000, 6240, 2050, 610, 2500, 6140, 5010, …):
nothing was created or changed, and the same request would be refused again, so a caller closes
its journal entry and, once the cause is fixed, sends a fresh request (a new `requestid`; the old
one would replay the refusal). Every other error leaves the outcome to retries or a later run.

QBO answers errors in three shapes (error codes: https://developer.intuit.com/app/developer/qbo/docs/develop/troubleshooting/error-codes
): the `Fault` JSON envelope, the
gateway's lower-case `fault` JSON, and XML (throttling and some auth failures, even when JSON was
asked for). All three are read here; anything else keeps its status and a snippet of the body.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

import httpx

from invoicesync.targets.quickbooks.api import wire


def printable(text: str) -> str:
    """One line without control or bidi-formatting characters: QuickBooks' texts are data and
    reach a terminal (a 6240 Detail carries a newline)."""
    out = []
    for ch in text:
        cat = unicodedata.category(ch)
        if ch in "\t\n\r\x0b\x0c\x85\u2028\u2029":
            out.append(" ")
        elif cat in {"Cc", "Cf", "Cs", "Co", "Cn"}:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return re.sub(r" {2,}", " ", "".join(out)).strip()


class QBOError(Exception):
    definitive = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        detail: str | None = None,
        element: str | None = None,
        fault_type: str | None = None,
        intuit_tid: str | None = None,
        errors: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.detail = detail
        self.element = element
        self.fault_type = fault_type
        self.intuit_tid = intuit_tid
        self.errors = errors or []

    def __str__(self) -> str:
        text = self.message
        if self.detail and self.detail not in self.message:
            text += f": {self.detail}"
        tail = []
        if self.code:
            tail.append(f"code {self.code}")
        if self.element:
            tail.append(f"element {self.element}")
        if self.intuit_tid:
            tail.append(f"intuit_tid {self.intuit_tid}")
        return printable(text + (f" ({', '.join(tail)})" if tail else ""))


class QBOConnectionError(QBOError):
    def __init__(self, message: str, *, uncertain: bool = False) -> None:
        super().__init__(message)
        self.uncertain = uncertain


class AuthError(QBOError):
    pass


class ForbiddenError(QBOError):
    pass


class ThrottledError(QBOError):
    pass


class ServerError(QBOError):
    pass


class DuplicateRequest(QBOError):
    """600 "RequestId already exists in the system, duplicate request is detected". Whether
    QuickBooks answers this or replays the first answer when a requestid comes back with
    another body is UNVERIFIED (Intuit's requestid post: https://blogs.intuit.com/2015/04/06/15346/).
    Two machines send one requestid with
    two bodies (each marker names its own state's origin), so the safe reading is the one
    that never closes a journal entry: the first request's outcome is unknown here, look the
    record up."""


class ValidationError(QBOError):
    """QuickBooks refused the request on its merits; nothing was created or changed."""

    definitive = True


class NotFoundError(ValidationError):
    pass


class InvalidReferenceError(ValidationError):
    pass


class StaleObjectError(ValidationError):
    pass


class QueryError(ValidationError):
    pass


class DuplicateDocNumber(ValidationError):
    """6140: "DocNumber=1234 is assigned to TxnType=Credit Memo with TxnId=111" (the
    transaction's type and Id: Ids are numbered per type, so both name it)."""

    @property
    def txn_id(self) -> str | None:
        match = re.search(r"TxnId=(\w+)", self.detail or "")
        return match.group(1) if match else None

    @property
    def txn_type(self) -> str | None:
        match = re.search(r"TxnType=(.+?) with TxnId=", self.detail or "")
        return match.group(1).strip() if match else None


_REFUSALS: dict[str, type[ValidationError]] = {
    "610": NotFoundError,
    "2500": InvalidReferenceError,
    "5010": StaleObjectError,
    "6140": DuplicateDocNumber,
    "4000": QueryError,
    "4001": QueryError,
}
_AUTH_CODES = frozenset({"100", "120", "3200"})
_THROTTLE = "3001"
_SYSTEM_FAILURE = "10000"


def normal_code(code: str | None, message: str = "") -> str | None:
    """QBO writes one code as `3001` or `003001`, sometimes only inside the message
    (`message=ThrottleExceeded; errorCode=003001; statusCode=429`)."""
    if not code:
        match = re.search(r"errorCode=(\d+)", message)
        code = match.group(1) if match else None
    if code is None:
        return None
    stripped = code.strip().lstrip("0")
    return stripped or code.strip()


def classify(status: int | None, code: str | None) -> type[QBOError]:
    """Which error an answer is. Throttling and server trouble win over everything, because
    they say the request was not (or may not have been) handled; then the status; then the
    code; anything left at 4xx/200 is QuickBooks refusing the request on its merits."""
    if status == 429 or code == _THROTTLE:
        return ThrottledError
    if (status is not None and status >= 500) or code == _SYSTEM_FAILURE:
        return ServerError
    if status == 401 or code in _AUTH_CODES:
        return AuthError
    if status == 403 or code == "3100":
        return ForbiddenError
    if code == "600":
        return DuplicateRequest
    return _REFUSALS.get(code or "", ValidationError)


def fault_errors(body: Any) -> tuple[str | None, list[dict[str, Any]]]:
    """(fault type, errors) from a parsed body in either JSON fault shape; (None, []) if none."""
    if not isinstance(body, dict):
        return None, []
    fault = body.get("Fault") or body.get("fault")
    if not isinstance(fault, dict):
        return None, []
    raw = fault.get("Error") or fault.get("error") or []
    if isinstance(raw, dict):
        raw = [raw]
    errors = [
        {
            "code": None if e.get("code") is None else str(e.get("code")),
            "Message": str(e.get("Message") or e.get("message") or ""),
            "Detail": e.get("Detail") or e.get("detail"),
            "element": e.get("element") or None,
        }
        for e in raw
        if isinstance(e, dict)
    ]
    ftype = fault.get("type")
    return (str(ftype) if ftype is not None else None), errors


def nested_fault(body: Any) -> tuple[str | None, list[dict[str, Any]]]:
    """A Fault at the top of a body or inside its QueryResponse (the XSD lets a QueryResponse
    carry one), or inside a CDCResponse's QueryResponses. Batch items are not looked at: their
    faults belong to one item, not to the request."""
    found = fault_errors(body)
    if found[1] or not isinstance(body, dict):
        return found
    responses: list[Any] = [body.get("QueryResponse")]
    for block in body.get("CDCResponse") or []:
        if isinstance(block, dict):
            qr = block.get("QueryResponse")
            responses.extend(qr if isinstance(qr, list) else [qr])
    for response in responses:
        found = fault_errors(response)
        if found[1]:
            return found
    return None, []


def error_from_fault(
    fault_type: str | None,
    errors: list[dict[str, Any]],
    *,
    status: int | None,
    intuit_tid: str | None,
) -> QBOError:
    first = errors[0] if errors else {}
    message = str(first.get("Message") or f"QuickBooks answered HTTP {status}")
    raw_code = first.get("code")
    cls = classify(status, normal_code(raw_code, message))
    return cls(
        message,
        status=status,
        code=raw_code or normal_code(None, message),
        detail=first.get("Detail"),
        element=first.get("element") or None,
        fault_type=fault_type,
        intuit_tid=intuit_tid,
        errors=errors,
    )


def parse_body(text: str) -> Any:
    """A response body as data: JSON, or XML in its JSON shape; None if it is neither."""
    if not text.strip():
        return None
    try:
        return wire.loads(text)
    except (ValueError, RecursionError):  # RecursionError: nesting no real answer has
        return wire.parse_xml(text)


def from_response(response: httpx.Response, body: Any = None) -> QBOError:
    """The single mapping from an error response (any of the three shapes) to an exception."""
    if body is None:
        body = parse_body(response.text)
    fault_type, errors = nested_fault(body)
    if not errors:
        snippet = re.sub(r"\s+", " ", response.text)[:200]
        errors = [
            {
                "code": None,
                "Message": f"QuickBooks answered HTTP {response.status_code}",
                "Detail": snippet or None,
            }
        ]
    return error_from_fault(
        fault_type,
        errors,
        status=response.status_code,
        intuit_tid=response.headers.get("intuit_tid"),
    )
