"""The composition root for a B2BRouter profile: the stored connection, the API key's store,
the client and the ledger.

The API key is a secret and is kept like QuickBooks tokens: in the token file when
`token_file` / `INVOICESYNC_TOKEN_FILE` is set, else in the OS keyring, under the key
`b2brouter:<account>:api_key`; `INVOICESYNC_B2BROUTER_API_KEY` overrides both (CI). The
account id, the endpoint and the account's name are not secrets: they live in the profile's
`b2brouter.json` beside its state.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

from invoicesync.config import Settings
from invoicesync.credentials import FileStore, KeyringStore, TokenStore
from invoicesync.errors import ConfigError, NotConnected, UsageError, register_secret
from invoicesync.files import read_text, write_atomic
from invoicesync.targets.b2brouter import settings as b2brouter
from invoicesync.targets.b2brouter.api import PRODUCTION_URL, B2BRouterClient, is_test_key
from invoicesync.targets.b2brouter.ledger import B2BRouterLedger, CountingTransport
from invoicesync.usecases.session import Session

CONNECTION_FILE = "b2brouter.json"
DEFAULT_URL = PRODUCTION_URL  # test_ keys use the same host


def environment_of(api_key: str) -> str:
    """B2BRouter's two environments share a host; the key says which (`test_` prefix)."""
    return "test" if is_test_key(api_key) else "production"


@dataclass
class B2BConnection:
    """What `connect` learnt about the account (no secrets)."""

    account: str
    url: str
    connected_at: str
    account_name: str | None = None

    @staticmethod
    def path(app_dir: Path) -> Path:
        return app_dir / CONNECTION_FILE

    @classmethod
    def load(cls, app_dir: Path) -> B2BConnection | None:
        """Read like every file of the app dir: never through a link (exit 8)."""
        path = cls.path(app_dir)
        text = read_text(path)
        if text is None:
            return None
        try:
            data = json.loads(text)
            return cls(
                **{k: data[k] for k in ("account", "url", "connected_at")},
                account_name=data.get("account_name"),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigError(
                f"{path}: unreadable ({exc}); run `invoicesync connect` again"
            ) from None

    def save(self, app_dir: Path) -> None:
        write_atomic(self.path(app_dir), json.dumps(asdict(self), indent=2))

    @classmethod
    def delete(cls, app_dir: Path) -> None:
        with contextlib.suppress(FileNotFoundError):
            cls.path(app_dir).unlink()


def realm_key(account: str) -> str:
    """How local state names a B2BRouter account: never mistaken for a QuickBooks realm, even
    in a shared PostgreSQL state."""
    return f"b2brouter:{account}"


def key_store(settings: Settings, account: str) -> TokenStore:
    """Token file if configured, else the OS keyring (which may raise `StoreUnavailable`)."""
    prefix = f"{realm_key(account)}:"
    if settings.token_file is not None:
        return FileStore(settings.token_file, prefix)
    # The key never rotates, so the store's refresh lock is never taken; it lives in the app dir.
    return KeyringStore(prefix, settings.lock_dir or settings.app_dir / "locks")


def _not_connected() -> NotConnected:
    return NotConnected(
        "not connected to B2BRouter: run `invoicesync connect` for this profile (or set "
        "INVOICESYNC_B2BROUTER_API_KEY and INVOICESYNC_B2BROUTER_ACCOUNT)"
    )


def usable_key(api_key: str) -> str:
    """The key as sent in a header: printable ASCII without spaces, else a clear refusal
    (the message never repeats the key)."""
    key = api_key.strip()
    register_secret(key)
    if not key or not all("!" <= ch <= "~" for ch in key):
        raise UsageError(
            "the B2BRouter API key is empty or has characters a key cannot have; copy it "
            "again from Developers → API keys"
        )
    return key


def usable_url(url: str) -> str:
    if not url.startswith(("http://", "https://")) or any(ch.isspace() for ch in url):
        raise ConfigError(
            f"b2brouter_url must be an http(s) address such as {PRODUCTION_URL}, not {url!r}"
        )
    return url


def configured_account(settings: Settings, conn: B2BConnection | None) -> str | None:
    """The account id: the profile's (or INVOICESYNC_B2BROUTER_ACCOUNT), else the one `connect`
    stored; None when neither says."""
    return b2brouter.of(settings).account or (conn.account if conn else None)


def credentials(settings: Settings) -> tuple[str, str, str, TokenStore | None]:
    """The account, the endpoint, the API key and where it is kept (None: the environment)."""
    own = b2brouter.of(settings)
    conn = B2BConnection.load(settings.app_dir)
    account = configured_account(settings, conn)
    if not account:
        raise _not_connected()
    url = usable_url(own.url or (conn.url if conn else None) or PRODUCTION_URL)
    if own.api_key:
        return account, url, usable_key(own.api_key), None
    store = key_store(settings, account)
    key = store.get("api_key")
    if not key:
        raise _not_connected()
    return account, url, usable_key(key), store


def make_ledger(
    settings: Settings,
    account: str,
    url: str,
    api_key: str,
    *,
    transport: httpx.BaseTransport | None = None,
) -> B2BRouterLedger:
    counting = CountingTransport(transport or httpx.HTTPTransport())
    client = B2BRouterClient(
        api_key, account, base_url=url, transport=counting, timeout=settings.timeout
    )
    return B2BRouterLedger(client, realm_key(account), counting.counts)


class B2BRouterSession(Session):
    """A connected B2BRouter account plus local state."""

    def __init__(
        self, settings: Settings, ledger: B2BRouterLedger, store_name: str, url: str
    ) -> None:
        super().__init__(settings, ledger, ledger.realm_key)
        self.b2b = ledger
        self.key_store = store_name
        self.url = url

    def close(self) -> None:
        self.b2b.client.close()
        super().close()


def open_b2b_session(
    settings: Settings, *, transport: httpx.BaseTransport | None = None
) -> B2BRouterSession:
    account, url, key, store = credentials(settings)  # an unusable keyring says so (exit 4)
    ledger = make_ledger(settings, account, url, key, transport=transport)
    where = store.describe() if store else "INVOICESYNC_B2BROUTER_API_KEY"
    return B2BRouterSession(settings, ledger, where, url)


def local_account(settings: Settings) -> str | None:
    """The account's key in local state (`b2brouter:<account>`), read without a network call;
    None when not connected."""
    account = configured_account(settings, B2BConnection.load(settings.app_dir))
    return realm_key(account) if account else None
