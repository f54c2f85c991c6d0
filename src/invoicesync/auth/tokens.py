"""Access tokens for API calls: refreshes that survive rotation, and the 401 replay.

Intuit rotates refresh tokens; a rotated token that is not stored is a connection lost days
later (users-and-peers.md §3.1). So a refresh happens under a cross-process file lock: re-read
the store, refresh, persist the new refresh token, and only then hand out the new access token.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Generator
from datetime import UTC, datetime, timedelta
from typing import Any

import filelock
import httpx

from invoicesync.auth.connection import Connection, reconnect_hint
from invoicesync.auth.endpoint import InvalidGrant, token_request
from invoicesync.auth.stores import TokenStore, lock_path
from invoicesync.config import Settings
from invoicesync.errors import NotConnected, QuickBooksUnavailable, register_secret

REFRESH_LEEWAY = 60.0


class TokenManager:
    """Hands out access tokens, refreshing under a cross-process lock when needed."""

    def __init__(
        self,
        settings: Settings,
        connection: Connection,
        store: TokenStore,
        client_secret: str,
        *,
        http: httpx.Client | None = None,
        clock: Callable[[], float] = time.time,
        lock_timeout: float = 120.0,
    ) -> None:
        self.settings = settings
        self.connection = connection
        self.store = store
        self.client_secret = client_secret
        register_secret(client_secret)
        self.http = http or httpx.Client(timeout=30.0)
        self.clock = clock
        self.lock_timeout = lock_timeout
        self._access: str | None = None
        self._expires_at = 0.0
        self._mutex = threading.Lock()
        self.refreshes = 0
        self.warnings: list[str] = []

    def access_token(self) -> str:
        with self._mutex:
            if self._access is None or self.clock() > self._expires_at - REFRESH_LEEWAY:
                self._refresh_locked()
            assert self._access is not None
            return self._access

    def refresh(self, stale: str | None = None) -> str:
        """Force a refresh, unless another thread already replaced `stale`."""
        with self._mutex:
            if stale is None or stale == self._access:
                self._refresh_locked()
            assert self._access is not None
            return self._access

    def _refresh_locked(self) -> None:
        lock = filelock.FileLock(str(lock_path(self.settings)), timeout=self.lock_timeout)
        lock_path(self.settings).parent.mkdir(parents=True, exist_ok=True)
        try:
            with lock:
                self._refresh_under_lock()
        except filelock.Timeout:
            raise QuickBooksUnavailable(
                "another invoicesync process has been refreshing the QuickBooks token for "
                f"{self.lock_timeout:.0f}s; try again"
            ) from None

    def _current_refresh_token(self) -> str:
        token = self.store.get("refresh_token")
        if not token and self.store.writable and self.settings.refresh_token_seed:
            token = (
                self.settings.refresh_token_seed
            )  # first use of a CI seed: it moves to the store
        if not token:
            raise NotConnected(
                f"no QuickBooks refresh token in the {self.store.describe()}; "
                + reconnect_hint(self.settings.environment)
            )
        return token

    def _refresh_under_lock(self) -> None:
        current = self._current_refresh_token()
        try:
            body = self._exchange(current)
        except InvalidGrant:
            # Someone may have rotated the token between our read and our request (an old
            # version without the lock, a copy of the token file): re-read once.
            again = self._current_refresh_token()
            if again == current:
                raise NotConnected(
                    "QuickBooks no longer accepts the stored refresh token (invalid_grant: "
                    "revoked, expired or superseded); " + reconnect_hint(self.settings.environment)
                ) from None
            body = self._exchange(again)
            current = again
        new = str(body["refresh_token"])
        if new != current or not self.store.get("refresh_token"):
            # Persist BEFORE the new access token is used: a crash after this line leaves the
            # newest token stored; a crash before it leaves the superseded one, which Intuit
            # still honours for its grace period.
            self.store.set("refresh_token", new)
            if not self.store.writable:
                self.warnings.append(
                    "QuickBooks rotated the refresh token but it could not be saved (it came "
                    "from INVOICESYNC_REFRESH_TOKEN): set INVOICESYNC_TOKEN_FILE so the rotated "
                    "token survives, or the next run may fail with invalid_grant"
                )
        now = self.clock()
        self._access = str(body["access_token"])
        self._expires_at = now + int(body.get("expires_in", 3600))
        self.refreshes += 1
        stamp = datetime.fromtimestamp(now, UTC)
        self.connection.last_refresh_at = stamp.isoformat(timespec="seconds")
        if "x_refresh_token_expires_in" in body:
            expires = stamp + timedelta(seconds=int(body["x_refresh_token_expires_in"]))
            self.connection.refresh_expires_at = expires.isoformat(timespec="seconds")
        if "x_refresh_token_hard_expires_in" in body:
            hard = stamp + timedelta(seconds=int(body["x_refresh_token_hard_expires_in"]))
            self.connection.hard_expires_at = hard.isoformat(timespec="seconds")
        with contextlib.suppress(OSError):
            self.connection.save(self.settings.app_dir)

    def _exchange(self, refresh_token: str) -> dict[str, Any]:
        return token_request(
            self.http,
            self.settings.endpoints,
            self.connection.client_id,
            self.client_secret,
            {"grant_type": "refresh_token", "refresh_token": refresh_token},
        )

    def seed_access(self, token: str, expires_in: int) -> None:
        """Use an access token obtained elsewhere (the code exchange in `connect`)."""
        with self._mutex:
            self._access = token
            self._expires_at = self.clock() + expires_in
            self.refreshes += 1

    @property
    def access_expires_at(self) -> float:
        return self._expires_at


class QBOAuth(httpx.Auth):
    """Adds the bearer token; on a 401, refreshes once and replays the request."""

    def __init__(self, manager: TokenManager) -> None:
        self.manager = manager

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response]:
        token = self.manager.access_token()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            token = self.manager.refresh(stale=token)
            request.headers["Authorization"] = f"Bearer {token}"
            yield request
