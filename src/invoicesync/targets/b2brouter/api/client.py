"""A typed B2BRouter client over httpx: key and version headers, account-scoped paths,
retries only where they are safe, typed errors and paging.

Targets API version 2026-04-20 (`X-B2B-API-Version`, the default of the create-invoice
reference, https://developer.b2brouter.net/reference/create-invoice). Endpoints, as in the
official PHP SDK (B2Brouter/b2brouter-php, lib/B2BRouter/Service/*.php):

    GET    /accounts/{account}                  get_account
    GET    /accounts/{account}/contacts         contacts, match_contact   (?name= searches
                                                name, address and VAT code; offset/limit)
    POST   /accounts/{account}/contacts         create_contact
    GET    /accounts/{account}/invoices         invoices, find_by_number, payments
                                                (?number=, date_from, date_to: the
                                                submission date; state flags as `1`)
    POST   /accounts/{account}/invoices         create_invoice (send_after_import = send)
    GET    /invoices/{id}                       get_invoice
    PUT    /invoices/{id}                       update_invoice
    DELETE /invoices/{id}                       delete_invoice
    POST   /invoices/send_invoice/{id}          send_invoice (its answer is undocumented)
    GET    /invoices/{id}/validate              validate_invoice
    GET    /invoices/{id}/as/{document type}    document (pdf.invoice, xml.ubl.invoice.bis3,
                                                xml.facturae.3.2.2, original; InvoiceService
                                                ::downloadAs; the PDF is made asynchronously)
    GET    /tax_reports/{id}                    tax_report (VeriFactu/TicketBAI; TaxReportService)

Retry policy: reads and PUT (idempotent) are retried on connection errors, 5xx and 429. POST
and DELETE are retried only when the request provably never left (connect error) or was
refused unprocessed (429): B2BRouter has no request-id replay that we know of, so a create that
timed out may have committed. That outcome raises with `uncertain=True`; the caller looks the
invoice up by number before trying again.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import httpx

from invoicesync.targets.b2brouter.api import errors as berr
from invoicesync.targets.b2brouter.api.models import Account, Contact, Invoice, Payment
from invoicesync.targets.b2brouter.api.reports import TaxReport, Validation

API_VERSION = "2026-04-20"
PRODUCTION_URL = "https://api.b2brouter.net"  # test_ keys use the same host
STAGING_URL = "https://api-staging.b2brouter.net"
PAGE_LIMIT = 500  # the documented maximum
USER_AGENT = "invoicesync"


class _Encoder(json.JSONEncoder):
    def default(self, o: Any) -> Any:
        if isinstance(o, Decimal):
            return {"__decimal__": format(o, "f")}
        return super().default(o)


_MARK = re.compile(r'\{"__decimal__": "(-?[0-9.]+)"\}')


def dumps(data: Any) -> bytes:
    """JSON with Decimal amounts written as the same digits, never through float."""
    return _MARK.sub(r"\1", json.dumps(data, cls=_Encoder, ensure_ascii=False)).encode()


def loads(content: bytes) -> Any:
    return json.loads(content, parse_float=Decimal)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 8.0


@dataclass(frozen=True)
class ContactMatch:
    """The contact an invoice goes to: by tax id first, then by exact name (Protemos's rule
    that a matching contact must exist). `reason` is tax_id, name, none or ambiguous."""

    contact: Contact | None
    reason: str
    candidates: tuple[Contact, ...] = ()


def is_test_key(api_key: str) -> bool:
    """B2BRouter's sandbox: same host, keys prefixed `test_`."""
    return api_key.startswith("test_")


def _norm_tin(value: str | None) -> str:
    return "".join(ch for ch in (value or "").upper() if ch.isalnum())


def choose_contact(
    contacts: Iterable[Contact], *, tax_id: str | None, country: str | None, name: str
) -> ContactMatch:
    """Tax id first (ignoring spaces, dots and case; the country must agree when both sides
    have one), then the exact name. Two or more equal candidates: ambiguous, none chosen."""
    pool = list(contacts)
    wanted = _norm_tin(tax_id)
    if wanted:
        by_tin = [
            c
            for c in pool
            if _norm_tin(c.tin_value) == wanted
            and (not country or not c.country or c.country.lower() == country.lower())
        ]
        if len(by_tin) == 1:
            return ContactMatch(by_tin[0], "tax_id")
        if by_tin:
            return ContactMatch(None, "ambiguous", tuple(by_tin))
    by_name = [c for c in pool if c.name == name]
    if len(by_name) == 1:
        return ContactMatch(by_name[0], "name")
    return ContactMatch(None, "ambiguous" if by_name else "none", tuple(by_name))


class B2BRouterClient:
    def __init__(
        self,
        api_key: str,
        account: str,
        *,
        base_url: str = PRODUCTION_URL,
        api_version: str = API_VERSION,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        if not api_key.strip() or not account.strip():
            raise ValueError("a B2BRouter API key and account id are required")
        self.account = account
        self.is_test = is_test_key(api_key)
        self.api_version = api_version
        self.page_limit = PAGE_LIMIT
        self.retry = retry or RetryPolicy()
        self._sleep, self._jitter = sleep, jitter
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            transport=transport,
            timeout=timeout,
            headers={
                "X-B2B-API-Key": api_key,
                "X-B2B-API-Version": api_version,
                "Accept": "application/json",
                "User-Agent": USER_AGENT,
            },
        )

    def __repr__(self) -> str:
        return f"B2BRouterClient(account={self.account!r}, test={self.is_test})"  # no key

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> B2BRouterClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- transport ------------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        body: Any = None,
        accept: str | None = None,
    ) -> Any:
        """The decoded JSON answer; with `accept`, the raw bytes of a document."""
        idempotent = method in {"GET", "PUT"}
        content = dumps(body) if body is not None else None
        headers = {"Content-Type": "application/json"} if content is not None else {}
        if accept:
            headers["Accept"] = accept
        attempt = 0
        while True:
            attempt += 1
            last = attempt >= self.retry.max_attempts
            try:
                response = self._http.request(
                    method, path, params=params, content=content, headers=headers
                )
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:  # never left: repeatable
                if last:
                    raise berr.B2BRouterConnectionError(f"cannot reach B2BRouter: {exc}") from None
            except httpx.HTTPError as exc:
                if idempotent and not last:
                    self._sleep(self._backoff(attempt))
                    continue
                raise berr.B2BRouterConnectionError(
                    f"no answer from B2BRouter: {exc.__class__.__name__}",
                    uncertain=not idempotent,
                ) from None
            else:
                if response.is_success:
                    return response.content if accept else self._json(response)
                error = berr.from_response(response, write=not idempotent)
                retryable = isinstance(error, berr.ThrottledError) or (
                    idempotent and isinstance(error, berr.ServerError)
                )
                if not retryable or last:
                    raise error
                if isinstance(error, berr.ThrottledError) and error.retry_after is not None:
                    self._sleep(min(error.retry_after, 60.0))
                    continue
            self._sleep(self._backoff(attempt))

    @staticmethod
    def _json(response: httpx.Response) -> Any:
        if not response.content:
            return {}
        try:
            return loads(response.content)
        except ValueError:
            raise berr.B2BRouterError(
                f"B2BRouter answered HTTP {response.status_code} with a body that is not JSON",
                status=response.status_code,
            ) from None

    def _backoff(self, attempt: int) -> float:
        delay = min(self.retry.max_delay, self.retry.base_delay * 2.0 ** (attempt - 1))
        return delay * (0.5 + 0.5 * self._jitter())

    def _paged(self, path: str, key: str, params: Mapping[str, str | int]) -> Iterator[Any]:
        offset = 0
        while True:
            data = self._request(
                "GET", path, params={**params, "offset": offset, "limit": self.page_limit}
            )
            items = data.get(key) if isinstance(data, dict) else None
            if not isinstance(items, list):
                raise berr.B2BRouterError(f"B2BRouter sent a list without {key!r}")
            yield from items
            meta = data.get("meta") if isinstance(data.get("meta"), dict) else {}
            total = meta.get("total_count")
            offset += len(items)
            if not items or (isinstance(total, int) and offset >= total):
                return

    def _acct(self, tail: str = "") -> str:
        return f"/accounts/{quote(self.account, safe='')}{tail}"

    @staticmethod
    def _one(data: Any, key: str) -> Mapping[str, Any]:
        inner = data.get(key, data) if isinstance(data, dict) else None
        if not isinstance(inner, dict):
            raise berr.B2BRouterError(f"B2BRouter sent no {key}")
        return inner

    # --- account and contacts -------------------------------------------------------------------

    def get_account(self) -> Account:
        return Account.from_json(self._one(self._request("GET", self._acct()), "account"))

    def contacts(self, search: str | None = None) -> Iterator[Contact]:
        params = {"name": search} if search else {}
        for item in self._paged(self._acct("/contacts"), "contacts", params):
            yield Contact.from_json(item)

    def get_contact(self, contact_id: int) -> Contact:
        data = self._request("GET", f"/contacts/{int(contact_id)}")
        return Contact.from_json(self._one(data, "contact"))

    def match_contact(self, *, tax_id: str | None, country: str | None, name: str) -> ContactMatch:
        """Search by tax id and by name (the `name` filter searches name, address and VAT code),
        then `choose_contact`. For a batch, list `contacts()` once and call `choose_contact`."""
        found: dict[int, Contact] = {}
        for term in (_norm_tin(tax_id), name.strip()):
            if term:
                found.update((c.id, c) for c in self.contacts(term))
        return choose_contact(found.values(), tax_id=tax_id, country=country, name=name)

    def create_contact(
        self,
        *,
        name: str,
        email: str,
        tax_id: str | None = None,
        country: str | None = None,
        tin_scheme: str | None = None,
    ) -> Contact:
        fields = {"name": name, "email": email, "tin_value": tax_id, "country": country}
        fields["tin_scheme"] = tin_scheme
        body = {"contact": {k: v for k, v in fields.items() if v is not None}}
        data = self._request("POST", self._acct("/contacts"), body=body)
        return Contact.from_json(self._one(data, "contact"))

    # --- invoices -------------------------------------------------------------------------------

    def invoices(
        self,
        *,
        number: str | None = None,
        date_from: dt.date | None = None,
        date_to: dt.date | None = None,
        states: Sequence[str] = (),
    ) -> Iterator[Invoice]:
        # The state filters are documented as flags valued 1 (PHP SDK InvoiceService::all).
        params: dict[str, str | int] = {s: "1" for s in states}
        if number is not None:
            params["number"] = number
        if date_from:
            params["date_from"] = date_from.isoformat()
        if date_to:
            params["date_to"] = date_to.isoformat()
        for item in self._paged(self._acct("/invoices"), "invoices", params):
            yield Invoice.from_json(item)

    def find_by_number(self, number: str) -> list[Invoice]:
        """Invoices with exactly this number (the filter's own matching is not relied on)."""
        return [i for i in self.invoices(number=number) if i.number == number]

    def get_invoice(self, invoice_id: int) -> Invoice:
        data = self._request("GET", f"/invoices/{int(invoice_id)}")
        return Invoice.from_json(self._one(data, "invoice"))

    def create_invoice(self, invoice: Mapping[str, Any], *, send: bool = False) -> Invoice:
        """Create (and with `send`, queue for delivery once valid). Never blindly retried."""
        body = {"invoice": dict(invoice), "send_after_import": send}
        data = self._request("POST", self._acct("/invoices"), body=body)
        return Invoice.from_json(self._one(data, "invoice"))

    def update_invoice(self, invoice_id: int, fields: Mapping[str, Any]) -> Invoice:
        data = self._request("PUT", f"/invoices/{int(invoice_id)}", body={"invoice": dict(fields)})
        return Invoice.from_json(self._one(data, "invoice"))

    def delete_invoice(self, invoice_id: int) -> None:
        self._request("DELETE", f"/invoices/{int(invoice_id)}")

    def send_invoice(self, invoice_id: int) -> Invoice | None:
        """Queue delivery. The answer's shape is undocumented (the PHP SDK returns it as is):
        an invoice when it carries one, else None, and the caller reads the invoice. A 2xx
        is a success whatever its body."""
        data = self._request("POST", f"/invoices/send_invoice/{int(invoice_id)}", body={})
        inner = data.get("invoice", data) if isinstance(data, dict) else None
        if isinstance(inner, dict) and "id" in inner:
            try:
                return Invoice.from_json(inner)
            except berr.B2BRouterError:
                return None
        return None

    def validate_invoice(self, invoice_id: int) -> Validation:
        """What B2BRouter says of an invoice before delivery (InvoiceService::validate)."""
        return Validation.from_json(self._request("GET", f"/invoices/{int(invoice_id)}/validate"))

    def document(self, invoice_id: int, document_type: str) -> bytes:
        """The invoice as `document_type` (`pdf.invoice`, `xml.ubl.invoice.bis3`,
        `xml.facturae.3.2.2`, `original`). A 404 raises `NotFoundError`: for the PDF it
        usually means "not generated yet" (it is made asynchronously)."""
        if not re.fullmatch(r"[a-z0-9_]+(\.[a-z0-9_]+)*", document_type):
            raise ValueError(f"not a B2BRouter document type: {document_type!r}")
        accept = "application/pdf" if document_type.startswith("pdf") else "application/xml"
        path = f"/invoices/{int(invoice_id)}/as/{document_type}"
        data: bytes = self._request("GET", path, accept=f"{accept}, */*")
        return data

    def tax_report(self, report_id: int) -> TaxReport:
        """A VeriFactu/TicketBAI submission an invoice's `tax_report_ids` names."""
        data = self._request("GET", f"/tax_reports/{int(report_id)}")
        return TaxReport.from_json(self._one(data, "tax_report"))

    def payments(
        self, *, date_from: dt.date | None = None, date_to: dt.date | None = None
    ) -> Iterator[Payment]:
        """Invoices B2BRouter reports as paid (state `paid`) and when, from the listing
        (filtered here rather than by a `paid` flag, which the current SDK does not list)."""
        for inv in self.invoices(date_from=date_from, date_to=date_to):
            if inv.state == "paid":
                yield Payment(inv.id, inv.number, inv.paid_date, inv.total, inv.currency)
