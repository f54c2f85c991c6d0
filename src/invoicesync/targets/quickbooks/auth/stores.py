"""Where a QuickBooks connection's tokens live: the token file if configured, else the OS
keyring if usable, else the CI seed (`INVOICESYNC_REFRESH_TOKEN`, read-only). Entries are
keyed on environment and realm, so a sandbox company never reads a production token."""

from __future__ import annotations

from invoicesync.config import Settings
from invoicesync.credentials import (
    EnvStore,
    FileStore,
    KeyringStore,
    StoreUnavailable,
    TokenStore,
    lock_dir,
)
from invoicesync.targets.quickbooks import settings as qbo


def choose_store(settings: Settings, realm_id: str) -> TokenStore:
    """Token file if configured, else the keyring if usable, else the env seed."""
    own = qbo.of(settings)
    prefix = f"{own.environment}:{realm_id}:"
    if settings.token_file is not None:
        return FileStore(settings.token_file, prefix)
    keyring_store = KeyringStore(prefix, lock_dir(settings))
    try:
        keyring_store.get("refresh_token")
        return keyring_store
    except StoreUnavailable:
        if own.refresh_token_seed:
            return EnvStore(own.refresh_token_seed, prefix, lock_dir(settings))
        raise
