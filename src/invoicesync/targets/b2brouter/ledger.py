"""B2BRouter as a ledger: the one adapter between the use cases and `b2brouter/`.

Every B2BRouter error becomes an `InvoiceSyncError` with its exit code here (`translate`), or
a per-invoice `Refusal`. B2BRouter has no request-id replay, so exactly-once rests on three
things (docs/reliability.md#b2brouter): the journal entry committed before the create, the
lookup by number (and our `file_reference` marker) before any create and after any uncertain
one, and B2BRouter's refusal of a second invoice with the same number (`parameter_taken`),
whose owner is adopted when it carries our marker.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence

import httpx

from invoicesync.errors import (
    EXIT_CONFLICT,
    EXIT_PARTIAL,
    Conflict,
    InvoiceSyncError,
    NotConnected,
    QuickBooksUnavailable,
)
from invoicesync.ledger.base import (
    Company,
    CopyRecord,
    Draft,
    Found,
    Gone,
    Preparation,
    Refusal,
    RemoteInvoice,
    Uncertain,
)
from invoicesync.marker import marker_of, with_marker, without_marker
from invoicesync.models import DocKind, DocRef, LocalInvoice
from invoicesync.targets.b2brouter import preflight
from invoicesync.targets.b2brouter.api import B2BRouterClient, Contact, Credited, choose_contact
from invoicesync.targets.b2brouter.api import errors as berr
from invoicesync.targets.b2brouter.followup import B2BRouterFollowUps
from invoicesync.targets.b2brouter.lifecycle import B2BRouterLifecycle
from invoicesync.targets.b2brouter.prerequisites import B2BRouterPrerequisites
from invoicesync.targets.b2brouter.records import B2BInvoice, invoice_id

NAME = "B2BRouter"
BY_NUMBER_MAX = 20  # up to this many invoices are looked up one by one, more by a listing
READ_ONE_MAX = 50  # up to this many links are read one by one, more by a listing


def translate(exc: berr.B2BRouterError, what: str) -> InvoiceSyncError:
    """A B2BRouter error as the user-facing error with the documented exit code."""
    if isinstance(exc, berr.AuthError):
        return NotConnected(
            f"B2BRouter refused the API key while {what} ({exc}); check the key and that its "
            "environment matches the account (a test_ key only opens test accounts, a "
            "production key only production ones), then run `invoicesync connect`"
        )
    if isinstance(exc, berr.PermissionDeniedError):
        return NotConnected(
            f"B2BRouter refused access while {what} ({exc}); ask B2BRouter to give the key's "
            "group API permissions"
        )
    if isinstance(exc, berr.NotFoundError):
        return NotConnected(
            f"B2BRouter found no such account while {what} ({exc}); check the account id and "
            "that the key's environment (test_ or production) matches the account"
        )
    if isinstance(exc, berr.ConflictError):
        return Conflict(f"B2BRouter refused while {what}: {exc}")
    if isinstance(exc, berr.ThrottledError | berr.ServerError | berr.B2BRouterConnectionError):
        return QuickBooksUnavailable(
            f"B2BRouter is unavailable while {what}: {exc}; safe to re-run later"
        )
    return InvoiceSyncError(f"B2BRouter rejected a request while {what}: {exc}")


@contextlib.contextmanager
def translating(what: str) -> Iterator[None]:
    try:
        yield
    except berr.B2BRouterError as exc:
        raise translate(exc, what) from None


class CountingTransport(httpx.BaseTransport):
    """Counts requests by method, for the push report's `requests` (creates run in threads)."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.counts[request.method.lower()] += 1
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def _date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


class B2BRouterLedger(B2BRouterFollowUps, B2BRouterLifecycle, B2BRouterPrerequisites):
    """The `Ledger` for one B2BRouter account (`push --send` delivers through `send`)."""

    name = NAME
    credits_by_reference = True  # `invoice_references` in the credit note: nothing to apply
    numbers_stay_taken = True  # `parameter_taken` (docs/b2brouter.md)

    def __init__(self, client: B2BRouterClient, realm_key: str, counts: Counter[str]) -> None:
        self.client = client
        self.realm_key = realm_key  # how local state names this account: b2brouter:<id>
        self.counts = counts

    @property
    def account_id(self) -> str:
        return self.realm_key

    @property
    def batch_size(self) -> int:
        return 1  # one invoice per create: B2BRouter has no batch endpoint

    def batch_held(self, reserved: int) -> bool:
        """Never: with no batches there is no batch budget to run out of."""
        return False

    @property
    def requests(self) -> Mapping[str, int]:
        return dict(self.counts)

    def company(self) -> Company:
        with translating("reading the account"):
            account = self.client.get_account()
        return Company(account.name, account.country)

    # --- push ----------------------------------------------------------------------------------

    def prepare(self, invoices: Sequence[LocalInvoice], origin: str | None = None) -> Preparation:
        """One account read and one contact listing for the batch, then each invoice alone.
        `origin` is not written: B2BRouter refuses a second invoice with one number, so there
        are never copies to tell apart."""
        with translating("pushing"):
            account = self.client.get_account()
            contacts = list(self.client.contacts())
        resolved = {
            inv.number: preflight.resolve(inv, contacts, account)
            for inv in invoices
            if not inv.is_credit_note
        }
        ready = [inv for inv in invoices if resolved.get(inv.number, (None,))[0] is not None]
        with translating("pushing"):
            credited = self._credited(invoices, ready)
        prep = Preparation(sends_numbers=True, heading="cannot go to B2BRouter")
        for inv in invoices:
            draft, problems = resolved.get(inv.number) or preflight.resolve(
                inv, contacts, account, credited
            )
            if draft is None:
                prep.problems[inv.number] = problems
            else:
                prep.drafts.append(draft)
        return prep

    def _credited(
        self, invoices: Sequence[LocalInvoice], ready: Sequence[LocalInvoice]
    ) -> dict[str, Credited]:
        """The number and date of each invoice the batch's credit notes credit: from the batch
        itself when that invoice passed its own pre-flight (it goes in this push), else from
        B2BRouter by number (ours first: one with our marker, then any not a credit note)."""
        batch = {i.number: i for i in ready}
        out: dict[str, Credited] = {}
        for number in {i.credit_for for i in invoices if i.is_credit_note and i.credit_for}:
            if number in batch:
                out[number] = Credited(number, batch[number].issue_date)
                continue
            rows = [r for r in self.client.find_by_number(number) if not r.is_credit_note]
            rows.sort(key=lambda r: marker_of(r.file_reference) != number)
            if rows and rows[0].date is not None:
                out[number] = Credited(number, rows[0].date)
        return out

    def find_existing(self, drafts: Sequence[Draft], *, by_number: bool) -> dict[str, Found]:
        """B2BRouter invoices that are (or claim to be) these drafts: by number (ours
        preferred), and by our marker among the invoices of those dates."""
        if not drafts:
            return {}
        with translating("pushing"):
            if len(drafts) <= BY_NUMBER_MAX:
                rows = [r for d in drafts for r in self.client.find_by_number(d.number)]
            else:
                # date_from/date_to filter by submission date, not the invoice's date: a
                # window of invoice dates could miss ours, so the whole listing is read.
                rows = list(self.client.invoices())
        wanted = {d.number for d in drafts}
        found: dict[str, B2BInvoice] = {}
        for row in map(B2BInvoice, rows):
            if row.marker in wanted:
                found[row.marker] = row
        for row in map(B2BInvoice, rows):
            if row.doc_number in wanted:
                found.setdefault(row.doc_number, row)
        return {number: Found(row) for number, row in found.items()}

    def create(
        self, drafts: Sequence[Draft], request_ids: Mapping[str, str], *, batch: bool
    ) -> dict[str, B2BInvoice | Refusal]:
        """Create each draft. Raises `Uncertain` when B2BRouter may have created one without
        our hearing it; refusals of single invoices come back as values."""
        out: dict[str, B2BInvoice | Refusal] = {}
        for draft in drafts:
            try:
                made = self.client.create_invoice(draft.payload)
            except berr.DuplicateNumberError as exc:
                out[draft.number] = self._taken(draft, exc)
            except berr.ValidationError as exc:
                out[draft.number] = _refusal(exc, EXIT_PARTIAL)
            except berr.ConflictError as exc:
                out[draft.number] = _refusal(exc, EXIT_CONFLICT)
            except berr.B2BRouterError as exc:
                if exc.uncertain or isinstance(exc, berr.ServerError):
                    raise Uncertain(str(exc)) from None
                raise translate(exc, "pushing") from None
            else:
                out[draft.number] = B2BInvoice(made)
        return out

    def _taken(self, draft: Draft, exc: berr.DuplicateNumberError) -> Refusal:
        """The number exists: name its owner (ours first) so the push adopts or reports it."""
        try:
            owners = [B2BInvoice(i) for i in self.client.find_by_number(draft.number)]
        except berr.B2BRouterError:
            owners = []
        owners.sort(key=lambda r: r.marker != draft.number)
        return _refusal(exc, EXIT_CONFLICT, owners[0].ref if owners else None)

    # --- reads ---------------------------------------------------------------------------------

    def kinds(self) -> list[DocKind]:
        """B2BRouter's credit notes are invoices flagged `is_credit_note`: one numbering, one
        listing, told apart by that flag (`B2BInvoice.ref`)."""
        return [DocKind.INVOICE, DocKind.CREDIT_MEMO]

    def read(self, ref: DocRef) -> B2BInvoice:
        number = invoice_id(ref)
        if number is None:
            raise Gone(ref)
        try:
            row = B2BInvoice(self.client.get_invoice(number))
        except berr.NotFoundError:
            raise Gone(ref) from None
        except berr.B2BRouterError as exc:
            raise translate(exc, "reading the B2BRouter invoice") from None
        if row.ref.kind is not ref.kind:
            raise Gone(ref)  # that id holds the other kind: not the document the link names
        return row

    def read_many(self, kind: DocKind, remote_ids: Sequence[str]) -> dict[str, B2BInvoice]:
        """Invoices or credit notes (one listing holds both; the flag tells them apart)."""
        wanted = set(remote_ids)
        if len(wanted) > READ_ONE_MAX:
            with translating("reconciling"):
                rows = [B2BInvoice(i) for i in self.client.invoices()]
            return {r.id: r for r in rows if r.id in wanted and r.ref.kind is kind}
        found: dict[str, B2BInvoice] = {}
        for remote_id in sorted(wanted):
            with contextlib.suppress(Gone):
                found[remote_id] = self.read(DocRef(kind, remote_id))
        return found

    def _contacts(self) -> list[Contact]:
        with translating("reading contacts"):
            return list(self.client.contacts())

    def customer_id(self, name: str) -> str | None:
        hit = choose_contact(self._contacts(), tax_id=None, country=None, name=name).contact
        return str(hit.id) if hit else None

    def customer_ids(self) -> dict[str, str]:
        return {c.name: str(c.id) for c in self._contacts()}

    def searchable(self, number: str) -> bool:
        return bool(number.strip())

    def with_number(self, kind: DocKind, number: str) -> list[B2BInvoice]:
        with translating("looking for candidates"):
            rows = [B2BInvoice(i) for i in self.client.find_by_number(number)]
        return [r for r in rows if r.ref.kind is kind]

    def near(self, kind: DocKind, customer_id: str, lo: str, hi: str) -> list[B2BInvoice]:
        return [r for r in self.between(kind, lo, hi) if r.customer_id == customer_id]

    def between(self, kind: DocKind, lo: str, hi: str) -> list[B2BInvoice]:
        low, high = _date(lo), _date(hi)
        with translating("reading invoices"):
            # B2BRouter's date_from/date_to are submission dates, which may fall before or
            # after the invoice's own date: the whole listing is read and filtered here.
            rows = self.client.invoices()
            return [
                r
                for r in map(B2BInvoice, rows)
                if r.ref.kind is kind
                and r.invoice.date is not None
                and (low is None or r.invoice.date >= low)
                and (high is None or r.invoice.date <= high)
            ]

    # --- copies --------------------------------------------------------------------------------

    def copies(self, kind: DocKind, linked: Sequence[RemoteInvoice]) -> dict[str, list[CopyRecord]]:
        """None can exist: B2BRouter refuses a second invoice with a number it already has."""
        return {}

    def copy_records(self, kind: DocKind, remote_ids: Sequence[str]) -> dict[str, CopyRecord]:
        return {}  # never asked: `copies` finds none

    def remove_copy(self, remote: RemoteInvoice) -> tuple[bool | None, str]:
        return False, "B2BRouter invoices are never deleted as copies"  # never asked

    # --- marker --------------------------------------------------------------------------------

    def set_marker(self, remote: RemoteInvoice, number: str | None, request_id: str) -> B2BInvoice:
        """Write our marker for `number` into `file_reference` (or remove it, for None).
        B2BRouter lets an invoice change only before it is sent (new, error): later a
        `Conflict` says so, and `link` keeps the link without the marker."""
        ref = (
            with_marker(remote.private_note, number)
            if number
            else without_marker(remote.private_note)
        )
        b2b_id = invoice_id(remote.ref)
        if b2b_id is None:
            raise Gone(remote.ref)
        try:
            row = self.client.update_invoice(b2b_id, {"file_reference": ref})
        except berr.NotFoundError:
            raise Gone(remote.ref) from None
        except berr.B2BRouterError as exc:
            raise translate(exc, "writing our marker into the B2BRouter invoice") from None
        return B2BInvoice(row)


def _refusal(exc: berr.B2BRouterError, code: int, owner: DocRef | None = None) -> Refusal:
    return Refusal(
        message=str(exc),
        exit_code=code,
        code=exc.code,
        detail=exc.message,
        intuit_tid=exc.request_id,
        owner_id=None if owner is None else owner.remote_id,
        owner=owner,
    )
