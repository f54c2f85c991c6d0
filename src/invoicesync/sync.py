"""Use cases: connect, status, invoices, push, list-candidates, link, unlink, reconcile.

Each returns a plain result object; `cli.py` renders it. No printing here: progress goes
through the `Progress` protocol, warnings into the result.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

import httpx

from invoicesync import mapping, matching
from invoicesync.auth import (
    CallbackListener,
    Connection,
    QBOAuth,
    StoreUnavailable,
    TokenManager,
    TokenStore,
    authorize_url,
    choose_store,
    exchange_code,
    new_state,
    parse_callback,
    reconnect_hint,
    revoke,
)
from invoicesync.config import PLAYGROUND_REDIRECT, Settings, save_config_values, with_overrides
from invoicesync.errors import (
    Conflict,
    InvoiceSyncError,
    NotConnected,
    PrerequisiteMissing,
    QuickBooksUnavailable,
    UsageError,
    register_secret,
)
from invoicesync.models import Candidate, Link, LocalInvoice
from invoicesync.qbo import QBOClient
from invoicesync.qbo import errors as qerr
from invoicesync.qbo import query as qq
from invoicesync.sources import open_source
from invoicesync.store import JournalEntry, LinkExists, Store, now_iso

BATCH_SIZE = 30
WORKERS = 4  # batch requests in flight; QBO allows 10 concurrent per realm
Outcomes = dict[str, "dict[str, Any] | qerr.QBOError"]


class Progress(Protocol):
    def start(self, total: int, description: str) -> None: ...
    def advance(self, n: int = 1) -> None: ...


class _NoProgress:
    def start(self, total: int, description: str) -> None:
        return None

    def advance(self, n: int = 1) -> None:
        return None


# --- sessions ------------------------------------------------------------------------------------


@dataclass
class Session:
    """A connected QuickBooks company plus local state, opened once per command."""

    settings: Settings
    connection: Connection
    manager: TokenManager
    client: QBOClient
    _store: Store | None = None

    @property
    def realm_id(self) -> str:
        return self.connection.realm_id

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store.open(self.settings.state_db)
        return self._store

    def existing_store(self) -> Store | None:
        """The store if it exists already (dry runs must not create one)."""
        if self._store is None and not self.settings.state_db.exists():
            return None
        return self.store

    def close(self) -> None:
        self.client.close()
        self.manager.http.close()
        if self._store is not None:
            self._store.close()


def _connection(settings: Settings) -> Connection:
    """The connection from connection.json, with env/config values taking precedence."""
    conn = Connection.load(settings.app_dir)
    realm = settings.realm_id or (conn.realm_id if conn else None)
    client_id = settings.client_id or (conn.client_id if conn else None)
    if not realm or not client_id:
        raise NotConnected(
            "not connected to QuickBooks: run `invoicesync connect` (or set "
            "INVOICESYNC_CLIENT_ID, INVOICESYNC_CLIENT_SECRET, INVOICESYNC_REALM_ID and "
            "INVOICESYNC_REFRESH_TOKEN for CI)"
        )
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
) -> Session:
    conn = _connection(settings)
    store = choose_store(settings, conn.realm_id)
    secret = _client_secret(settings, store)
    http = httpx.Client(transport=transport, timeout=settings.timeout)
    manager = TokenManager(settings, conn, store, secret, http=http)
    client = (client_factory or QBOClient)(
        base_url=settings.endpoints.api_url,
        realm_id=conn.realm_id,
        auth=QBOAuth(manager),
        transport=transport,
        timeout=settings.timeout,
    )
    return Session(settings, conn, manager, client)


@contextlib.contextmanager
def session(settings: Settings, **kw: Any) -> Iterator[Session]:
    s = open_session(settings, **kw)
    try:
        yield s
    finally:
        s.close()


def translate(exc: qerr.QBOError, what: str) -> InvoiceSyncError:
    """A QBO error as the user-facing error with the right exit code."""
    if isinstance(exc, qerr.AuthError):
        return NotConnected(
            f"QuickBooks refused the token while {what} ({exc}); "
            "run `invoicesync connect` to reconnect"
        )
    if isinstance(exc, qerr.ForbiddenError):
        return NotConnected(
            f"QuickBooks refused access while {what} ({exc}): the token belongs to another "
            "environment or company; check INVOICESYNC_ENVIRONMENT and reconnect"
        )
    if isinstance(exc, (qerr.ThrottledError, qerr.ServerError, qerr.QBOConnectionError)):
        return QuickBooksUnavailable(
            f"QuickBooks is unavailable while {what}: {exc}; safe to re-run later"
        )
    return InvoiceSyncError(f"QuickBooks rejected a request while {what}: {exc}")


# --- connect / disconnect / status ---------------------------------------------------------------


@dataclass
class ConnectResult:
    realm_id: str
    company_name: str
    environment: str
    store: str


def connect(
    settings: Settings,
    *,
    client_id: str,
    client_secret: str,
    manual: bool,
    port: int,
    browser: Callable[[str], Any],
    ask_redirect: Callable[[str], str],
    show_url: Callable[[str], None],
    transport: httpx.BaseTransport | None = None,
    timeout: float = 300.0,
) -> ConnectResult:
    """The authorization-code flow, then store the refresh token and the connection."""
    register_secret(client_secret)
    state = new_state()
    http = httpx.Client(transport=transport, timeout=30.0)
    try:
        if manual:
            redirect_uri = settings.redirect_uri or PLAYGROUND_REDIRECT
            url = authorize_url(settings.endpoints, client_id, redirect_uri, state)
            show_url(url)
            callback = parse_callback(ask_redirect(url), state)
        else:
            listener = CallbackListener(port, state)
            redirect_uri = f"http://localhost:{listener.port}/callback"
            url = authorize_url(settings.endpoints, client_id, redirect_uri, state)
            listener.start()
            show_url(url)
            browser(url)
            callback = listener.wait(timeout)
        tokens = exchange_code(
            http, settings.endpoints, client_id, client_secret, callback, redirect_uri
        )
    finally:
        http.close()
    realm = callback.realm_id
    store = choose_store(settings, realm)
    if not store.writable:
        raise NotConnected(
            "no writable token store: the OS keyring is unavailable; set INVOICESYNC_TOKEN_FILE "
            "to a private file path and connect again"
        )
    store.set("refresh_token", str(tokens["refresh_token"]))
    if not settings.client_secret:
        store.set("client_secret", client_secret)
    now = datetime.now(UTC)
    conn = Connection(
        environment=settings.environment,
        realm_id=realm,
        client_id=client_id,
        connected_at=now.isoformat(timespec="seconds"),
        refresh_expires_at=(
            now + timedelta(seconds=int(tokens.get("x_refresh_token_expires_in", 0)))
        ).isoformat(timespec="seconds"),
    )
    save_config_values(
        settings.config_path,
        {"environment": settings.environment, "realm_id": realm, "client_id": client_id},
    )
    conn.save(settings.app_dir)
    # Confirm the connection works and learn the company's name.
    s_settings = with_overrides(
        settings, realm_id=realm, client_id=client_id, client_secret=client_secret
    )
    with session(s_settings, transport=transport) as s:
        s.manager.seed_access(str(tokens["access_token"]), int(tokens.get("expires_in", 3600)))
        try:
            info = s.client.company_info()
        except qerr.QBOError as exc:
            raise translate(exc, "reading the company's details") from None
        conn.company_name = str(info.get("CompanyName", ""))
        conn.save(settings.app_dir)
    return ConnectResult(realm, conn.company_name or "", settings.environment, store.describe())


@dataclass
class DisconnectResult:
    was_connected: bool
    revoked: bool
    realm_id: str | None


def disconnect(
    settings: Settings, *, transport: httpx.BaseTransport | None = None
) -> DisconnectResult:
    conn = Connection.load(settings.app_dir)
    realm = settings.realm_id or (conn.realm_id if conn else None)
    client_id = settings.client_id or (conn.client_id if conn else None)
    if not realm:
        return DisconnectResult(False, False, None)
    try:
        store = choose_store(settings, realm)
    except StoreUnavailable:
        store = None
    token = store.get("refresh_token") if store else None
    secret = settings.client_secret or (store.get("client_secret") if store else None)
    revoked = False
    if token and secret and client_id:
        with httpx.Client(transport=transport, timeout=30.0) as http:
            revoked = revoke(http, settings.endpoints, client_id, secret, token)
    if store is not None and store.writable:
        store.delete("refresh_token")
        store.delete("client_secret")
    Connection.delete(settings.app_dir)
    return DisconnectResult(bool(token) or conn is not None, revoked, realm)


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


def status(s: Session) -> StatusReport:
    try:
        info = s.client.company_info()
    except qerr.QBOError as exc:
        raise translate(exc, "reading the company's details") from None
    s.connection.company_name = str(info.get("CompanyName", "")) or s.connection.company_name
    warnings = list(s.manager.warnings)
    refresh_at = s.connection.refresh_expires_at
    if refresh_at:
        left = datetime.fromisoformat(refresh_at) - datetime.now(UTC)
        if left < timedelta(days=14):
            warnings.append(
                f"the refresh token expires in {max(left.days, 0)} days; "
                + reconnect_hint(s.settings.environment)
            )
    store = s.existing_store()
    links = store.count_links(s.realm_id) if store else {}
    pending = len(store.journal(s.realm_id, "pending")) if store else 0
    if pending:
        warnings.append(f"{pending} push(es) were interrupted; `invoicesync push` resolves them")
    access = (
        datetime.fromtimestamp(s.manager.access_expires_at, UTC) if s.manager.refreshes else None
    )
    return StatusReport(
        environment=s.settings.environment,
        realm_id=s.realm_id,
        company_name=s.connection.company_name,
        country=str(info.get("Country")) if info.get("Country") else None,
        token_store=s.manager.store.describe(),
        access_expires_at=access.isoformat(timespec="seconds") if access else None,
        refresh_expires_at=refresh_at,
        hard_expires_at=s.connection.hard_expires_at,
        links=links,
        pending=pending,
        warnings=warnings,
    )


# --- invoices ------------------------------------------------------------------------------------


def load_invoices(
    settings: Settings, warn: Callable[[str], None] | None = None
) -> list[LocalInvoice]:
    """All source invoices (exit 8 on any invalid record); unknown fields go to `warn`."""
    src = open_source(settings.source, csv_columns=settings.csv.columns)
    invoices = src.invoices()
    if warn is not None:
        for message in src.warnings:
            warn(message)
    return invoices


@dataclass
class InvoiceRow:
    invoice: LocalInvoice
    link: Link | None


def invoice_rows(
    settings: Settings, *, unlinked: bool = False, warn: Callable[[str], None] | None = None
) -> list[InvoiceRow]:
    """Source invoices with their link state (read locally; no QuickBooks call)."""
    invoices = load_invoices(settings, warn)
    conn = Connection.load(settings.app_dir)
    realm = settings.realm_id or (conn.realm_id if conn else None)
    links: dict[str, Link] = {}
    if realm and settings.state_db.exists():
        store = Store.open(settings.state_db)
        try:
            links = {link.invoice_number: link for link in store.links(realm)}
        finally:
            store.close()
    rows = [InvoiceRow(inv, links.get(inv.number)) for inv in invoices]
    return [r for r in rows if r.link is None] if unlinked else rows


# --- pre-flight ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    kind: str  # customer, item, term, tax code, currency
    wanted: str
    reason: str
    suggestions: tuple[matching.NearMatch, ...] = ()

    def text(self) -> str:
        hint = "; ".join(f"{m.name!r} ({m.reason})" for m in self.suggestions)
        return f"{self.kind} {self.wanted!r}: {self.reason}" + (
            f"; closest: {hint}" if hint else ""
        )


@dataclass
class Catalog:
    """Reference data for a whole batch: one paged query per kind."""

    ctx: mapping.CompanyContext
    customers: list[matching.Named] = field(default_factory=list)
    customer_currency: dict[str, str] = field(default_factory=dict)
    items: list[matching.Named] = field(default_factory=list)
    terms: list[matching.Named] = field(default_factory=list)
    tax_codes: list[matching.Named] = field(default_factory=list)


def _named(
    rows: list[dict[str, Any]], name_key: str, path_key: str | None = None
) -> list[matching.Named]:
    return [
        matching.Named(
            str(r["Id"]),
            str(r.get(name_key, "")),
            str(r.get(path_key or name_key) or r.get(name_key, "")),
            bool(r.get("Active", True)),
        )
        for r in rows
    ]


def company_context(client: QBOClient) -> mapping.CompanyContext:
    return company_context_from(client.company_info(), client.preferences())


def company_context_from(info: dict[str, Any], prefs: dict[str, Any]) -> mapping.CompanyContext:
    currency = prefs.get("CurrencyPrefs", {})
    return mapping.CompanyContext(
        country=str(info.get("Country") or "US"),
        home_currency=str((currency.get("HomeCurrency") or {}).get("value") or "USD"),
        multicurrency=bool(currency.get("MultiCurrencyEnabled", False)),
        custom_txn_numbers=bool(prefs.get("SalesFormsPrefs", {}).get("CustomTxnNumbers", False)),
    )


def load_catalog(client: QBOClient, invoices: Sequence[LocalInvoice]) -> Catalog:
    """Company context and every kind of reference the batch uses, one paged query per kind,
    all in flight at once (they are independent reads)."""
    with ThreadPoolExecutor(max_workers=6) as pool:
        info = pool.submit(client.company_info)
        prefs = pool.submit(client.preferences)
        customers_f = pool.submit(
            client.query, "select * from Customer where Active IN (true, false)"
        )
        items_f = pool.submit(client.query, "select * from Item where Active IN (true, false)")
        terms_f = (
            pool.submit(client.query, "select * from Term where Active IN (true, false)")
            if any(i.payment_terms for i in invoices)
            else None
        )
        codes_f = pool.submit(client.query, "select * from TaxCode")
        ctx = company_context_from(info.result(), prefs.result())
        catalog = Catalog(ctx)
        customers = customers_f.result()
        items = items_f.result()
        terms = terms_f.result() if terms_f else []
        codes = codes_f.result()
    catalog.customers = _named(customers, "DisplayName", "FullyQualifiedName")
    catalog.customer_currency = {
        str(c["Id"]): str((c.get("CurrencyRef") or {}).get("value") or ctx.home_currency)
        for c in customers
    }
    catalog.items = _named(items, "Name", "FullyQualifiedName")
    catalog.terms = _named(terms, "Name")
    catalog.tax_codes = _named(codes, "Name")
    return catalog


def resolve(invoice: LocalInvoice, catalog: Catalog) -> tuple[mapping.Refs | None, list[Problem]]:
    """Every reference of one invoice, or every problem with its closest names and reasons."""
    problems: list[Problem] = []
    ctx = catalog.ctx

    def find(
        kind: str, wanted: str, records: list[matching.Named], by_path: bool = False
    ) -> str | None:
        hit = matching.find_exact(wanted, records, by_path=by_path)
        if hit is not None and hit.active:
            return hit.id
        if hit is not None:
            problems.append(Problem(kind, wanted, "is inactive in QuickBooks; reactivate it"))
            return None
        problems.append(
            Problem(
                kind,
                wanted,
                "not found in QuickBooks",
                tuple(matching.near_matches(wanted, records)),
            )
        )
        return None

    name = invoice.customer.name
    customer_id = find("customer", name, catalog.customers, by_path=":" in name)
    items: dict[str, str] = {}
    services = [ln.service for ln in invoice.lines] + [a.service for a in invoice.adjustments]
    for service in dict.fromkeys(services):
        found = find("item", service, catalog.items, by_path=":" in service)
        if found:
            items[service] = found
    term_id = find("term", invoice.payment_terms, catalog.terms) if invoice.payment_terms else None
    tax_codes: dict[str, str] = {}
    txn_tax = None
    taxes = [ln.tax for ln in invoice.lines] + [a.tax for a in invoice.adjustments]
    if ctx.us:
        for tax in taxes:
            if tax is not None and tax.upper() not in mapping.US_LINE_CODES:
                problems.append(
                    Problem(
                        "tax code",
                        tax,
                        "US invoice lines take TAX or NON; put "
                        "the sales tax code in the invoice's tax_code",
                    )
                )
        if invoice.tax_code:
            txn_tax = find("tax code", invoice.tax_code, catalog.tax_codes)
    else:
        if invoice.tax_code:
            problems.append(
                Problem(
                    "tax code",
                    invoice.tax_code,
                    "tax_code is for US companies; non-US companies take a tax code on every line",
                )
            )
        for index, tax in enumerate(taxes, start=1):
            if tax is None:
                problems.append(
                    Problem(
                        "tax code",
                        f"line {index}",
                        "missing: non-US companies need a tax code on every line",
                    )
                )
            elif tax not in tax_codes:
                found = find("tax code", tax, catalog.tax_codes)
                if found:
                    tax_codes[tax] = found
    if invoice.currency != ctx.home_currency and not ctx.multicurrency:
        problems.append(
            Problem(
                "currency",
                invoice.currency,
                f"the company's currency is {ctx.home_currency} and multicurrency is off",
            )
        )
    if customer_id:
        cust_currency = catalog.customer_currency.get(customer_id, ctx.home_currency)
        if cust_currency != invoice.currency:
            problems.append(
                Problem(
                    "currency",
                    invoice.currency,
                    f"customer {name!r} is billed in {cust_currency} in QuickBooks",
                )
            )
    if problems or customer_id is None:
        return None, problems
    return mapping.Refs(customer_id, items, term_id, tax_codes, txn_tax), []


# --- push ----------------------------------------------------------------------------------------


def request_id(realm_id: str, number: str, generation: int) -> str:
    """Deterministic per (realm, invoice, generation): a re-run replays, never duplicates."""
    digest = hashlib.sha256(f"{realm_id}\x1f{number}\x1f{generation}".encode()).hexdigest()
    return f"is1-{digest[:32]}"


def marker_request_id(action: str, realm_id: str, number: str, qbo: dict[str, Any]) -> str:
    """For writing or removing our marker: keyed on the target invoice and its SyncToken, so a
    retry of the same write is replayed but a write to another invoice (or a later version of
    the same one) is never answered with an earlier write's response."""
    key = f"{action}\x1f{realm_id}\x1f{number}\x1f{qbo['Id']}\x1f{qbo.get('SyncToken')}"
    return f"{action}-{hashlib.sha256(key.encode()).hexdigest()[:32]}"


def batch_request_id(item_ids: Sequence[str]) -> str:
    return hashlib.sha256("\x1f".join(item_ids).encode()).hexdigest()[:32]


@dataclass
class PushResult:
    invoice: str
    status: str  # created, adopted, skipped, failed, planned
    qbo_id: str | None = None
    doc_number: str | None = None
    total: Decimal | None = None
    currency: str | None = None
    message: str = ""
    exit_code: int = 0
    problems: list[str] = field(default_factory=list)
    payload: dict[str, Any] | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass
class PushReport:
    realm_id: str
    dry_run: bool
    results: list[PushResult]
    fatal: InvoiceSyncError | None = None
    requests: dict[str, int] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.results:
            out[r.status] = out.get(r.status, 0) + 1
        return out

    @property
    def failed(self) -> list[PushResult]:
        return [r for r in self.results if r.status == "failed"]


def select_invoices(
    invoices: Sequence[LocalInvoice], numbers: Sequence[str], all_: bool, since: date | None
) -> tuple[list[LocalInvoice], list[PushResult]]:
    if bool(numbers) == all_:
        raise UsageError("name the invoices to push, or use --all (not both)")
    skipped: list[PushResult] = []
    if all_:
        chosen = [i for i in invoices if i.pushable and (since is None or i.issue_date >= since)]
        return chosen, skipped
    by_number = {i.number: i for i in invoices}
    unknown = [n for n in numbers if n not in by_number]
    if unknown:
        raise UsageError(
            f"not in the source: {', '.join(unknown)}; `invoicesync invoices` lists what is there"
        )
    chosen = []
    for number in dict.fromkeys(numbers):
        inv = by_number[number]
        if inv.pushable:
            chosen.append(inv)
        else:
            skipped.append(
                PushResult(
                    number,
                    "skipped",
                    message=f"status is {inv.status}; only sent or paid invoices are pushed",
                )
            )
    return chosen, skipped


def _link_from(invoice: LocalInvoice, realm: str, qbo: dict[str, Any], origin: str) -> Link:
    return Link(
        realm_id=realm,
        invoice_number=invoice.number,
        qbo_id=str(qbo["Id"]),
        doc_number=qbo.get("DocNumber"),
        origin=origin,
        linked_at=now_iso(),
        sync_token=str(qbo.get("SyncToken")) if qbo.get("SyncToken") is not None else None,
        total=Decimal(str(qbo["TotalAmt"])) if qbo.get("TotalAmt") is not None else None,
        currency=(qbo.get("CurrencyRef") or {}).get("value"),
        marker_written=mapping.marker_of(qbo.get("PrivateNote")) == invoice.number,
    )


class _Pusher:
    """One push run. Keeps the exactly-once protocol in one place (design §4.6)."""

    def __init__(
        self,
        s: Session,
        *,
        dry_run: bool,
        adopt_existing: bool,
        progress: Progress,
        workers: int = WORKERS,
    ) -> None:
        self.workers = workers
        self.s = s
        self.client = s.client
        self.realm = s.realm_id
        self.dry_run = dry_run
        self.adopt_existing = adopt_existing
        self.progress = progress
        self.results: dict[str, PushResult] = {}

    @property
    def store(self) -> Store:
        return self.s.store

    def run(self, chosen: list[LocalInvoice], skipped: list[PushResult]) -> PushReport:
        order = [r.invoice for r in skipped] + [i.number for i in chosen]
        for r in skipped:
            self.results[r.invoice] = r
        report = PushReport(self.realm, self.dry_run, [])
        try:
            self._run(chosen)
        except qerr.QBOError as exc:
            report.fatal = translate(exc, "pushing")
        except InvoiceSyncError as exc:
            report.fatal = exc
        for number in order:
            if number not in self.results:
                self.results[number] = PushResult(
                    number,
                    "failed",
                    message="not attempted: the run stopped early; re-run to continue",
                )
                if report.fatal:
                    self.results[number].exit_code = report.fatal.exit_code
        report.results = [self.results[n] for n in order]
        report.requests = dict(self.client.stats.requests)
        return report

    def _run(self, chosen: list[LocalInvoice]) -> None:
        store = self.store if not self.dry_run else self.s.existing_store()
        linked = {ln.invoice_number: ln for ln in store.links(self.realm)} if store else {}
        todo = []
        for inv in chosen:
            link = linked.get(inv.number)
            if link is not None:
                self.results[inv.number] = PushResult(
                    inv.number,
                    "skipped",
                    link.qbo_id,
                    link.doc_number,
                    link.total,
                    link.currency,
                    message=f"already linked to QuickBooks invoice {link.qbo_id}",
                )
            else:
                todo.append(inv)
        if not todo:
            return
        catalog = load_catalog(self.client, todo)
        ctx = catalog.ctx
        use_doc = self.s.settings.push.doc_numbers == "source" and ctx.custom_txn_numbers
        ready: list[tuple[LocalInvoice, mapping.Refs]] = []
        for inv in todo:
            refs, problems = resolve(inv, catalog)
            if refs is None:
                self.results[inv.number] = PushResult(
                    inv.number,
                    "failed",
                    total=inv.total,
                    currency=inv.currency,
                    message="missing in QuickBooks: " + "; ".join(p.text() for p in problems),
                    exit_code=PrerequisiteMissing.exit_code,
                    problems=[p.text() for p in problems],
                )
            else:
                ready.append((inv, refs))
        generations = store.generations(self.realm) if store else {}
        pending = (
            {e.invoice_number: e for e in store.journal(self.realm, "pending")} if store else {}
        )
        ready = self._duplicate_guard(ready, use_doc, linked, pending)
        payloads = {
            inv.number: mapping.invoice_payload(
                inv, refs, ctx, doc_number=use_doc, marker_note=True
            )
            for inv, refs in ready
        }
        if self.dry_run:
            for inv, _ in ready:
                self.results[inv.number] = PushResult(
                    inv.number,
                    "planned",
                    doc_number=inv.number if use_doc else None,
                    total=inv.total,
                    currency=inv.currency,
                    payload=payloads[inv.number],
                    message="would be created",
                )
            return
        self.progress.start(len(ready), "Pushing invoices")
        chunks = [ready[i : i + BATCH_SIZE] for i in range(0, len(ready), BATCH_SIZE)]
        self._create_all(chunks, payloads, generations, use_doc)

    # -- duplicate guard --------------------------------------------------------------------

    def _duplicate_guard(
        self,
        ready: list[tuple[LocalInvoice, mapping.Refs]],
        use_doc: bool,
        linked: dict[str, Link],
        pending: dict[str, JournalEntry],
    ) -> list[tuple[LocalInvoice, mapping.Refs]]:
        """Find QBO invoices that already are (or claim) these invoices before creating any."""
        if not ready:
            return ready
        found = self._by_doc_number([inv for inv, _ in ready]) if use_doc else {}
        # Invoices an earlier run created (crashed, or its database is gone: a CI runner) that
        # the DocNumber does not find: QuickBooks numbered them, or someone renumbered them.
        # Our marker finds them among those customers' invoices of those dates: one paged query.
        unseen = [(i, r) for i, r in ready if i.number not in found]
        for mark, row in self._by_marker(unseen).items():
            found.setdefault(mark, row)
        owners = {ln.qbo_id: ln.invoice_number for ln in linked.values()}
        remaining: list[tuple[LocalInvoice, mapping.Refs]] = []
        for inv, refs in ready:
            hit: dict[str, Any] | None = found.get(inv.number)
            if hit is None:
                remaining.append((inv, refs))
                continue
            qbo_id = str(hit["Id"])
            ours = mapping.marker_of(hit.get("PrivateNote")) == inv.number
            if qbo_id in owners:
                self._fail(
                    inv,
                    Conflict.exit_code,
                    f"QuickBooks invoice {qbo_id} (DocNumber "
                    f"{hit.get('DocNumber')}) is already linked to {owners[qbo_id]}",
                )
            elif ours or self.adopt_existing:
                entry = pending.get(inv.number)
                self._adopt(inv, hit, ours, entry.request_id if entry else None)
            else:
                self._fail(
                    inv,
                    Conflict.exit_code,
                    f"DocNumber {inv.number} already belongs to QuickBooks invoice {qbo_id} "
                    "created outside invoicesync; link it with `invoicesync link "
                    f"{inv.number} {qbo_id}` or re-run push with --adopt-existing",
                )
        return remaining

    def _by_doc_number(self, invoices: Sequence[LocalInvoice]) -> dict[str, dict[str, Any]]:
        """QBO invoices carrying these numbers as DocNumber, one query per 1,000."""
        found: dict[str, dict[str, Any]] = {}
        numbers = [inv.number for inv in invoices if qq.queryable(inv.number)]
        for part in qq.chunks(numbers):
            for row in self.client.query(qq.select("Invoice", [("DocNumber", "IN", part)])):
                number = str(row.get("DocNumber"))
                if number not in found or mapping.marker_of(row.get("PrivateNote")) == number:
                    found[number] = row  # a duplicated DocNumber: prefer the one that is ours
        return found

    def _by_marker(
        self, pairs: Sequence[tuple[LocalInvoice, mapping.Refs]]
    ) -> dict[str, dict[str, Any]]:
        """Our invoices (by marker) among these customers' invoices of these dates."""
        found: dict[str, dict[str, Any]] = {}
        if not pairs:
            return found
        ids = [refs.customer_id for _, refs in pairs]
        dates = [inv.issue_date.isoformat() for inv, _ in pairs]
        for id_part in qq.chunks(ids):
            for date_part in qq.chunks(dates):
                where = [("CustomerRef", "IN", id_part), ("TxnDate", "IN", date_part)]
                for row in self.client.query(qq.select("Invoice", where)):
                    mark = mapping.marker_of(row.get("PrivateNote"))
                    if mark:
                        found.setdefault(mark, row)
        return found

    def _fail(self, inv: LocalInvoice, code: int, message: str) -> None:
        self.results[inv.number] = PushResult(
            inv.number,
            "failed",
            total=inv.total,
            currency=inv.currency,
            message=message,
            exit_code=code,
        )

    def _adopt(
        self, inv: LocalInvoice, row: dict[str, Any], ours: bool, request: str | None
    ) -> None:
        """Link an existing QBO invoice; `request` is the journal entry this closes, if any."""
        if self.dry_run:
            self.results[inv.number] = PushResult(
                inv.number,
                "planned",
                str(row["Id"]),
                row.get("DocNumber"),
                inv.total,
                inv.currency,
                message="would adopt the existing QuickBooks invoice",
            )
            return
        link = _link_from(inv, self.realm, row, "pushed" if ours else "linked")
        try:
            self.store.add_link(
                link,
                request_id=request,
                event={"qbo_id": link.qbo_id, "adopted": True, "ours": ours},
            )
        except LinkExists:
            self._fail(
                inv, Conflict.exit_code, f"QuickBooks invoice {link.qbo_id} is already linked"
            )
            return
        why = "created by an interrupted run" if ours else "existing invoice adopted"
        result = PushResult(
            inv.number,
            "adopted",
            link.qbo_id,
            link.doc_number,
            link.total,
            link.currency,
            message=why,
        )
        self._check_total(inv, link, result)
        self.results[inv.number] = result

    # -- creating ----------------------------------------------------------------------------

    def _create_all(
        self,
        chunks: list[list[tuple[LocalInvoice, mapping.Refs]]],
        payloads: dict[str, dict[str, Any]],
        generations: dict[str, int],
        use_doc: bool,
    ) -> None:
        """Send chunks with bounded concurrency. Only HTTP runs in the workers: journal intents
        are committed here before a chunk is submitted, and outcomes are applied here, so the
        SQLite connection stays on one thread and a crash at any point leaves a journal that
        the next run can resolve."""
        queue = list(chunks)
        in_flight: dict[
            Future[Outcomes], tuple[list[tuple[LocalInvoice, mapping.Refs]], dict[str, str]]
        ] = {}
        fatal: BaseException | None = None
        with ThreadPoolExecutor(max_workers=max(1, self.workers)) as pool:
            while queue or in_flight:
                while queue and fatal is None and len(in_flight) < self.workers:
                    chunk = queue.pop(0)
                    rids = self._journal(chunk, generations, use_doc)
                    in_flight[pool.submit(self._send, chunk, payloads, rids)] = (chunk, rids)
                if not in_flight:
                    break
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in done:
                    chunk, rids = in_flight.pop(future)
                    try:
                        outcomes = future.result()
                    except (qerr.QBOConnectionError, qerr.ServerError) as exc:
                        # Uncertain: the creates may have happened. The client already retried
                        # with the same requestid; look the invoices up before saying anything.
                        self._resolve_uncertain(chunk, rids, use_doc, exc)
                    except BaseException as exc:  # fatal for the run: stop submitting
                        fatal = fatal or exc
                    else:
                        for inv, _ in chunk:
                            outcome = outcomes[inv.number]
                            if isinstance(outcome, qerr.QBOError):
                                self._handle_fault(inv, outcome, rids[inv.number])
                            else:
                                self._record(inv, outcome, rids[inv.number], "created")
                    self.progress.advance(len(chunk))
        if fatal is not None:
            raise fatal

    def _journal(
        self,
        chunk: list[tuple[LocalInvoice, mapping.Refs]],
        generations: dict[str, int],
        use_doc: bool,
    ) -> dict[str, str]:
        entries = []
        for inv, _ in chunk:
            gen = generations.get(inv.number, 0)
            entries.append(
                JournalEntry(
                    self.realm,
                    inv.number,
                    gen,
                    request_id(self.realm, inv.number, gen),
                    "pending",
                    inv.number if use_doc else None,
                    None,
                    None,
                )
            )
        self.store.journal_intents(entries)  # committed before anything is sent
        return {e.invoice_number: e.request_id for e in entries}

    def _send(
        self,
        chunk: list[tuple[LocalInvoice, mapping.Refs]],
        payloads: dict[str, dict[str, Any]],
        rids: dict[str, str],
    ) -> Outcomes:
        """HTTP only (runs in a worker): one create, or one batch of up to 30."""
        outcomes: Outcomes = {}
        if len(chunk) == 1:
            inv = chunk[0][0]
            try:
                outcomes[inv.number] = self.client.create(
                    "Invoice", payloads[inv.number], requestid=rids[inv.number]
                )
            except qerr.ValidationError as exc:
                outcomes[inv.number] = exc
            return outcomes
        items = [
            {"bId": str(i + 1), "operation": "create", "Invoice": payloads[inv.number]}
            for i, (inv, _) in enumerate(chunk)
        ]
        answers = self.client.batch(
            items, requestid=batch_request_id([rids[inv.number] for inv, _ in chunk])
        )
        for (inv, _), answer in zip(chunk, answers, strict=True):
            if "Invoice" in answer:
                outcomes[inv.number] = answer["Invoice"]
            else:
                ftype, errs = qerr.fault_errors(answer)
                outcomes[inv.number] = qerr.error_from_fault(
                    ftype,
                    errs or [{"Message": "no answer for this item"}],
                    status=400,
                    intuit_tid=None,
                )
        return outcomes

    def _record(self, inv: LocalInvoice, qbo: dict[str, Any], rid: str, status: str) -> None:
        link = _link_from(inv, self.realm, qbo, "pushed")
        try:
            self.store.add_link(link, request_id=rid)
        except LinkExists:
            self._fail(
                inv,
                Conflict.exit_code,
                f"QuickBooks invoice {link.qbo_id} was created but "
                "another link exists; run `invoicesync reconcile`",
            )
            return
        result = PushResult(
            inv.number, status, link.qbo_id, link.doc_number, link.total, link.currency, message=""
        )
        self._check_total(inv, link, result)
        self.results[inv.number] = result

    def _check_total(self, inv: LocalInvoice, link: Link, result: PushResult) -> None:
        if link.total is not None and inv.tax is not None and link.total != inv.total:
            result.warnings.append(
                f"QuickBooks total {link.total} differs from the source total {inv.total}"
            )
        elif link.total is not None and inv.tax is None and link.total < inv.subtotal:
            result.warnings.append(
                f"QuickBooks total {link.total} is below the source subtotal {inv.subtotal}"
            )
        result.message = "; ".join([m for m in [result.message, *result.warnings] if m])

    def _handle_fault(self, inv: LocalInvoice, exc: qerr.QBOError, rid: str) -> None:
        if isinstance(exc, qerr.DuplicateDocNumber) and exc.txn_id:
            # Someone took the number between our guard query and the create.
            try:
                row = self.client.read("Invoice", exc.txn_id)
            except qerr.QBOError:
                row = None
            if row is not None and mapping.marker_of(row.get("PrivateNote")) == inv.number:
                self._adopt(inv, row, True, rid)
                return
            message = (
                f"DocNumber {inv.number} is already used by QuickBooks transaction "
                f"{exc.txn_id}; link it or change the number"
            )
            self.store.journal_failed(self.realm, rid, str(exc))
            self._fail(inv, Conflict.exit_code, message)
            return
        code = (
            PrerequisiteMissing.exit_code
            if isinstance(exc, (qerr.NotFoundError, qerr.InvalidReferenceError))
            else 1
        )
        self.store.journal_failed(self.realm, rid, str(exc))
        self._fail(inv, code, f"QuickBooks rejected the invoice: {exc}")

    def _resolve_uncertain(
        self,
        chunk: list[tuple[LocalInvoice, mapping.Refs]],
        rids: dict[str, str],
        use_doc: bool,
        cause: qerr.QBOError,
    ) -> None:
        found: dict[str, dict[str, Any]] = {}
        try:
            if use_doc:
                found = {
                    number: row
                    for number, row in self._by_doc_number([inv for inv, _ in chunk]).items()
                    if mapping.marker_of(row.get("PrivateNote")) == number
                }
            missing = [(inv, refs) for inv, refs in chunk if inv.number not in found]
            for mark, row in self._by_marker(missing).items():
                found.setdefault(mark, row)
        except qerr.QBOError:
            pass  # leave the rest pending; the next run resolves them
        for inv, _ in chunk:
            hit: dict[str, Any] | None = found.get(inv.number)
            if hit is not None:
                self._record(inv, hit, rids[inv.number], "created")
            else:
                self.results[inv.number] = PushResult(
                    inv.number,
                    "failed",
                    total=inv.total,
                    currency=inv.currency,
                    exit_code=QuickBooksUnavailable.exit_code,
                    message=f"outcome unknown ({cause}); re-run push: it will find or create "
                    "this invoice exactly once",
                )


def push(
    s: Session,
    *,
    invoices: Sequence[LocalInvoice],
    numbers: Sequence[str] = (),
    all_: bool = False,
    since: date | None = None,
    dry_run: bool = False,
    adopt_existing: bool = False,
    progress: Progress | None = None,
) -> PushReport:
    chosen, skipped = select_invoices(invoices, numbers, all_, since)
    pusher = _Pusher(
        s, dry_run=dry_run, adopt_existing=adopt_existing, progress=progress or _NoProgress()
    )
    return pusher.run(chosen, skipped)


# --- candidates, link, unlink --------------------------------------------------------------------


def _find_invoice(invoices: Sequence[LocalInvoice], number: str) -> LocalInvoice:
    for inv in invoices:
        if inv.number == number:
            return inv
    raise UsageError(f"{number} is not in the source; `invoicesync invoices` lists what is there")


def _customer_id(client: QBOClient, name: str) -> str | None:
    rows = client.query("select * from Customer where Active IN (true, false)")
    named = _named(rows, "DisplayName", "FullyQualifiedName")
    hit = matching.find_exact(name, named, by_path=":" in name)
    return hit.id if hit else None


def _candidate(
    row: dict[str, Any], inv: LocalInvoice, customer_id: str | None, owners: dict[str, str]
) -> Candidate:
    total = Decimal(str(row["TotalAmt"])) if row.get("TotalAmt") is not None else None
    sc = matching.score(
        number=inv.number,
        customer_id=customer_id,
        total=inv.total,
        issue_date=inv.issue_date,
        currency=inv.currency,
        qbo_doc=row.get("DocNumber"),
        qbo_customer_id=(row.get("CustomerRef") or {}).get("value"),
        qbo_total=total,
        qbo_date=row.get("TxnDate"),
        qbo_currency=(row.get("CurrencyRef") or {}).get("value"),
        marker_number=mapping.marker_of(row.get("PrivateNote")),
    )
    return Candidate(
        qbo_id=str(row["Id"]),
        doc_number=row.get("DocNumber"),
        txn_date=row.get("TxnDate"),
        customer=(row.get("CustomerRef") or {}).get("name"),
        total=total,
        balance=Decimal(str(row["Balance"])) if row.get("Balance") is not None else None,
        currency=(row.get("CurrencyRef") or {}).get("value"),
        score=sc.points,
        reasons=sc.reasons,
        linked_to=owners.get(str(row["Id"])),
        has_marker=mapping.marker_of(row.get("PrivateNote")) is not None,
    )


def list_candidates(
    s: Session, invoices: Sequence[LocalInvoice], number: str, *, limit: int = 10
) -> tuple[LocalInvoice, list[Candidate]]:
    """QBO invoices that could be `number`: same DocNumber anywhere, or same customer ±30 days."""
    inv = _find_invoice(invoices, number)
    client = s.client
    try:
        customer_id = _customer_id(client, inv.customer.name)
        rows: dict[str, dict[str, Any]] = {}
        if qq.queryable(inv.number):
            for row in client.query(qq.select("Invoice", [("DocNumber", "=", inv.number)])):
                rows[str(row["Id"])] = row
        if customer_id:
            lo = (inv.issue_date - timedelta(days=30)).isoformat()
            hi = (inv.issue_date + timedelta(days=30)).isoformat()
            stmt = qq.select(
                "Invoice",
                [("CustomerRef", "=", customer_id), ("TxnDate", ">=", lo), ("TxnDate", "<=", hi)],
            )
            for row in client.query(stmt):
                rows[str(row["Id"])] = row
    except qerr.QBOError as exc:
        raise translate(exc, "looking for candidates") from None
    store = s.existing_store()
    owners = {ln.qbo_id: ln.invoice_number for ln in store.links(s.realm_id)} if store else {}
    found = [_candidate(r, inv, customer_id, owners) for r in rows.values()]
    found.sort(key=lambda c: (-c.score, c.txn_date or "", c.qbo_id))
    return inv, found[:limit]


@dataclass
class LinkResult:
    invoice: str
    qbo_id: str
    doc_number: str | None
    total: Decimal | None
    currency: str | None
    warnings: list[str]
    marker_written: bool


def link(
    s: Session,
    invoices: Sequence[LocalInvoice],
    number: str,
    *,
    qbo_id: str | None = None,
    doc_number: str | None = None,
    best: bool = False,
    pick: Callable[[list[Candidate]], str | None] | None = None,
    write_marker: bool = True,
) -> LinkResult:
    inv = _find_invoice(invoices, number)
    store = s.store
    existing = store.link(s.realm_id, number)
    if existing is not None:
        raise Conflict(
            f"{number} is already linked to QuickBooks invoice {existing.qbo_id}; "
            f"`invoicesync unlink {number}` first"
        )
    if sum(bool(x) for x in (qbo_id, doc_number, best)) > 1:
        raise UsageError("give one of QBO_ID, --doc-number or --best")
    client = s.client
    try:
        if doc_number is not None:
            if not qq.queryable(doc_number):
                raise UsageError(
                    f"DocNumber {doc_number!r} cannot be searched in QuickBooks; "
                    "pass the QuickBooks invoice id instead"
                )
            rows = client.query(qq.select("Invoice", [("DocNumber", "=", doc_number)]))
            if not rows:
                raise UsageError(f"no QuickBooks invoice has DocNumber {doc_number}")
            if len(rows) > 1:
                ids = ", ".join(str(r["Id"]) for r in rows)
                raise Conflict(
                    f"several QuickBooks invoices have DocNumber {doc_number} "
                    f"(ids {ids}); link by id"
                )
            qbo_id = str(rows[0]["Id"])
        elif best or qbo_id is None:
            _, candidates = list_candidates(s, invoices, number, limit=10)
            free = [c for c in candidates if c.linked_to is None]
            if best:
                if not free or not matching.unambiguous_best([c.score for c in free]):
                    contenders = ", ".join(f"{c.qbo_id} (score {c.score})" for c in free[:5])
                    raise Conflict(
                        f"no unambiguous best candidate for {number}"
                        + (f": {contenders}; link by id" if contenders else "")
                    )
                qbo_id = free[0].qbo_id
            elif pick is not None and free:
                qbo_id = pick(free)
                if qbo_id is None:
                    raise UsageError("nothing chosen; no link was made")
            else:
                raise UsageError(
                    "give the QuickBooks invoice id, --doc-number N or --best (or run "
                    "in a terminal to pick from the candidates)"
                )
        row = client.read("Invoice", qbo_id)
    except qerr.NotFoundError:
        raise UsageError(f"QuickBooks has no invoice with id {qbo_id} (deleted?)") from None
    except qerr.QBOError as exc:
        raise translate(exc, "reading the QuickBooks invoice") from None
    owner = store.link_for_qbo(s.realm_id, str(row["Id"]))
    if owner is not None:
        raise Conflict(
            f"QuickBooks invoice {row['Id']} is already linked to {owner.invoice_number}"
        )
    warnings = []
    customer = (row.get("CustomerRef") or {}).get("name")
    if (
        customer
        and customer != inv.customer.name
        and customer != inv.customer.name.rsplit(":", 1)[-1]
    ):
        warnings.append(
            f"customer differs: QuickBooks has {customer!r}, the source {inv.customer.name!r}"
        )
    total = Decimal(str(row.get("TotalAmt", "0")))
    if abs(total - inv.total) > Decimal("0.01"):
        warnings.append(f"total differs: QuickBooks {total}, source {inv.total}")
    currency = (row.get("CurrencyRef") or {}).get("value")
    if currency and currency != inv.currency:
        warnings.append(f"currency differs: QuickBooks {currency}, source {inv.currency}")
    marker_written = False
    mark = mapping.marker_of(row.get("PrivateNote"))
    if write_marker and mark != number:
        if mark is not None:
            warnings.append(f"QuickBooks invoice carries the marker of {mark}; it was replaced")
        try:
            row = client.sparse_update(
                "Invoice",
                str(row["Id"]),
                {"PrivateNote": mapping.with_marker(row.get("PrivateNote"), number)},
                requestid=marker_request_id("lk1", s.realm_id, number, row),
                sync_token=str(row["SyncToken"]),
            )
            marker_written = True
        except qerr.QBOError as exc:
            warnings.append(f"could not write the marker into QuickBooks ({exc}); link kept")
    elif mark == number:
        marker_written = True
    record = _link_from(inv, s.realm_id, row, "linked")
    record = Link(**{**vars(record), "marker_written": marker_written})
    try:
        store.add_link(record, event={"qbo_id": record.qbo_id, "warnings": warnings})
    except LinkExists:
        raise Conflict(
            f"{number} or QuickBooks invoice {record.qbo_id} was linked meanwhile"
        ) from None
    return LinkResult(
        number,
        record.qbo_id,
        record.doc_number,
        record.total,
        record.currency,
        warnings,
        marker_written,
    )


@dataclass
class UnlinkResult:
    invoice: str
    was_linked: bool
    qbo_id: str | None = None
    marker_removed: bool = False
    generation: int = 0
    warnings: list[str] = field(default_factory=list)


def unlink(s: Session, number: str) -> UnlinkResult:
    store = s.store
    existing = store.link(s.realm_id, number)
    if existing is None:
        return UnlinkResult(number, False)
    warnings = []
    removed = False
    if existing.marker_written:
        try:
            row = s.client.read("Invoice", existing.qbo_id)
            if mapping.marker_of(row.get("PrivateNote")) == number:
                s.client.sparse_update(
                    "Invoice",
                    existing.qbo_id,
                    {"PrivateNote": mapping.without_marker(row.get("PrivateNote"))},
                    requestid=marker_request_id("ul1", s.realm_id, number, row),
                    sync_token=str(row["SyncToken"]),
                )
                removed = True
        except qerr.NotFoundError:
            warnings.append(f"QuickBooks invoice {existing.qbo_id} no longer exists")
        except qerr.QBOError as exc:
            raise translate(exc, "removing our marker from the QuickBooks invoice") from None
    generation = store.remove_link(
        s.realm_id, number, {"qbo_id": existing.qbo_id, "marker_removed": removed}
    )
    return UnlinkResult(number, True, existing.qbo_id, removed, generation, warnings)


# --- reconcile -----------------------------------------------------------------------------------


@dataclass
class Drift:
    invoice: str
    qbo_id: str
    state: str  # ok, changed, paid, voided, deleted
    details: list[str]
    balance: Decimal | None = None


@dataclass
class ReconcileReport:
    realm_id: str
    drifts: list[Drift]
    rebuilt: list[Link] = field(default_factory=list)


def reconcile(
    s: Session, *, rebuild: bool = False, invoices: Sequence[LocalInvoice] = ()
) -> ReconcileReport:
    store = s.store
    client = s.client
    report = ReconcileReport(s.realm_id, [])
    try:
        if rebuild:
            report.rebuilt = _rebuild(s, invoices)
        links = store.links(s.realm_id)
        rows: dict[str, dict[str, Any]] = {}
        for part in qq.chunks([ln.qbo_id for ln in links]):
            for row in client.query(qq.select("Invoice", [("Id", "IN", part)])):
                rows[str(row["Id"])] = row
    except qerr.QBOError as exc:
        raise translate(exc, "reconciling") from None
    for ln in links:
        hit: dict[str, Any] | None = rows.get(ln.qbo_id)
        if hit is None:
            report.drifts.append(
                Drift(
                    ln.invoice_number, ln.qbo_id, "deleted", ["the QuickBooks invoice was deleted"]
                )
            )
            continue
        total = Decimal(str(hit.get("TotalAmt", "0")))
        balance = Decimal(str(hit.get("Balance", "0")))
        details: list[str] = []
        state = "ok"
        edited = ln.sync_token is not None and str(hit.get("SyncToken")) != ln.sync_token
        if (
            total == 0
            and (ln.total or 0) != 0
            and str(hit.get("PrivateNote", "")).startswith("Voided")
        ):
            state = "voided"
            details.append("the QuickBooks invoice was voided")
        elif ln.total is not None and total != ln.total:
            state = "changed"
            details.append(f"total {ln.total} → {total}")
        elif balance == 0 and total > 0:
            state = "paid"
            details.append("paid in full")
        elif 0 < balance < total:
            state = "partly paid"
            details.append(f"{total - balance} of {total} paid")
        elif edited:
            state = "changed"
            details.append(
                f"edited in QuickBooks since linked (SyncToken {ln.sync_token} → "
                f"{hit.get('SyncToken')})"
            )
        report.drifts.append(Drift(ln.invoice_number, ln.qbo_id, state, details, balance))
    store.record_observations(s.realm_id, [(d.invoice, d.state, d.balance) for d in report.drifts])
    return report


def _rebuild(s: Session, invoices: Sequence[LocalInvoice]) -> list[Link]:
    """Recreate missing links from QBO: our marker first, then DocNumber + customer + total."""
    store = s.store
    linked = {ln.invoice_number for ln in store.links(s.realm_id)}
    owned = {ln.qbo_id for ln in store.links(s.realm_id)}
    todo = [i for i in invoices if i.number not in linked]
    if not todo:
        return []
    lo = min(i.issue_date for i in todo).isoformat()
    hi = max(i.issue_date for i in todo).isoformat()
    rows = s.client.query(qq.select("Invoice", [("TxnDate", ">=", lo), ("TxnDate", "<=", hi)]))
    by_marker: dict[str, dict[str, Any]] = {}
    by_doc: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        if str(row["Id"]) in owned:
            continue
        mark = mapping.marker_of(row.get("PrivateNote"))
        if mark:
            by_marker.setdefault(mark, row)
        if row.get("DocNumber"):
            by_doc.setdefault(str(row["DocNumber"]), []).append(row)
    customers = {
        c.full_name: c.id
        for c in _named(
            s.client.query("select * from Customer where Active IN (true, false)"),
            "DisplayName",
            "FullyQualifiedName",
        )
    }
    rebuilt = []
    for inv in todo:
        hit: dict[str, Any] | None = by_marker.get(inv.number)
        origin_note = "marker"
        if hit is None:
            cid = customers.get(inv.customer.name)
            matches = [
                r
                for r in by_doc.get(inv.number, [])
                if (r.get("CustomerRef") or {}).get("value") == cid
                and abs(Decimal(str(r.get("TotalAmt", "0"))) - inv.total) <= Decimal("0.01")
            ]
            hit = matches[0] if len(matches) == 1 else None
            origin_note = "docnumber"
        if hit is None or str(hit["Id"]) in owned:
            continue
        record = _link_from(inv, s.realm_id, hit, "rebuilt")
        try:
            store.add_link(record, event={"qbo_id": record.qbo_id, "by": origin_note})
        except LinkExists:
            continue
        owned.add(record.qbo_id)
        rebuilt.append(record)
    return rebuilt
