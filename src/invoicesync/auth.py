"""OAuth 2.0 with Intuit: the code flow, the token store, and refreshes that survive rotation.

Rules that come from users' pain (users-and-peers.md §3.1):
- Intuit rotates refresh tokens; a rotated token that is not stored is a connection lost days
  later. So a refresh happens under a cross-process file lock: re-read the store, refresh,
  persist the new refresh token, and only then hand out the new access token.
- The access token lives in memory only; the refresh token in one place: the token file if
  configured, else the OS keyring (one secret per entry), else a read-only env seed.
- An authorization code is exchanged exactly once.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import os
import secrets
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Generator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import filelock
import httpx

from invoicesync.config import Endpoints, Settings
from invoicesync.errors import (
    EXIT_NOT_CONNECTED,
    ConfigError,
    InvoiceSyncError,
    NotConnected,
    QuickBooksUnavailable,
    UsageError,
    register_secret,
)

log = logging.getLogger(__name__)
SERVICE = "invoicesync"
SCOPE = "com.intuit.quickbooks.accounting"
REFRESH_LEEWAY = 60.0
EXPIRY_WARNING_DAYS = 14


def reconnect_hint(environment: str) -> str:
    manual = " --manual" if environment == "production" else ""
    return f"run `invoicesync connect{manual}` to reconnect"


# --- connection metadata (no secrets) ------------------------------------------------------------


@dataclass
class Connection:
    """What we know about the connection besides secrets; kept in app dir/connection.json."""

    environment: str
    realm_id: str
    client_id: str
    connected_at: str
    company_name: str | None = None
    refresh_expires_at: str | None = None
    hard_expires_at: str | None = None
    last_refresh_at: str | None = None

    @staticmethod
    def path(app_dir: Path) -> Path:
        return app_dir / "connection.json"

    @classmethod
    def load(cls, app_dir: Path) -> Connection | None:
        try:
            data = json.loads(cls.path(app_dir).read_text(encoding="utf-8"))
            return cls(**data)
        except FileNotFoundError:
            return None
        except (ValueError, TypeError) as exc:
            raise ConfigError(
                f"{cls.path(app_dir)}: unreadable connection file ({exc}); delete it and run "
                "`invoicesync connect`"
            ) from None

    def save(self, app_dir: Path) -> None:
        _atomic_write(self.path(app_dir), json.dumps(asdict(self), indent=2))

    @staticmethod
    def delete(app_dir: Path) -> None:
        with contextlib.suppress(FileNotFoundError):
            Connection.path(app_dir).unlink()


def _atomic_write(path: Path, text: str) -> None:
    """Write a 0600 file atomically (a crash leaves the old or the new content, never half)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    with contextlib.suppress(OSError):
        os.chmod(path, 0o600)


# --- token stores --------------------------------------------------------------------------------


class StoreUnavailable(InvoiceSyncError):
    """The keyring is missing or broken; callers fall back or explain."""

    exit_code = EXIT_NOT_CONNECTED


class TokenStore(ABC):
    name: str
    writable = True

    @abstractmethod
    def get(self, key: str) -> str | None: ...

    @abstractmethod
    def set(self, key: str, value: str) -> None: ...

    @abstractmethod
    def delete(self, key: str) -> None: ...

    def describe(self) -> str:
        return self.name


class KeyringStore(TokenStore):
    """OS keyring, one secret per entry (Windows caps an entry at ~1280 characters)."""

    name = "keyring"

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def _call(self, fn: Callable[[], Any]) -> Any:
        import keyring
        import keyring.errors

        try:
            return fn()
        except keyring.errors.PasswordDeleteError:
            return None
        except Exception as exc:  # every backend failure degrades to one clear message
            raise StoreUnavailable(
                f"the OS keyring is not usable ({type(exc).__name__}); set INVOICESYNC_TOKEN_FILE "
                "to a private file path to store tokens there instead"
            ) from None

    def get(self, key: str) -> str | None:
        import keyring

        value: str | None = self._call(lambda: keyring.get_password(SERVICE, f"{self.prefix}{key}"))
        register_secret(value)
        return value

    def set(self, key: str, value: str) -> None:
        import keyring

        register_secret(value)
        self._call(lambda: keyring.set_password(SERVICE, f"{self.prefix}{key}", value))

    def delete(self, key: str) -> None:
        import keyring

        self._call(lambda: keyring.delete_password(SERVICE, f"{self.prefix}{key}"))

    def describe(self) -> str:
        return f"OS keyring (service {SERVICE!r})"


class FileStore(TokenStore):
    """A private JSON file (0600, written atomically); for machines without a keyring."""

    name = "file"

    def __init__(self, path: Path, prefix: str) -> None:
        self.path = path
        self.prefix = prefix

    def _read(self) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{self.path}: token file is unreadable ({exc})") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{self.path}: token file is not a JSON object")
        for value in data.values():
            register_secret(str(value))
        return {str(k): str(v) for k, v in data.items()}

    def get(self, key: str) -> str | None:
        return self._read().get(f"{self.prefix}{key}")

    def set(self, key: str, value: str) -> None:
        register_secret(value)
        data = self._read()
        data[f"{self.prefix}{key}"] = value
        _atomic_write(self.path, json.dumps(data, indent=2))

    def delete(self, key: str) -> None:
        data = self._read()
        if data.pop(f"{self.prefix}{key}", None) is not None:
            _atomic_write(self.path, json.dumps(data, indent=2))

    def describe(self) -> str:
        return f"token file {self.path}"


class EnvStore(TokenStore):
    """INVOICESYNC_REFRESH_TOKEN, read-only: a rotated token cannot be saved here."""

    name = "env"
    writable = False

    def __init__(self, seed: str | None) -> None:
        self.seed = seed
        register_secret(seed)

    def get(self, key: str) -> str | None:
        return self.seed if key == "refresh_token" else None

    def set(self, key: str, value: str) -> None:
        register_secret(value)
        self.seed = value if key == "refresh_token" else self.seed

    def delete(self, key: str) -> None:
        return None

    def describe(self) -> str:
        return "INVOICESYNC_REFRESH_TOKEN (read-only)"


def choose_store(settings: Settings, realm_id: str) -> TokenStore:
    """Token file if configured, else the keyring if usable, else the env seed."""
    prefix = f"{settings.environment}:{realm_id}:"
    if settings.token_file is not None:
        return FileStore(settings.token_file, prefix)
    keyring_store = KeyringStore(prefix)
    try:
        keyring_store.get("refresh_token")
        return keyring_store
    except StoreUnavailable:
        if settings.refresh_token_seed:
            return EnvStore(settings.refresh_token_seed)
        raise


def lock_path(settings: Settings) -> Path:
    if settings.token_file is not None:
        return settings.token_file.with_name(settings.token_file.name + ".lock")
    return settings.app_dir / "refresh.lock"


# --- the token endpoint --------------------------------------------------------------------------


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
        raise QuickBooksUnavailable(
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
        raise QuickBooksUnavailable(
            f"Intuit's token endpoint answered HTTP {response.status_code}; safe to re-run later"
        )
    raise NotConnected(f"token request failed: {error}: {body.get('error_description', '')}")


class InvalidGrant(NotConnected):
    def __init__(self, description: str) -> None:
        super().__init__(f"Intuit rejected the refresh token (invalid_grant: {description})")


# --- refreshing ----------------------------------------------------------------------------------


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


# --- the authorization-code flow -----------------------------------------------------------------


def authorize_url(endpoints: Endpoints, client_id: str, redirect_uri: str, state: str) -> str:
    query = urlencode(
        {
            "client_id": client_id,
            "response_type": "code",
            "scope": SCOPE,
            "redirect_uri": redirect_uri,
            "state": state,
        }
    )
    return f"{endpoints.auth_url}?{query}"


def new_state() -> str:
    return secrets.token_urlsafe(24)


@dataclass(frozen=True)
class Callback:
    code: str
    realm_id: str


def parse_callback(url_or_query: str, expected_state: str) -> Callback:
    """Check `state` and pull `code` and `realmId` from a redirect URL (or its query string)."""
    query = urlsplit(url_or_query.strip()).query if "?" in url_or_query else url_or_query
    params = {k: v[0] for k, v in parse_qs(query.strip()).items()}
    if params.get("error"):
        raise NotConnected(
            f"authorization was not granted ({params['error']}); run `invoicesync connect` again"
        )
    if not secrets.compare_digest(params.get("state", ""), expected_state):
        raise UsageError(
            "the redirect's state does not match this connect attempt (a stale or forged "
            "redirect); run `invoicesync connect` again and use the new URL"
        )
    if not params.get("code") or not params.get("realmId"):
        raise UsageError("the redirect URL has no code or realmId; paste the full address")
    return Callback(params["code"], params["realmId"])


class CallbackListener:
    """A one-shot HTTP listener on 127.0.0.1 for the OAuth redirect.

    It binds loopback only, answers every path but /callback with 404, and accepts the first
    /callback whose `state` matches; later hits (browser retries) get a friendly page and are
    ignored, so the code is exchanged exactly once.
    """

    def __init__(self, port: int, state: str) -> None:
        self.state = state
        self.result: Callback | None = None
        self.error: InvoiceSyncError | None = None
        self._done = threading.Event()
        listener = self

        class Handler(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: object) -> None:
                """Silent: nothing about the redirect belongs in the user's terminal."""

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                if url.path != "/callback":
                    self.send_error(404)
                    return
                if listener._done.is_set():
                    self._page(200, "Already connected. You can close this window.")
                    return
                try:
                    listener.result = parse_callback(url.query, listener.state)
                except InvoiceSyncError as exc:
                    if isinstance(exc, UsageError):  # wrong state: ignore, keep waiting
                        self._page(400, "This link is not from the current connect attempt.")
                        return
                    listener.error = exc
                listener._done.set()
                self._page(200, "invoicesync is connected. You can close this window.")

            def _page(self, status: int, text: str) -> None:
                body = f"<!doctype html><title>invoicesync</title><p>{text}</p>".encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        try:
            self.server = HTTPServer(("127.0.0.1", port), Handler)
        except OSError as exc:
            raise UsageError(
                f"cannot listen on 127.0.0.1:{port} for the OAuth redirect ({exc.strerror}); "
                "choose another --port (and register http://localhost:PORT/callback), or use "
                "--manual"
            ) from None
        self.port = int(self.server.server_address[1])
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while not self._done.is_set():
            self.server.handle_request()

    def start(self) -> None:
        self.server.timeout = 0.2
        self._thread.start()

    def wait(self, timeout: float) -> Callback:
        finished = self._done.wait(timeout)
        self.server.server_close()
        if self.error is not None:
            raise self.error
        if not finished or self.result is None:
            raise NotConnected(
                f"no redirect arrived within {timeout:.0f}s; run `invoicesync connect` again "
                "(or `invoicesync connect --manual` on a machine without a browser)"
            )
        return self.result


def exchange_code(
    http: httpx.Client,
    endpoints: Endpoints,
    client_id: str,
    client_secret: str,
    callback: Callback,
    redirect_uri: str,
) -> dict[str, Any]:
    return token_request(
        http,
        endpoints,
        client_id,
        client_secret,
        {"grant_type": "authorization_code", "code": callback.code, "redirect_uri": redirect_uri},
    )


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
    return response.status_code in (200, 400)
