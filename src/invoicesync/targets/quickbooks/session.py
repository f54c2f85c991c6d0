"""The composition root for a QuickBooks company: the stored connection, the token manager,
the client and the ledger."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import httpx

from invoicesync.config import Settings
from invoicesync.errors import NotConnected, register_secret
from invoicesync.files import open_private, private_dir
from invoicesync.store import now_iso
from invoicesync.targets.quickbooks import settings as qbo
from invoicesync.targets.quickbooks.api import QBOClient
from invoicesync.targets.quickbooks.api.limiter import log_wait, wait_message
from invoicesync.targets.quickbooks.auth import (
    Connection,
    QBOAuth,
    TokenManager,
    TokenStore,
    choose_store,
    has_refresh_token,
    not_connected,
)
from invoicesync.targets.quickbooks.cache import CatalogCache
from invoicesync.targets.quickbooks.ledger import QuickBooksLedger
from invoicesync.usecases.session import Session


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
            income_account=qbo.of(settings).prepare_income_account,
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


def current_connection(settings: Settings) -> Connection:
    """The connection from connection.json, with env/config values taking precedence."""
    conn, own = Connection.load(settings.app_dir), qbo.of(settings)
    realm = own.realm_id or (conn.realm_id if conn else None)
    client_id = own.client_id or (conn.client_id if conn else None)
    if not realm or not client_id:
        raise not_connected()
    if conn is None or conn.realm_id != realm or conn.environment != own.environment:
        conn = Connection(own.environment, realm, client_id, now_iso())
    conn.client_id = client_id
    return conn


def _client_secret(settings: Settings, store: TokenStore) -> str:
    secret = qbo.of(settings).client_secret or store.get("client_secret")
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
        base_url=qbo.of(settings).endpoints.api_url,
        realm_id=conn.realm_id,
        auth=QBOAuth(manager),
        transport=transport,
        timeout=settings.timeout,
        # Checked here (exit 8 for a link or a folder others can write): qbo/ imports nothing
        # of ours, so it is handed the opener that refuses links and other users' files too.
        budget_dir=private_dir(qbo.budget_dir(settings), root=settings.app_root),
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


def local_realm(settings: Settings) -> str | None:
    """The realm of the configured company, read without a network call; None when not
    connected."""
    conn = Connection.load(settings.app_dir)
    return qbo.of(settings).realm_id or (conn.realm_id if conn else None)
