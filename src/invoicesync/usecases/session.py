"""A connected session: the target (a ledger), the token manager, and the local state.

Opened once per command. The state lock is taken here too (`locked`), so the use cases, not
the CLI, decide which commands write state and therefore hold it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any, Protocol

import httpx

from invoicesync.auth import (
    Connection,
    QBOAuth,
    TokenManager,
    TokenStore,
    choose_store,
    has_refresh_token,
    not_connected,
)
from invoicesync.config import Settings
from invoicesync.errors import NotConnected, register_secret
from invoicesync.files import open_private, private_dir
from invoicesync.ledger.base import Ledger
from invoicesync.ledger.qbo_cache import CatalogCache
from invoicesync.ledger.quickbooks import QuickBooksLedger
from invoicesync.qbo import QBOClient
from invoicesync.qbo.limiter import log_wait, wait_message
from invoicesync.store import StateStore, existing_store, now_iso, open_store, state_lock


class Progress(Protocol):
    """Where a long use case reports progress (the CLI draws it on a terminal)."""

    def start(self, total: int, description: str) -> None: ...
    def advance(self, n: int = 1) -> None: ...


class NoProgress:
    def start(self, total: int, description: str) -> None:
        return None

    def advance(self, n: int = 1) -> None:
        return None


class Session:
    """A connected target (its ledger) plus local state: what every use case works with.
    `realm_id` names the company or account in local state (a QuickBooks realm id, or
    `b2brouter:<account>`)."""

    def __init__(self, settings: Settings, ledger: Ledger, realm_id: str) -> None:
        self.settings = settings
        self.ledger = ledger
        self.realm_id = realm_id
        self._store: StateStore | None = None

    @property
    def store(self) -> StateStore:
        """The configured state (SQLite in the app dir, or PostgreSQL with `state_url`)."""
        if self._store is None:
            self._store = open_store(self.settings)
        return self._store

    def existing_store(self) -> StateStore | None:
        """The store if it exists already (dry runs and reads must not create one)."""
        if self._store is None:
            self._store = existing_store(self.settings)
        return self._store

    def locked(self, wait: float | None) -> contextlib.AbstractContextManager[None]:
        """The state lock for a command that writes links (exit 9, or wait `wait` seconds):
        the app dir's file lock, or with a shared PostgreSQL state its advisory lock."""
        if self.settings.state_url:
            return self.store.run_lock(wait=wait)
        return state_lock(self.settings.app_dir, wait=wait, root=self.settings.app_root)

    @property
    def warnings(self) -> list[str]:
        return []

    def close(self) -> None:
        if self._store is not None:
            self._store.close()


class QuickBooksSession(Session):
    """A connected QuickBooks company: its token manager and client beside the ledger."""

    def __init__(
        self, settings: Settings, connection: Connection, manager: TokenManager, client: QBOClient
    ) -> None:
        send_numbers = settings.push.doc_numbers == "source"
        ledger = QuickBooksLedger(
            client,
            connection.realm_id,
            send_numbers=send_numbers,
            aliases=settings.aliases,
            income_account=settings.prepare_income_account,
            cache=CatalogCache(settings.app_dir, connection.realm_id, root=settings.app_root),
        )
        super().__init__(settings, ledger, connection.realm_id)
        self.connection = connection
        self.manager = manager
        self.client = client

    @property
    def warnings(self) -> list[str]:
        return list(self.manager.warnings)

    def close(self) -> None:
        self.client.close()
        self.manager.http.close()
        super().close()


def local_realm(settings: Settings) -> str | None:
    """The key of the configured company or account in local state, read without a network
    call: a QuickBooks realm id, or `b2brouter:<account>`; None when not connected."""
    if settings.target == "b2brouter":
        from invoicesync.usecases.b2b_session import B2BConnection, realm_key

        b2b = B2BConnection.load(settings.app_dir)
        account = settings.b2brouter_account or (b2b.account if b2b else None)
        return realm_key(account) if account else None
    conn = Connection.load(settings.app_dir)
    return settings.realm_id or (conn.realm_id if conn else None)


def current_connection(settings: Settings) -> Connection:
    """The connection from connection.json, with env/config values taking precedence."""
    conn = Connection.load(settings.app_dir)
    realm = settings.realm_id or (conn.realm_id if conn else None)
    client_id = settings.client_id or (conn.client_id if conn else None)
    if not realm or not client_id:
        raise not_connected()
    if conn is None or conn.realm_id != realm or conn.environment != settings.environment:
        conn = Connection(settings.environment, realm, client_id, now_iso())
    conn.client_id = client_id
    return conn


def _client_secret(settings: Settings, store: TokenStore) -> str:
    secret = settings.client_secret or store.get("client_secret")
    if not secret:
        raise NotConnected(
            "the Intuit app's client secret is missing: set INVOICESYNC_CLIENT_SECRET or run "
            "`invoicesync connect`"
        )
    register_secret(secret)
    return secret


def open_session(
    settings: Settings,
    *,
    transport: httpx.BaseTransport | None = None,
    client_factory: Callable[..., QBOClient] | None = None,
    notify: Callable[[str], None] | None = None,
) -> QuickBooksSession:
    """`notify` receives "QuickBooks is throttling this company; waiting 60 s" and the like
    whenever the client waits on QuickBooks (default: a logging warning)."""
    conn = current_connection(settings)
    store = choose_store(settings, conn.realm_id)
    if not has_refresh_token(settings, store):
        raise not_connected()  # after `disconnect`, not "the client secret is missing"
    secret = _client_secret(settings, store)
    http = httpx.Client(transport=transport, timeout=settings.timeout)
    manager = TokenManager(settings, conn, store, secret, http=http)
    client = (client_factory or QBOClient)(
        base_url=settings.endpoints.api_url,
        realm_id=conn.realm_id,
        auth=QBOAuth(manager),
        transport=transport,
        timeout=settings.timeout,
        # Checked here (exit 8 for a link or a folder others can write): qbo/ imports nothing
        # of ours, so it is handed the opener that refuses links and other users' files too.
        budget_dir=private_dir(settings.budget_dir, root=settings.app_root),
        budget_opener=open_private,
        on_wait=log_wait if notify is None else lambda s, why: notify(wait_message(s, why)),
    )
    return QuickBooksSession(settings, conn, manager, client)


@contextlib.contextmanager
def quickbooks_session(settings: Settings, **kw: Any) -> Iterator[QuickBooksSession]:
    opened = open_session(settings, **kw)
    try:
        yield opened
    finally:
        opened.close()


@contextlib.contextmanager
def session(settings: Settings, **kw: Any) -> Iterator[Session]:
    """The session of the configured target: QuickBooks, or B2BRouter for a profile with
    `target = "b2brouter"`."""
    if settings.target == "b2brouter":
        from invoicesync.usecases.b2b_session import open_b2b_session

        opened: Session = open_b2b_session(settings, transport=kw.get("transport"))
    else:
        opened = open_session(settings, **kw)
    try:
        yield opened
    finally:
        opened.close()
