"""Errors from B2BRouter, and the one function that maps a response to them.

    B2BRouterError               status, code, message, error_type, request_id, uncertain
    ├── B2BRouterConnectionError no answer; `uncertain` when a write may have reached B2BRouter
    ├── AuthError                401 missing_api_key / invalid_api_key / expired_api_key
    ├── PermissionDeniedError    403 no_account_group
    ├── NotFoundError            404 resource_missing (also: an account this key cannot open)
    ├── ConflictError            409 conflict: the invoice's state refuses the operation
    ├── ThrottledError           429
    ├── ServerError              5xx; `uncertain` for a write
    └── ValidationError          400 invalid_request_params / invalid_api_version / ..., 422
        └── DuplicateNumberError 422 parameter_taken (the invoice number exists)

B2BRouter answers errors as `{"error": {"code", "message", "type"}}`
(https://docs.b2brouter.net/en/developers/essential-guides/error-codes/). The API's own code and
message are kept; anything else keeps its status and a short snippet of the body.
"""

from __future__ import annotations

import json
from typing import Any

import httpx


class B2BRouterError(Exception):
    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        error_type: str | None = None,
        request_id: str | None = None,
        uncertain: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.error_type = error_type
        self.request_id = request_id
        self.uncertain = uncertain

    def __str__(self) -> str:
        tail = [f"HTTP {self.status}"] if self.status else []
        if self.code:
            tail.append(self.code)
        if self.request_id:
            tail.append(f"request {self.request_id}")
        return f"{self.message} ({', '.join(tail)})" if tail else self.message


class B2BRouterConnectionError(B2BRouterError):
    pass


class AuthError(B2BRouterError):
    pass


class PermissionDeniedError(B2BRouterError):
    pass


class NotFoundError(B2BRouterError):
    pass


class ConflictError(B2BRouterError):
    pass


class ThrottledError(B2BRouterError):
    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class ServerError(B2BRouterError):
    pass


class ValidationError(B2BRouterError):
    pass


class DuplicateNumberError(ValidationError):
    pass


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "").strip()
    return int(value) if value.isdigit() else None


def from_response(response: httpx.Response, *, write: bool = False) -> B2BRouterError:
    """The typed error for a non-2xx answer. `write`: the request was a non-idempotent write,
    so a 5xx leaves its outcome uncertain."""
    status = response.status_code
    code: str | None = None
    error_type: str | None = None
    message = ""
    try:
        body = json.loads(response.content or b"null")
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        code = error.get("code") if isinstance(error.get("code"), str) else None
        error_type = error.get("type") if isinstance(error.get("type"), str) else None
        message = str(error.get("message") or "")
    if not message:
        snippet = response.content[:200].decode("utf-8", "replace").strip()
        message = f"B2BRouter answered HTTP {status}" + (f": {snippet}" if snippet else "")
    kw: dict[str, Any] = {
        "status": status,
        "code": code,
        "error_type": error_type,
        "request_id": response.headers.get("x-b2b-api-request-id")
        or response.headers.get("x-request-id"),
    }
    if status == 401:
        return AuthError(message, **kw)
    if status == 403:
        return PermissionDeniedError(message, **kw)
    if status == 404:
        return NotFoundError(message, **kw)
    if status == 409:
        return ConflictError(message, **kw)
    if status == 429:
        return ThrottledError(message, retry_after=_retry_after(response), **kw)
    if status >= 500:
        return ServerError(message, uncertain=write, **kw)
    if code == "parameter_taken":
        return DuplicateNumberError(message, **kw)
    return ValidationError(message, **kw)
