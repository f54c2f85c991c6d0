"""Intuit's token and revocation endpoints, with their answers mapped to exit codes."""

from __future__ import annotations

import base64
from typing import Any

import httpx

from invoicesync.errors import NotConnected, TargetUnavailable, register_secret
from invoicesync.targets.quickbooks.settings import Endpoints


class InvalidGrant(NotConnected):
    def __init__(self, description: str) -> None:
        super().__init__(f"Intuit rejected the refresh token (invalid_grant: {description})")


def _basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def token_request(
    http: httpx.Client, endpoints: Endpoints, client_id: str, secret: str, form: dict[str, str]
) -> dict[str, Any]:
    """POST to the token endpoint; maps `invalid_grant` to NotConnected (exit 4)."""
    try:
        response = http.post(
            endpoints.token_url,
            data=form,
            headers={
                "Authorization": _basic(client_id, secret),
                "Accept": "application/json",
                "x-include-refresh-token-hard-expires-in": "true",
            },
        )
    except httpx.TransportError as exc:
        raise TargetUnavailable(
            f"cannot reach Intuit's token endpoint ({type(exc).__name__}); safe to re-run later"
        ) from None
    try:
        body: dict[str, Any] = response.json()
    except ValueError:
        body = {}
    if response.status_code == 200 and "access_token" in body:
        register_secret(str(body.get("access_token")))
        register_secret(str(body.get("refresh_token")))
        return body
    error = str(body.get("error", f"HTTP {response.status_code}"))
    if error == "invalid_client":
        raise NotConnected(
            "Intuit rejected the client id or secret (invalid_client); check "
            "INVOICESYNC_CLIENT_ID / INVOICESYNC_CLIENT_SECRET or run `invoicesync connect`"
        )
    if error == "invalid_grant":
        raise InvalidGrant(str(body.get("error_description", "")))
    if response.status_code >= 500 or response.status_code == 429:
        raise TargetUnavailable(
            f"Intuit's token endpoint answered HTTP {response.status_code}; safe to re-run later"
        )
    raise NotConnected(f"token request failed: {error}: {body.get('error_description', '')}")


def revoke(
    http: httpx.Client, endpoints: Endpoints, client_id: str, client_secret: str, token: str
) -> bool:
    """Revoke at Intuit; True if Intuit confirmed (or the token was already unknown)."""
    try:
        response = http.post(
            endpoints.revoke_url,
            json={"token": token},
            headers={
                "Authorization": _basic(client_id, client_secret),
                "Accept": "application/json",
            },
        )
    except httpx.TransportError:
        return False
    if response.status_code == 200:
        return True
    # RFC 7009 §2.2 answers 200 for a token the server does not know; Intuit's documented
    # refusal of a token it no longer knows is 400 `invalid_grant` (docs/connecting.md). Any other
    # 400 (`invalid_request`, `unsupported_token_type`) means nothing was revoked, and the token
    # may still be live: never report that as a revocation.
    # https://datatracker.ietf.org/doc/html/rfc7009#section-2.2
    return response.status_code == 400 and _error_code(response) == "invalid_grant"


def _error_code(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, str) else None
