"""OAuth 2.0 with Intuit: the code flow, the token stores, and refreshes that survive rotation.

- `connection`: the connection file (no secrets) in the app dir.
- `stores`: where tokens live: token file | OS keyring | read-only env seed.
- `endpoint`: Intuit's token and revocation endpoints.
- `tokens`: access tokens for API calls, refreshed under a cross-process lock.
- `codeflow`: the authorization-code flow and its loopback listener.
"""

from invoicesync.auth.codeflow import (
    CallbackListener,
    authorize_url,
    exchange_code,
    new_state,
    parse_callback,
)
from invoicesync.auth.connection import Connection, reconnect_hint
from invoicesync.auth.endpoint import revoke
from invoicesync.auth.stores import (
    EnvStore,
    FileStore,
    KeyringStore,
    StoreUnavailable,
    TokenStore,
    choose_store,
)
from invoicesync.auth.tokens import QBOAuth, TokenManager

__all__ = [
    "CallbackListener",
    "Connection",
    "EnvStore",
    "FileStore",
    "KeyringStore",
    "QBOAuth",
    "StoreUnavailable",
    "TokenManager",
    "TokenStore",
    "authorize_url",
    "choose_store",
    "exchange_code",
    "new_state",
    "parse_callback",
    "reconnect_hint",
    "revoke",
]
