"""Connect, disconnect and status for a B2BRouter profile: an API key and an account id.

`connect` checks the pair against B2BRouter (reading the account) before keeping anything,
so a key from the other environment (test_ against production, or the reverse) or a wrong
account is refused at once rather than at the first push.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from invoicesync.config import Settings, save_config_values
from invoicesync.errors import NotConnected, UsageError
from invoicesync.ledger.base import DELIVERY_PROBLEMS
from invoicesync.ledger.tracking import REGISTRATION_PROBLEMS
from invoicesync.models import Delivery, Link
from invoicesync.store import now_iso
from invoicesync.targets.b2brouter import settings as b2brouter
from invoicesync.targets.b2brouter.session import (
    DEFAULT_URL,
    B2BConnection,
    B2BRouterSession,
    configured_account,
    environment_of,
    key_store,
    make_ledger,
    usable_key,
    usable_url,
)
from invoicesync.targets.b2brouter.setup import SettingCheck, mismatches


@dataclass
class B2BConnectResult:
    account: str
    account_name: str
    environment: str  # test or production, from the key
    url: str
    store: str
    calculation: list[SettingCheck] = field(default_factory=list)


def connect(
    settings: Settings,
    *,
    api_key: str,
    account: str,
    transport: httpx.BaseTransport | None = None,
) -> B2BConnectResult:
    """Check the key and account against B2BRouter, then store the key and the connection."""
    api_key, account = usable_key(api_key), account.strip()
    if not account.isdigit():
        raise UsageError(
            f"the B2BRouter account id is a number (Developers → View IDs), not {account!r}"
        )
    url = usable_url(b2brouter.of(settings).url or DEFAULT_URL)
    ledger = make_ledger(settings, account, url, api_key, transport=transport)
    try:
        remote, checks = ledger.setup()
    finally:
        ledger.client.close()
    name = remote.name
    store = key_store(settings, account)
    if not store.writable:
        raise NotConnected("no writable store for the API key; set INVOICESYNC_TOKEN_FILE")
    store.set("api_key", api_key)
    B2BConnection(account, url, now_iso(), name).save(settings.app_dir)
    save_config_values(
        settings.config_path,
        {"target": "b2brouter", "b2brouter_account": account},
        profile=settings.profile,
    )
    return B2BConnectResult(account, name, environment_of(api_key), url, store.describe(), checks)


@dataclass
class B2BDisconnectResult:
    was_connected: bool
    account: str | None


def disconnect(settings: Settings) -> B2BDisconnectResult:
    """Forget the stored key and connection (B2BRouter has nothing to revoke); idempotent."""
    conn = B2BConnection.load(settings.app_dir)
    account = configured_account(settings, conn)
    if account is None:
        return B2BDisconnectResult(False, None)
    store = key_store(settings, account)
    had_key = store.get("api_key") is not None
    store.delete("api_key")
    B2BConnection.delete(settings.app_dir)
    return B2BDisconnectResult(had_key or conn is not None, account)


@dataclass
class B2BStatusReport:
    account: str
    account_name: str
    country: str | None
    environment: str
    url: str
    key_store: str
    links: dict[str, int]
    pending: int
    warnings: list[str] = field(default_factory=list)
    calculation: list[SettingCheck] = field(default_factory=list)
    # What the last `reconcile` saw of the linked documents (delivery, registration), by state.
    last_states: dict[str, int] = field(default_factory=dict)
    # What B2BRouter said at that reconcile: delivery states and registrations by state, and
    # each document with a delivery or registration problem, with B2BRouter's reason.
    deliveries: dict[str, int] = field(default_factory=dict)
    registrations: dict[str, int] = field(default_factory=dict)
    problems: list[tuple[str, Delivery]] = field(default_factory=list)


# Last-seen states that need someone to act (reconcile's delivery and registration problems).
NEEDS_ACTION = ("error", "refused", "registration error")


def status(opened: B2BRouterSession) -> B2BStatusReport:
    """The account (read live) with its calculation settings against the source's, which
    environment the key is for, and local link counts."""
    remote, checks = opened.b2b.setup()
    client = opened.b2b.client
    store = opened.existing_store()
    links = store.count_links(opened.account) if store else {}
    pending = len(store.journals.creates.entries(opened.account, "pending")) if store else 0
    linked = store.links(opened.account) if store else []
    seen = Counter(ln.last_state for ln in linked)
    last_states = {state: n for state, n in sorted(seen.items()) if state}
    warnings = mismatches(checks)
    stuck = sum(last_states.get(state, 0) for state in NEEDS_ACTION)
    if stuck:
        warnings.append(
            f"{stuck} linked invoice(s) had a delivery or registration problem at the last "
            "reconcile; `invoicesync reconcile` shows each with B2BRouter's reason"
        )
    if pending:
        warnings.append(f"{pending} push(es) were interrupted; `invoicesync push` resolves them")
    return B2BStatusReport(
        account=client.account,
        account_name=remote.name,
        country=remote.country,
        environment="test" if client.is_test else "production",
        url=opened.url,
        key_store=opened.key_store,
        links=links,
        pending=pending,
        warnings=warnings,
        calculation=checks,
        last_states=last_states,
        **_seen_by_b2brouter(linked),
    )


def _seen_by_b2brouter(linked: Sequence[Link]) -> dict[str, Any]:
    """Counts of what the last reconcile stored, and the documents that need someone."""
    seen = [(ln.invoice_number, ln.last_delivery) for ln in linked if ln.last_delivery]
    deliveries = Counter(d.state for _, d in seen)
    registrations = Counter(f"{r.kind} {r.state}" for _, d in seen for r in d.registrations)
    problems = [
        (number, d)
        for number, d in seen
        if d.state in DELIVERY_PROBLEMS
        or any(r.state in REGISTRATION_PROBLEMS for r in d.registrations)
    ]
    return {
        "deliveries": dict(sorted(deliveries.items())),
        "registrations": dict(sorted(registrations.items())),
        "problems": problems,
    }


__all__ = ["SettingCheck", "connect", "disconnect", "mismatches", "status"]
