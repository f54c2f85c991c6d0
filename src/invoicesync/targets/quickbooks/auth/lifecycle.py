"""Connect, disconnect and every command's start, at the token layer: the facts they must tell
the truth about: is the token store usable before the browser opens, is there a connection at
all, and where are tokens really stored when disconnecting."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from invoicesync.config import Settings, read_config_file
from invoicesync.credentials import (
    ACCESS_KEY,
    FileStore,
    KeyringStore,
    TokenStore,
    lock_dir,
)
from invoicesync.errors import ConfigError, InvoiceSyncError, NotConnected
from invoicesync.files import UnsafePath
from invoicesync.targets.quickbooks import settings as qbo
from invoicesync.targets.quickbooks.auth.connection import Connection
from invoicesync.targets.quickbooks.auth.endpoint import revoke
from invoicesync.targets.quickbooks.auth.stores import choose_store

TOKEN_KEYS = ("refresh_token", "client_secret", ACCESS_KEY)
DEFAULT_TOKEN_FILE = "tokens.json"  # in the app dir: where the demo and docs put one


# --- connect -------------------------------------------------------------------------------------


def check_token_store(settings: Settings) -> str:
    """Prove the token store `connect` will use can save a token, BEFORE the OAuth round trip
    (an authorization code is single-use: failing after it wastes the user's consent). Returns
    the store's description; raises the user's error (exit 4 or 8) otherwise."""
    try:
        store = choose_store(settings, realm_id="")
        store.check_writable()
    except InvoiceSyncError as exc:
        exc.message = f"{exc.message} (nothing was sent to Intuit)"
        raise
    return store.describe()


def token_file_setting(settings: Settings) -> dict[str, str]:
    """What `connect` adds to config.toml when it stored tokens in a token file: its absolute
    path as `token_file`, so later commands (and `disconnect`) find it without the
    environment variable that named it."""
    if settings.token_file is None:
        return {}
    return {"token_file": str(settings.token_file.expanduser().absolute())}


# --- every command -------------------------------------------------------------------------------


def not_connected() -> NotConnected:
    """The one 'not connected' error (exit 4): never connected, or disconnected since."""
    return NotConnected(
        "not connected to QuickBooks: run `invoicesync connect` (or set "
        "INVOICESYNC_CLIENT_ID, INVOICESYNC_CLIENT_SECRET, INVOICESYNC_REALM_ID and "
        "INVOICESYNC_REFRESH_TOKEN for CI)"
    )


def has_refresh_token(settings: Settings, store: TokenStore) -> bool:
    """Whether there is a connection to use: a refresh token in the store, or the CI seed.
    False after `disconnect`, although config.toml still names the company and the
    environment may still hold the client id and secret."""
    return bool(qbo.of(settings).refresh_token_seed or store.get("refresh_token"))


# --- disconnect ----------------------------------------------------------------------------------


def _load_connection(settings: Settings) -> Connection | None:
    """connection.json if readable; a garbled one must not stop a disconnect."""
    with contextlib.suppress(ConfigError):
        return Connection.load(settings.app_dir)
    return None


@dataclass
class DisconnectReport:
    """What `disconnect` found, revoked and deleted, and where tokens remain (by description,
    never the secret)."""

    realm_id: str | None
    found: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    remaining: list[str] = field(default_factory=list)  # "place: why"; non-empty means exit 4
    unchecked: list[str] = field(default_factory=list)  # places that could not be looked into
    revoked: bool | None = None  # None: no refresh token to revoke
    revoke_problem: str | None = None
    had_connection_file: bool = False
    looked_in: list[str] = field(default_factory=list)  # where tokens were looked for

    @property
    def was_connected(self) -> bool:
        return bool(self.found) or self.had_connection_file or self.revoked is not None

    @property
    def tokens_unaccounted(self) -> bool:
        """A connection is on record, yet no token was found anywhere we looked: they are
        somewhere we do not know (a token file no setting names), so claim nothing."""
        return self.had_connection_file and not self.found and self.revoked is None

    def error(self) -> NotConnected | None:
        """The exit-4 error to raise when tokens remain stored, naming every place."""
        if self.tokens_unaccounted:
            return NotConnected(
                "no refresh token in "
                + ", ".join(self.looked_in or ["the token stores"])
                + ", so nothing was revoked or deleted: if you connected with a token file, set "
                "INVOICESYNC_TOKEN_FILE to it and run `invoicesync disconnect` again"
            )
        if not self.remaining:
            return None
        return NotConnected(
            "tokens are still stored in " + "; ".join(self.remaining) + ": fix that and run "
            "`invoicesync disconnect` again"
        )


def _token_files(settings: Settings) -> list[Path]:
    """Every token file this home may have used: the setting in force (env or config), the
    config file's own `token_file`, and the default location in the app dir."""
    candidates = [settings.token_file]
    with contextlib.suppress(ConfigError):
        configured = read_config_file(settings.config_path).get("token_file")
        if isinstance(configured, str) and configured:
            candidates.append(Path(configured).expanduser())
    candidates.append(settings.app_dir / DEFAULT_TOKEN_FILE)
    unique: dict[Path, Path] = {}
    for path in candidates:
        if path is not None and path.exists():
            unique.setdefault(path.resolve(), path)
    return list(unique.values())


def _places(settings: Settings, prefixes: list[str]) -> Iterator[TokenStore]:
    for path in _token_files(settings):
        for prefix in prefixes:
            yield FileStore(path, prefix)
    for prefix in prefixes:
        yield KeyringStore(prefix, lock_dir(settings))


def where(store: TokenStore) -> str:
    """A place exact enough to go and look: the file, or the keyring entries' names."""
    if isinstance(store, KeyringStore):
        return f"{store.describe()[:-1]}, entries {store.prefix}*)"
    return store.describe()


def _held(store: TokenStore, report: DisconnectReport) -> dict[str, str]:
    """The keys `store` holds, with their values; a store that cannot be read is `unchecked`.
    A token file that is a link (or another user's) stops the disconnect before anything is
    revoked (exit 8): what it points at may be another connection's tokens."""
    try:
        return {key: value for key in TOKEN_KEYS if (value := store.get(key))}
    except UnsafePath:
        raise
    except InvoiceSyncError as exc:
        report.unchecked.append(f"{where(store)}: {exc}")
        return {}


def _revoke_all(
    settings: Settings,
    http: httpx.Client,
    client_id: str | None,
    held: list[tuple[TokenStore, dict[str, str]]],
    report: DisconnectReport,
) -> None:
    own = qbo.of(settings)
    tokens = {v for _s, keys in held for k, v in keys.items() if k == "refresh_token"}
    if own.refresh_token_seed:
        tokens.add(own.refresh_token_seed)
    if not tokens:
        return
    secrets_found = [keys["client_secret"] for _s, keys in held if "client_secret" in keys]
    secret = own.client_secret or next(iter(secrets_found), None)
    if not client_id or not secret:
        report.revoked = False
        report.revoke_problem = "no client id or client secret to authenticate the revocation"
        return
    results = [revoke(http, own.endpoints, client_id, secret, t) for t in sorted(tokens)]
    report.revoked = all(results)
    if not report.revoked:
        report.revoke_problem = "Intuit did not confirm the revocation"


def _delete(store: TokenStore, keys: dict[str, str], report: DisconnectReport) -> None:
    try:
        for key in keys:
            store.delete(key)
        left = _held(store, report)
    except InvoiceSyncError as exc:
        report.remaining.append(f"{where(store)}: {exc}")
        return
    if left:
        report.remaining.append(f"{where(store)}: {', '.join(sorted(left))} not deleted")
    else:
        report.deleted.append(where(store))
        if isinstance(store, FileStore):
            store.remove_if_empty()


def revoke_and_delete(settings: Settings, http: httpx.Client) -> DisconnectReport:
    """Revoke at Intuit and delete every token this home stored, wherever it is: the token file
    in force, the one config.toml names, `tokens.json` in the app dir, and the keyring; for the
    environment and company of both the settings and connection.json. Then the connection
    file goes. The report says what was found and deleted and where tokens remain."""
    conn, own = _load_connection(settings), qbo.of(settings)
    pairs = {(own.environment, own.realm_id)}
    if conn is not None:
        pairs.add((conn.environment, conn.realm_id))
    prefixes = sorted(f"{env}:{realm}:" for env, realm in pairs if realm)
    report = DisconnectReport(
        realm_id=own.realm_id or (conn.realm_id if conn else None),
        had_connection_file=Connection.path(settings.app_dir).exists(),
    )
    places = list(_places(settings, prefixes))
    report.looked_in = list(dict.fromkeys(where(s) for s in places))
    held = [(s, keys) for s in places if (keys := _held(s, report))]
    report.found = [where(store) for store, _keys in held]
    client_id = own.client_id or (conn.client_id if conn else None)
    _revoke_all(settings, http, client_id, held, report)
    for store, keys in held:
        _delete(store, keys, report)
    if not report.tokens_unaccounted:  # else keep the record of a connection we cannot find
        Connection.delete(settings.app_dir)
    for name in ("found", "deleted", "remaining", "unchecked"):  # one line per place
        setattr(report, name, list(dict.fromkeys(getattr(report, name))))
    return report
