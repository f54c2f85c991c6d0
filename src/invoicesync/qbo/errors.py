"""Errors from QuickBooks Online, and the one function that maps a response to them.

    QBOError                       status, code, message, detail, element, fault_type, intuit_tid
    ├── QBOConnectionError         no answer; `uncertain` if a write may have reached the server
    ├── AuthError                  401 / 3200 / 100 / 120: token expired, revoked, not allowed
    ├── ForbiddenError             403 / 3100: wrong environment or realm for this token
    ├── ThrottledError             429 / 3001
    ├── ServerError                5xx / 10000
    └── ValidationError            400 and business rules
        ├── NotFoundError          610 (deleted or inactive)
        ├── InvalidReferenceError  2500
        ├── DuplicateDocNumber     6140 (`txn_id` names the owner)
        ├── StaleObjectError       5010
        └── QueryError             4000 / 4001

QBO answers errors in three shapes (quickbooks-api.md §5): the `Fault` JSON envelope, the
gateway's lower-case `fault` JSON, and XML (throttling and some auth failures, even when JSON was
asked for). All three are parsed here; anything else keeps its status and a snippet of the body.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

import httpx


class QBOError(Exception):
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
        parts = [self.message]
        if self.detail and self.detail not in self.message:
            parts.append(f": {self.detail}")
        tail = []
        if self.code:
            tail.append(f"code {self.code}")
        if self.intuit_tid:
            tail.append(f"intuit_tid {self.intuit_tid}")
        return "".join(parts) + (f" ({', '.join(tail)})" if tail else "")


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


class ValidationError(QBOError):
    pass


class NotFoundError(ValidationError):
    pass


class InvalidReferenceError(ValidationError):
    pass


class StaleObjectError(ValidationError):
    pass


class QueryError(ValidationError):
    pass


class DuplicateDocNumber(ValidationError):
    @property
    def txn_id(self) -> str | None:
        match = re.search(r"TxnId=(\w+)", self.detail or "")
        return match.group(1) if match else None


_BY_CODE: dict[str, type[QBOError]] = {
    "610": NotFoundError,
    "2500": InvalidReferenceError,
    "5010": StaleObjectError,
    "6140": DuplicateDocNumber,
    "4000": QueryError,
    "4001": QueryError,
    "3001": ThrottledError,
    "3100": ForbiddenError,
    "3200": AuthError,
    "100": AuthError,
    "120": AuthError,
    "10000": ServerError,
}


def _xml_errors(text: str) -> tuple[str | None, list[dict[str, Any]]]:
    ftype = re.search(r"<Fault[^>]*\btype=\"([^\"]*)\"", text)
    errors = []
    for m in re.finditer(r"<Error\b([^>]*)>(.*?)</Error>", text, re.S):
        attrs, body = m.group(1), m.group(2)
        code = re.search(r"\bcode=\"([^\"]*)\"", attrs)
        msg = re.search(r"<Message>(.*?)</Message>", body, re.S)
        detail = re.search(r"<Detail>(.*?)</Detail>", body, re.S)
        errors.append(
            {
                "code": code.group(1) if code else None,
                "Message": html.unescape(msg.group(1)) if msg else "",
                "Detail": html.unescape(detail.group(1)) if detail else None,
            }
        )
    return (ftype.group(1) if ftype else None), errors


def fault_errors(body: Any) -> tuple[str | None, list[dict[str, Any]]]:
    """(fault type, errors) from a parsed JSON body in either fault shape; ([], None) if none."""
    if not isinstance(body, dict):
        return None, []
    fault = body.get("Fault") or body.get("fault")
    if not isinstance(fault, dict):
        return None, []
    raw = fault.get("Error") or fault.get("error") or []
    errors = [
        {
            "code": None if e.get("code") is None else str(e.get("code")),
            "Message": e.get("Message") or e.get("message") or "",
            "Detail": e.get("Detail") or e.get("detail"),
            "element": e.get("element"),
        }
        for e in raw
        if isinstance(e, dict)
    ]
    return fault.get("type"), errors


def error_from_fault(
    fault_type: str | None,
    errors: list[dict[str, Any]],
    *,
    status: int | None,
    intuit_tid: str | None,
) -> QBOError:
    first = errors[0] if errors else {}
    code = first.get("code")
    cls: type[QBOError] = _BY_CODE.get(code or "", QBOError)
    if cls is QBOError:
        if status == 401:
            cls = AuthError
        elif status == 403:
            cls = ForbiddenError
        elif status == 429:
            cls = ThrottledError
        elif status is not None and status >= 500:
            cls = ServerError
        else:
            cls = ValidationError
    return cls(
        str(first.get("Message") or f"QuickBooks answered HTTP {status}"),
        status=status,
        code=code,
        detail=first.get("Detail"),
        element=first.get("element"),
        fault_type=fault_type,
        intuit_tid=intuit_tid,
        errors=errors,
    )


def from_response(response: httpx.Response, body: Any = None) -> QBOError:
    """The single mapping from an error response (any of the three shapes) to an exception."""
    tid = response.headers.get("intuit_tid")
    text = response.text
    fault_type: str | None
    if body is None:
        try:
            body = json.loads(text) if text.strip() else None
        except ValueError:
            body = None
    fault_type, errors = fault_errors(body)
    if not errors and "<Fault" in text:
        fault_type, errors = _xml_errors(text)
    if not errors:
        snippet = re.sub(r"\s+", " ", text)[:200]
        errors = [
            {
                "code": None,
                "Message": f"QuickBooks answered HTTP {response.status_code}",
                "Detail": snippet or None,
            }
        ]
    return error_from_fault(fault_type, errors, status=response.status_code, intuit_tid=tid)
