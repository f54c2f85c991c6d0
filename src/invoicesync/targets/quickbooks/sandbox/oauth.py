"""Intuit's OAuth 2.0 server, as far as a client can observe it.

The documentation: https://developer.intuit.com/app/developer/qbo/docs/develop/authentication-and-authorization/oauth-2.0

Authorization codes are single-use and short-lived; exchanging one twice revokes what the first
exchange issued (oauth-jsclient#173). Every refresh rotates the refresh token; the superseded
value keeps working for `rotation_grace` seconds (Intuit: 24 hours) and then answers
`invalid_grant`, which is the failure users hit when they do not persist rotated tokens.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qs

ACCESS_TTL = 3600
REFRESH_TTL = 8_726_400  # 101 days, as the current Intuit fixtures show
HARD_TTL = 5 * 365 * 86_400
CODE_TTL = 300
SCOPE = "com.intuit.quickbooks.accounting"


class OAuthError(Exception):
    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description


@dataclass
class Grant:
    """One connection (one consent): the refresh-token chain and its access tokens."""

    client_id: str
    realm_id: str
    refresh_token: str
    issued_at: float
    hard_expires_at: float
    superseded: dict[str, float] = field(default_factory=dict)  # old token -> when replaced
    revoked: bool = False


@dataclass
class AccessToken:
    grant: Grant
    expires_at: float


@dataclass
class Code:
    client_id: str
    realm_id: str
    redirect_uri: str
    expires_at: float
    used_by: Grant | None = None


class OAuthServer:
    def __init__(
        self,
        clients: dict[str, str],
        clock: Callable[[], float],
        *,
        rotation_grace: float = 86_400.0,
    ) -> None:
        self.clients = dict(clients)
        self.clock = clock
        self.rotation_grace = rotation_grace
        self.codes: dict[str, Code] = {}
        self.grants: list[Grant] = []
        self.access: dict[str, AccessToken] = {}
        self.by_refresh: dict[str, Grant] = {}
        self.refresh_count = 0

    # --- authorize --------------------------------------------------------------------------

    def check_authorize(self, params: dict[str, str]) -> None:
        if params.get("client_id") not in self.clients:
            raise OAuthError(400, "invalid_client", "Unknown client_id")
        if params.get("response_type") != "code":
            raise OAuthError(400, "unsupported_response_type", "response_type must be code")
        if SCOPE not in params.get("scope", "").split():
            raise OAuthError(400, "invalid_scope", f"scope must include {SCOPE}")
        if not params.get("redirect_uri"):
            raise OAuthError(400, "invalid_request", "redirect_uri is required")

    def issue_code(self, client_id: str, realm_id: str, redirect_uri: str) -> str:
        code = "AB" + secrets.token_urlsafe(24)
        self.codes[code] = Code(client_id, realm_id, redirect_uri, self.clock() + CODE_TTL)
        return code

    def issue_grant(self, client_id: str, realm_id: str) -> Grant:
        """A consented connection without the browser dance (for `sandbox serve` and CI)."""
        now = self.clock()
        grant = Grant(client_id, realm_id, "", now, now + HARD_TTL)
        self.grants.append(grant)
        self._rotate(grant)
        return grant

    # --- token endpoint ---------------------------------------------------------------------

    def _client(self, headers: dict[str, str], form: dict[str, str]) -> str:
        auth = headers.get("authorization", "")
        client_id = secret = None
        if auth.lower().startswith("basic "):
            try:
                raw = base64.b64decode(auth[6:].strip()).decode()
                client_id, _, secret = raw.partition(":")
            except (ValueError, UnicodeDecodeError):
                client_id = None
        elif "client_id" in form:  # client_secret_post
            client_id, secret = form.get("client_id"), form.get("client_secret")
        if not client_id or self.clients.get(client_id) != secret:
            raise OAuthError(401, "invalid_client", "Client authentication failed")
        return client_id

    def token(
        self, headers: dict[str, str], body: bytes
    ) -> tuple[dict[str, str | int], Grant | None]:
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        client_id = self._client(headers, form)
        grant_type = form.get("grant_type")
        now = self.clock()
        if grant_type == "authorization_code":
            code = self.codes.get(form.get("code", ""))
            if code is None or code.client_id != client_id or code.expires_at < now:
                raise OAuthError(400, "invalid_grant", "Invalid authorization code")
            if code.used_by is not None:
                code.used_by.revoked = True  # a replayed code poisons the grant (jsclient#173)
                raise OAuthError(400, "invalid_grant", "Authorization code has been used")
            if form.get("redirect_uri") != code.redirect_uri:
                raise OAuthError(400, "invalid_grant", "redirect_uri mismatch")
            grant = Grant(client_id, code.realm_id, "", now, now + HARD_TTL)
            code.used_by = grant
            self.grants.append(grant)
            self._rotate(grant)
        elif grant_type == "refresh_token":
            grant = self._grant_for_refresh(form.get("refresh_token", ""), client_id, now)
            self.refresh_count += 1
            self._rotate(grant)
        else:
            raise OAuthError(400, "unsupported_grant_type", "grant_type is not supported")
        access = "eyJlbmMiOiJBMTI4Q0JDLUhTMjU2IiwiYWxnIjoiZGlyIn0.." + secrets.token_urlsafe(32)
        self.access[access] = AccessToken(grant, now + ACCESS_TTL)
        payload: dict[str, str | int] = {
            "token_type": "bearer",
            "expires_in": ACCESS_TTL,
            "refresh_token": grant.refresh_token,
            "x_refresh_token_expires_in": int(min(REFRESH_TTL, grant.hard_expires_at - now)),
            "access_token": access,
        }
        if headers.get("x-include-refresh-token-hard-expires-in", "").lower() == "true":
            payload["x_refresh_token_hard_expires_in"] = int(grant.hard_expires_at - now)
        return payload, grant

    def _grant_for_refresh(self, token: str, client_id: str, now: float) -> Grant:
        grant = self.by_refresh.get(token)
        invalid = OAuthError(400, "invalid_grant", "Incorrect or invalid refresh token")
        if grant is None or grant.revoked or grant.client_id != client_id:
            raise invalid
        if grant.hard_expires_at < now:
            raise OAuthError(400, "invalid_grant", "Token has been expired or revoked.")
        if token != grant.refresh_token:
            replaced = grant.superseded.get(token, 0.0)
            if now - replaced > self.rotation_grace:
                raise invalid
        return grant

    def _rotate(self, grant: Grant) -> None:
        now = self.clock()
        if grant.refresh_token:
            grant.superseded[grant.refresh_token] = now
        grant.refresh_token = "RT1-" + secrets.token_urlsafe(30)
        self.by_refresh[grant.refresh_token] = grant

    def revoke(self, headers: dict[str, str], token: str) -> None:
        self._client(headers, {})
        grant = self.by_refresh.get(token)
        if grant is None and token in self.access:
            grant = self.access[token].grant
        if grant is not None:
            grant.revoked = True

    # --- resource server --------------------------------------------------------------------

    def authenticate(self, bearer: str) -> Grant | None:
        found = self.access.get(bearer)
        if found is None or found.grant.revoked or found.expires_at < self.clock():
            return None
        return found.grant

    def expire_access_tokens(self) -> None:
        """Admin helper: make every access token expire now (tests of refresh-on-401)."""
        for token in self.access.values():
            token.expires_at = self.clock() - 1

    def discovery(self, base: str) -> dict[str, object]:
        return {
            "issuer": "https://oauth.platform.intuit.com/op/v1",
            "authorization_endpoint": f"{base}/connect/oauth2",
            "token_endpoint": f"{base}/oauth2/v1/tokens/bearer",
            "revocation_endpoint": f"{base}/v2/oauth2/tokens/revoke",
            "userinfo_endpoint": f"{base}/v1/openid_connect/userinfo",
            "jwks_uri": f"{base}/op/v1/jwks",
            "response_types_supported": ["code"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "scopes_supported": ["openid", "email", "profile", "address", "phone", SCOPE],
            "id_token_signing_alg_values_supported": ["RS256"],
        }
