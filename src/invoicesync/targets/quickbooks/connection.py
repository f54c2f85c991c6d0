"""Connect, disconnect and status: the connection to a QuickBooks company."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from invoicesync.config import Settings, save_config_values
from invoicesync.errors import NotConnected, register_secret
from invoicesync.store import StateStore
from invoicesync.store.followups import followups
from invoicesync.targets.quickbooks import settings as qbo
from invoicesync.targets.quickbooks.auth import (
    Callback,
    CallbackListener,
    Connection,
    DisconnectReport,
    StoreUnavailable,
    TokenStore,
    authorize_url,
    check_token_store,
    choose_store,
    exchange_code,
    new_state,
    parse_callback,
    reconnect_hint,
    revoke_and_delete,
    token_file_setting,
)
from invoicesync.targets.quickbooks.session import (
    QuickBooksSession,
    current_connection,
    quickbooks_session,
)
from invoicesync.targets.quickbooks.settings import PLAYGROUND_REDIRECT

EXPIRY_WARNING_DAYS = 14  # warn this long before the refresh token's hard expiry
CALLBACK_TIMEOUT = 300.0  # seconds the loopback listener waits for Intuit's redirect


@dataclass
class ConnectResult:
    realm_id: str
    company_name: str
    environment: str
    store: str


@dataclass
class Browser:
    """How `connect` meets the person: show the URL, open it, or ask for the redirect."""

    show_url: Callable[[str], None]
    open_url: Callable[[str], Any]
    ask_redirect: Callable[[str], str]
    waiting: Callable[[str, float], None] = lambda address, timeout: None  # loopback listener


def _authorize(
    settings: Settings,
    client_id: str,
    client_secret: str,
    manual: bool,
    port: int,
    browser: Browser,
    transport: httpx.BaseTransport | None,
    timeout: float,
) -> tuple[dict[str, Any], Callback]:
    """The browser round trip: Intuit's consent page, its redirect, the code exchanged."""
    state, own = new_state(), qbo.of(settings)
    with httpx.Client(transport=transport, timeout=30.0) as http:
        if manual:
            redirect_uri = own.redirect_uri or PLAYGROUND_REDIRECT
            url = authorize_url(own.endpoints, client_id, redirect_uri, state)
            browser.show_url(url)
            callback = parse_callback(browser.ask_redirect(url), state)
        else:
            listener = CallbackListener(port, state)
            redirect_uri = f"http://localhost:{listener.port}/callback"
            url = authorize_url(own.endpoints, client_id, redirect_uri, state)
            listener.start()
            browser.show_url(url)
            browser.waiting(redirect_uri, timeout)
            browser.open_url(url)
            callback = listener.wait(timeout)
        tokens = exchange_code(
            http, own.endpoints, client_id, client_secret, callback, redirect_uri
        )
    return dict(tokens), callback


def connect(
    settings: Settings,
    *,
    client_id: str,
    client_secret: str,
    manual: bool,
    port: int,
    browser: Browser,
    transport: httpx.BaseTransport | None = None,
    timeout: float = CALLBACK_TIMEOUT,
) -> ConnectResult:
    """The authorization-code flow, then store the refresh token and the connection."""
    register_secret(client_secret)
    environment = qbo.of(settings).environment
    check_token_store(settings)  # before the consent: an authorization code is single-use
    tokens, callback = _authorize(
        settings, client_id, client_secret, manual, port, browser, transport, timeout
    )
    realm = callback.realm_id
    store = choose_store(settings, realm)
    store.set("refresh_token", str(tokens["refresh_token"]))
    # Stored however it was given (prompt or INVOICESYNC_CLIENT_SECRET): a later run under
    # cron has neither, and the refresh token is useless without it (docs/cron.md).
    store.set("client_secret", client_secret)
    now = datetime.now(UTC)
    refresh_for = timedelta(seconds=int(tokens.get("x_refresh_token_expires_in", 0)))
    conn = Connection(
        environment=environment,
        realm_id=realm,
        client_id=client_id,
        connected_at=now.isoformat(timespec="seconds"),
        refresh_expires_at=(now + refresh_for).isoformat(timespec="seconds"),
    )
    save_config_values(  # token_file too, so later commands find the tokens without the env
        settings.config_path,
        {
            "environment": environment,
            "realm_id": realm,
            "client_id": client_id,
            **token_file_setting(settings),
        },
        profile=settings.profile,
    )
    conn.save(settings.app_dir)
    # Confirm the connection works and learn the company's name.
    connected = qbo.with_section(
        settings, realm_id=realm, client_id=client_id, client_secret=client_secret
    )
    with quickbooks_session(connected, transport=transport) as opened:
        opened.manager.seed_access(str(tokens["access_token"]), int(tokens.get("expires_in", 3600)))
        conn.company_name = opened.ledger.company().name
        conn.save(settings.app_dir)
    return ConnectResult(realm, conn.company_name or "", environment, store.describe())


def disconnect(
    settings: Settings, *, transport: httpx.BaseTransport | None = None
) -> DisconnectReport:
    """Revoke at Intuit and delete every stored token, wherever this home put it; idempotent.
    Tokens that could not be deleted are an exit 4 naming where they are: never claim a
    disconnect that did not happen."""
    with httpx.Client(transport=transport, timeout=30.0) as http:
        report = revoke_and_delete(settings, http)
    error = report.error()
    if error is not None:
        raise error
    return report


@dataclass
class Seed:
    realm_id: str
    environment: str
    refresh_token: str
    store: str


def ci_seed(settings: Settings) -> Seed:
    """The refresh token as stored now, to seed a CI secret (INVOICESYNC_REFRESH_TOKEN)."""
    conn, own = current_connection(settings), qbo.of(settings)
    try:
        store: TokenStore | None = choose_store(settings, conn.realm_id)
    except StoreUnavailable:
        store = None
    token = (store.get("refresh_token") if store else None) or own.refresh_token_seed
    if not token:
        raise NotConnected("no refresh token is stored: run `invoicesync connect` first")
    where = store.describe() if store else "INVOICESYNC_REFRESH_TOKEN"
    return Seed(conn.realm_id, own.environment, token, where)


@dataclass
class StatusReport:
    environment: str
    realm_id: str
    company_name: str | None
    country: str | None
    token_store: str
    access_expires_at: str | None
    refresh_expires_at: str | None
    hard_expires_at: str | None
    links: dict[str, int]
    pending: int
    warnings: list[str]
    sent: int = 0  # linked invoices QuickBooks e-mailed (send, push --send)
    paid: int = 0  # linked invoices last seen paid (payments, reconcile)


def _expiry_warning(refresh_at: str | None, environment: str) -> list[str]:
    if not refresh_at:
        return []
    left = datetime.fromisoformat(refresh_at) - datetime.now(UTC)
    if left >= timedelta(days=EXPIRY_WARNING_DAYS):
        return []
    return [
        f"the refresh token expires in {max(left.days, 0)} days; " + reconnect_hint(environment)
    ]


def sent_invoices(store: StateStore, realm_id: str) -> set[str]:
    """Linked invoices whose linked document was e-mailed (the document itself: a send of the
    invoice that shares a credit memo's Id does not count for the credit note)."""
    linked = {ln.invoice_number: ln.ref for ln in store.links(realm_id)}
    return {
        f.invoice_number
        for f in followups(store, realm_id, "send")
        if f.state == "done" and linked.get(f.invoice_number) == f.ref
    }


def status(opened: QuickBooksSession) -> StatusReport:
    """Company, environment, token expiry, link counts and warnings."""
    company = opened.ledger.company()
    conn = opened.connection
    conn.company_name = company.name or conn.company_name
    warnings = opened.warnings + _expiry_warning(
        conn.refresh_expires_at, qbo.of(opened.settings).environment
    )
    store = opened.existing_store()
    links = store.count_links(opened.account) if store else {}
    pending = len(store.journals.creates.entries(opened.account, "pending")) if store else 0
    if pending:
        warnings.append(f"{pending} push(es) were interrupted; `invoicesync push` resolves them")
    manager = opened.manager
    access = datetime.fromtimestamp(manager.access_expires_at, UTC) if manager.refreshes else None
    return StatusReport(
        environment=qbo.of(opened.settings).environment,
        realm_id=opened.account,
        company_name=conn.company_name,
        country=company.country,
        token_store=manager.store.describe(),
        access_expires_at=access.isoformat(timespec="seconds") if access else None,
        refresh_expires_at=conn.refresh_expires_at,
        hard_expires_at=conn.hard_expires_at,
        links=links,
        pending=pending,
        warnings=warnings,
        sent=len(sent_invoices(store, opened.account)) if store else 0,
        paid=sum(1 for ln in store.links(opened.account) if ln.last_state == "paid")
        if store
        else 0,
    )
