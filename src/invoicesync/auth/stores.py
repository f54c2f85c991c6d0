"""Where the refresh token lives: a token file if configured, else the OS keyring (one secret
per entry), else a read-only env seed (design §4.3)."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import Any

from invoicesync.config import Settings
from invoicesync.errors import ConfigError, InvoiceSyncError, register_secret
from invoicesync.files import read_text, write_atomic

SERVICE = "invoicesync"


class StoreUnavailable(InvoiceSyncError):
    """The keyring is missing or broken; callers fall back or explain."""

    exit_code = 4


class TokenStore(ABC):
    writable = True

    @abstractmethod
    def get(self, key: str) -> str | None: ...

    @abstractmethod
    def set(self, key: str, value: str) -> None: ...

    @abstractmethod
    def delete(self, key: str) -> None: ...

    @abstractmethod
    def describe(self) -> str:
        """Where the tokens are, for messages and `status` (never the secret itself)."""


class KeyringStore(TokenStore):
    """OS keyring, one secret per entry (Windows caps an entry at ~1280 characters)."""

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

    def __init__(self, path: Path, prefix: str) -> None:
        self.path = path
        self.prefix = prefix

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

    def delete(self, key: str) -> None:
        data = self._read()
        if data.pop(f"{self.prefix}{key}", None) is not None:
            write_atomic(self.path, json.dumps(data, indent=2))

    def describe(self) -> str:
        return f"token file {self.path}"


class EnvStore(TokenStore):
    """INVOICESYNC_REFRESH_TOKEN, read-only: a rotated token cannot be saved here."""

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
