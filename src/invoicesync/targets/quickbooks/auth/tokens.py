"""Access tokens for API calls: refreshes that survive rotation, and the 401 replay.

Intuit rotates refresh tokens; a rotated token that is not stored is a connection lost days
later: Intuit's OAuth FAQ says to keep the latest refresh token,
https://developer.intuit.com/app/developer/qbo/docs/develop/authentication-and-authorization/faq
So a refresh happens under a cross-process file lock: re-read
the store, refresh, persist the new refresh token, and only then hand out the new access token.
The access token is kept beside the refresh token (same store, never the env seed, config or
logs) with its expiry, so a warm run reuses it instead of refreshing every time.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Generator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from invoicesync.config import Settings
from invoicesync.credentials import StoreUnavailable, TokenStore
from invoicesync.errors import NotConnected, TargetUnavailable, register_secret
from invoicesync.files import (
    FileLock,
    LockTimeout,
    UnsafeFile,
    UnsafePath,
    ensure_dir,
    private_dir,
)
from invoicesync.targets.quickbooks import settings as qbo
from invoicesync.targets.quickbooks.auth.connection import Connection, reconnect_hint
from invoicesync.targets.quickbooks.auth.endpoint import InvalidGrant, token_request

# Refresh when less than this is left: a run that starts with a token about to expire would
# otherwise meet a 401 halfway through a batch.
REFRESH_LEEWAY = 300.0
log = logging.getLogger(__name__)


class TokenManager:
    """Hands out access tokens: the one in memory, else a still-valid one from the token store
    (a warm run makes no token request), else a fresh one refreshed under the token's lock."""

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
        self.own = qbo.of(settings)  # QuickBooks' section: environment, endpoints, CI seed
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
        self.refreshes = 0  # access tokens taken into use: refreshed, exchanged or reused
        self.warnings: list[str] = []

    def access_token(self) -> str:
        with self._mutex:
            if self._access is None:
                self._adopt_stored(avoid=None)
            if not self._fresh(self._expires_at):
                self._refresh_locked(stale=self._access)
            assert self._access is not None
            return self._access

    def refresh(self, stale: str) -> str:
        """A token other than `stale` (which QuickBooks refused), unless another thread already
        replaced it."""
        with self._mutex:
            if stale == self._access:
                self._refresh_locked(stale=stale)
            assert self._access is not None
            return self._access

    def _fresh(self, expires_at: float) -> bool:
        return self.clock() < expires_at - REFRESH_LEEWAY

    def _adopt_stored(self, avoid: str | None) -> bool:
        """Take the store's access token if it is still valid for a while and is not `avoid`
        (the one QuickBooks refused or that is about to expire). Never from the env seed."""
        found = self.store.load_access()
        if found is None or found[0] == avoid or not self._fresh(found[1]):
            return False
        self._access, self._expires_at = found
        self.refreshes += 1
        return True

    def _refresh_locked(self, stale: str | None) -> None:
        lock = self._take_lock()
        try:
            # Whoever held the lock before us (another thread, process or home sharing this
            # token) may have refreshed already: use theirs, do not rotate again.
            if not self._adopt_stored(avoid=stale):
                self._refresh_under_lock()
        finally:
            lock.release()

    def _take_lock(self) -> FileLock:
        """The token's refresh lock: 0600, never through a link; a keyed lock's folder (the
        per-user lock dir) must be private too. A token file's lock sits beside the file,
        in whatever folder the user chose for it."""
        path = self.store.lock_file
        lock = FileLock(path)
        try:
            if self.store.private_lock_dir:
                private_dir(path.parent)
            else:
                ensure_dir(path.parent)
            lock.acquire(self.lock_timeout)
        except LockTimeout:
            raise TargetUnavailable(
                "another invoicesync process has been refreshing the QuickBooks token for "
                f"{self.lock_timeout:.0f}s; try again"
            ) from None
        except UnsafePath:
            raise  # a link, another user's file or a folder others can write: says what to do
        except (UnsafeFile, OSError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else str(exc)
            raise UnsafeFile(
                f"cannot take the token refresh lock {path} ({reason}); make {path.parent} "
                "writable (for the keyring, or set INVOICESYNC_LOCK_DIR to a writable directory)"
            ) from None
        return lock

    def _current_refresh_token(self) -> str:
        token = self.store.get("refresh_token")
        if not token and self.store.writable and self.own.refresh_token_seed:
            token = self.own.refresh_token_seed  # first use of a CI seed: it moves in
        if not token:
            raise NotConnected(
                f"no QuickBooks refresh token in the {self.store.describe()}; "
                + reconnect_hint(self.own.environment)
            )
        return token

    def _refresh_under_lock(self) -> None:
        current = self._current_refresh_token()
        if self.store.writable:
            self.store.check_writable()  # never spend a token whose successor cannot be saved
        try:
            body = self._exchange(current)
        except InvalidGrant:
            # Someone may have rotated the token between our read and our request (an old
            # version without the lock, a copy of the token file): re-read once.
            again = self._current_refresh_token()
            if again == current:
                raise NotConnected(
                    "QuickBooks no longer accepts the stored refresh token (invalid_grant: "
                    "revoked, expired or superseded); " + reconnect_hint(self.own.environment)
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
        self._take(str(body["access_token"]), int(body.get("expires_in", 3600)))
        self._record_expiries(body)

    def _take(self, token: str, expires_in: int) -> None:
        """Use a new access token and keep it beside the refresh token for the next runs."""
        self._access = token
        self._expires_at = self.clock() + expires_in
        self.refreshes += 1
        try:
            self.store.save_access(token, self._expires_at)
        except StoreUnavailable:  # e.g. a keyring entry too small: the next run refreshes
            log.debug("the access token could not be cached in the %s", self.store.describe())

    def _record_expiries(self, body: dict[str, Any]) -> None:
        stamp = datetime.fromtimestamp(self.clock(), UTC)
        self.connection.last_refresh_at = stamp.isoformat(timespec="seconds")
        if "x_refresh_token_expires_in" in body:
            expires = stamp + timedelta(seconds=int(body["x_refresh_token_expires_in"]))
            self.connection.refresh_expires_at = expires.isoformat(timespec="seconds")
        if "x_refresh_token_hard_expires_in" in body:
            hard = stamp + timedelta(seconds=int(body["x_refresh_token_hard_expires_in"]))
            self.connection.hard_expires_at = hard.isoformat(timespec="seconds")
        with contextlib.suppress(UnsafeFile):  # metadata only; the tokens are already safe
            self.connection.save(self.settings.app_dir)

    def _exchange(self, refresh_token: str) -> dict[str, Any]:
        return token_request(
            self.http,
            self.own.endpoints,
            self.connection.client_id,
            self.client_secret,
            {"grant_type": "refresh_token", "refresh_token": refresh_token},
        )

    def seed_access(self, token: str, expires_in: int) -> None:
        """Use an access token obtained elsewhere (the code exchange in `connect`)."""
        with self._mutex:
            self._take(token, expires_in)

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
