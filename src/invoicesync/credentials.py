"""Where a target's secrets live: a token file if configured, else the OS keyring (one secret
per entry), else a read-only env seed (docs/connecting.md, "Where tokens live"). Each target
chooses among these for its own secrets (QuickBooks: targets/quickbooks/auth/stores.py)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import secrets
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import Any

import platformdirs

from invoicesync.config import APP_NAME, Settings
from invoicesync.errors import (
    EXIT_NOT_CONNECTED,
    ConfigError,
    InvoiceSyncError,
    NotConnected,
    register_secret,
)
from invoicesync.files import probe_writable, read_text, write_atomic

SERVICE = "invoicesync"
ACCESS_KEY = "access_token"
PROBE_KEY = "probe"


class StoreUnavailable(InvoiceSyncError):
    """The keyring is missing or broken; callers fall back or explain."""

    exit_code = EXIT_NOT_CONNECTED


class TokenStore(ABC):
    """One place holding one connection's secrets. `lock_file` is the refresh lock: it belongs
    to the token, not to an app dir, so every home sharing this token takes the same lock."""

    writable = True
    lock_file: Path
    private_lock_dir = True  # the lock's folder is ours alone (the per-user lock dir)

    @abstractmethod
    def get(self, key: str) -> str | None: ...

    @abstractmethod
    def set(self, key: str, value: str) -> None: ...

    def delete(self, key: str) -> None:
        """Delete one secret. Deleting the refresh token deletes the access token cached with
        it: an access token never outlives the connection it came from."""
        self._remove(key)
        if key == "refresh_token":
            self._remove(ACCESS_KEY)

    @abstractmethod
    def _remove(self, key: str) -> None: ...

    @abstractmethod
    def describe(self) -> str:
        """Where the tokens are, for messages and `status` (never the secret itself)."""

    @abstractmethod
    def check_writable(self) -> None:
        """Raise the user's error if a token could not be saved here (before spending one)."""

    def load_access(self) -> tuple[str, float] | None:
        """The cached access token and when it expires (epoch seconds), if one is stored.

        One entry, "<expires> <token>": token and expiry are replaced together, so a reader
        never pairs a new token with an old expiry."""
        raw = self.get(ACCESS_KEY)
        stamp, _, token = (raw or "").partition(" ")
        if not stamp.isdigit() or not token:
            return None
        register_secret(token)
        return token, int(stamp)

    def save_access(self, token: str, expires_at: float) -> None:
        register_secret(token)
        self.set(ACCESS_KEY, f"{int(expires_at)} {token}")


class KeyringStore(TokenStore):
    """OS keyring, one secret per entry (Windows caps an entry at ~1280 characters)."""

    def __init__(self, prefix: str, lock_dir: Path) -> None:
        self.prefix = prefix
        self.lock_file = keyed_lock(lock_dir, prefix)

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

    def _remove(self, key: str) -> None:
        import keyring

        self._call(lambda: keyring.delete_password(SERVICE, f"{self.prefix}{key}"))

    def describe(self) -> str:
        return f"OS keyring (service {SERVICE!r})"

    def check_writable(self) -> None:
        """Write, read back and delete a probe entry: a locked or read-only keyring fails here
        (and may ask the user to unlock it) rather than after the browser consent."""
        probe = secrets.token_hex(8)
        self.set(PROBE_KEY, probe)
        try:
            if self.get(PROBE_KEY) != probe:
                raise StoreUnavailable(
                    "the OS keyring does not keep what is written to it; set "
                    "INVOICESYNC_TOKEN_FILE to a private file path to store tokens there instead"
                )
        finally:
            self.delete(PROBE_KEY)


class FileStore(TokenStore):
    """A private JSON file (0600, written atomically); for machines without a keyring. It is
    read without following a link (`files.read_text`), so a token file that is a link to
    another connection's is refused before its refresh token can be used or revoked."""

    private_lock_dir = False  # the lock sits beside the file, in the folder the user chose

    def __init__(self, path: Path, prefix: str) -> None:
        self.path = path
        self.prefix = prefix
        self.lock_file = path.with_name(path.name + ".lock")

    def _read(self) -> dict[str, str]:
        text = read_text(self.path)
        if text is None:
            return {}
        try:
            data = json.loads(text)
        except ValueError as exc:
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
        write_atomic(self.path, json.dumps(data, indent=2))

    def _remove(self, key: str) -> None:
        data = self._read()
        if data.pop(f"{self.prefix}{key}", None) is not None:
            write_atomic(self.path, json.dumps(data, indent=2))

    def describe(self) -> str:
        return f"token file {self.path}"

    def remove_if_empty(self) -> None:
        """Remove the file once it holds no token (after `disconnect`)."""
        if not self._read():
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()

    def check_writable(self) -> None:
        self._read()  # a token file that exists must be ours to read
        probe_writable(self.path)


class EnvStore(TokenStore):
    """INVOICESYNC_REFRESH_TOKEN, read-only: a rotated token cannot be saved here."""

    writable = False

    def __init__(self, seed: str | None, prefix: str, lock_dir: Path) -> None:
        self.seed = seed
        self.lock_file = keyed_lock(lock_dir, prefix)
        register_secret(seed)

    def get(self, key: str) -> str | None:
        return self.seed if key == "refresh_token" else None

    def set(self, key: str, value: str) -> None:
        register_secret(value)
        self.seed = value if key == "refresh_token" else self.seed

    def _remove(self, key: str) -> None:
        return None

    def describe(self) -> str:
        return "INVOICESYNC_REFRESH_TOKEN (read-only)"

    def check_writable(self) -> None:
        raise NotConnected(
            "no writable token store: the OS keyring is unavailable; set INVOICESYNC_TOKEN_FILE "
            "to a private file path and connect again"
        )


def lock_dir(settings: Settings) -> Path:
    """Where keyed refresh locks live: `INVOICESYNC_LOCK_DIR`, else the user's cache dir, which
    every home of this user sees (an app dir would not: two homes, two locks, a lost rotation)."""
    if settings.lock_dir is not None:
        return settings.lock_dir
    return Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False)) / "locks"


def keyed_lock(directory: Path, prefix: str) -> Path:
    """The refresh lock of one keyring entry (service + environment + realm), by hash."""
    digest = hashlib.sha256(f"{SERVICE}\0{prefix}".encode()).hexdigest()[:32]
    return directory / f"refresh-{digest}.lock"
