"""OAuth 2.0 with Intuit: the code flow, the token stores, and refreshes that survive rotation.

- `connection`: the connection file (no secrets) in the app dir.
- `stores`: where tokens live: token file | OS keyring | read-only env seed (the stores
  themselves are `invoicesync.credentials`, shared with other targets' secrets).
- `endpoint`: Intuit's token and revocation endpoints.
- `tokens`: access tokens for API calls, refreshed under a cross-process lock.
- `codeflow`: the authorization-code flow and its loopback listener.
- `lifecycle`: what connect, disconnect and every command's start must know: is the store
  usable, is there a connection, where are tokens really stored.
"""

from invoicesync.credentials import (
    EnvStore,
    FileStore,
    KeyringStore,
    StoreUnavailable,
    TokenStore,
)
from invoicesync.targets.quickbooks.auth.codeflow import (
    Callback,
    CallbackListener,
    authorize_url,
    exchange_code,
    new_state,
    parse_callback,
)
from invoicesync.targets.quickbooks.auth.connection import Connection, reconnect_hint
from invoicesync.targets.quickbooks.auth.endpoint import revoke
from invoicesync.targets.quickbooks.auth.lifecycle import (
    DisconnectReport,
    check_token_store,
    has_refresh_token,
    not_connected,
    revoke_and_delete,
    token_file_setting,
)
from invoicesync.targets.quickbooks.auth.stores import choose_store
from invoicesync.targets.quickbooks.auth.tokens import QBOAuth, TokenManager

__all__ = [
    "Callback",
    "CallbackListener",
    "Connection",
    "DisconnectReport",
    "EnvStore",
    "FileStore",
    "KeyringStore",
    "QBOAuth",
    "StoreUnavailable",
    "TokenManager",
    "TokenStore",
    "authorize_url",
    "check_token_store",
    "choose_store",
    "exchange_code",
    "has_refresh_token",
    "new_state",
    "not_connected",
    "parse_callback",
    "reconnect_hint",
    "revoke",
    "revoke_and_delete",
    "token_file_setting",
]
