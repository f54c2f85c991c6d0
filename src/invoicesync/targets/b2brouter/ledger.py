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
from collections.abc import Mapping, Sequence

import httpx

from invoicesync.errors import EXIT_CONFLICT, EXIT_PARTIAL
from invoicesync.ledger.base import (
    Company,
    Draft,
    Facts,
    Found,
    Gone,
    Preparation,
    Prerequisite,
    Refusal,
    RemoteInvoice,
    RemoteRecord,
    Uncertain,
    Unsearchable,
)
from invoicesync.marker import marker_of, with_marker, without_marker
from invoicesync.models import DocKind, DocRef, LocalInvoice, Registration
from invoicesync.targets.b2brouter import preflight
from invoicesync.targets.b2brouter.api import B2BRouterClient, Credited, choose_contact
from invoicesync.targets.b2brouter.api import errors as berr
from invoicesync.targets.b2brouter.errors import translate, translating
from invoicesync.targets.b2brouter.followup import B2BBilling, B2BRouterFollowUps
from invoicesync.targets.b2brouter.prerequisites import B2BRouterPrerequisites
from invoicesync.targets.b2brouter.records import B2BInvoice, invoice_id
from invoicesync.targets.b2brouter.setup import SettingCheck

NAME = "B2BRouter"
BY_NUMBER_MAX = 20  # up to this many invoices are looked up one by one, more by a listing
READ_ONE_MAX = 50  # up to this many links are read one by one, more by a listing


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


# What B2BRouter is like (docs/b2brouter.md): a credit note names the invoice it credits
# (`invoice_references`), a number stays taken (`parameter_taken`), and an e-invoice that went
# out is corrected with a credit note issued in the source, never changed in place.
NOT_IN_PLACE = (
    'issue a credit note in the source ("type": "credit_note", "credit_for": "{number}"; and a '
    "new invoice if needed) and push it; it goes to B2BRouter referencing the invoice it credits"
)
FACTS = Facts(
    # B2BRouter's credit notes are invoices flagged `is_credit_note`: one numbering, one
    # listing, told apart by that flag (`B2BInvoice.ref`).
    kinds=(DocKind.INVOICE, DocKind.CREDIT_MEMO),
    credits_by_reference=True,
    numbers_stay_taken=True,
    instead={
        "void": NOT_IN_PLACE,
        "edit": NOT_IN_PLACE,
        "attachments": (
            "B2BRouter delivers the e-invoice itself; leave the files out of the source record"
        ),
        # B2BRouter refuses a second invoice with a number it already has: none can exist.
        "copies": "B2BRouter refuses a second invoice with one number, so it holds no copies",
    },
)


def _date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def _within(day: dt.date | None, lo: str | None, hi: str | None) -> bool:
    """Whether an invoice's date is from `lo` to `hi` (no bound given: any date, or none)."""
    if lo is None and hi is None:
        return True
    low, high = _date(lo or ""), _date(hi or "")
    return day is not None and (low is None or day >= low) and (high is None or day <= high)


class B2BRouterLedger:
    """The `Ledger` for one B2BRouter account, with the follow-ups (`push --send` delivers
    through `send`) and the list of missing contacts, which are components it holds and
    delegates to. It has no batches, edits, voids, credit application, payment records,
    attachments or copies: `FACTS.instead` says what to do instead."""

    name = NAME
    facts = FACTS

    def __init__(self, client: B2BRouterClient, realm_key: str, counts: Counter[str]) -> None:
        self.client = client
        self.realm_key = realm_key  # how local state names this account: b2brouter:<id>
        self.counts = counts
        self.followups = B2BRouterFollowUps(client, self.read_many)
        self.contacts = B2BRouterPrerequisites(client)

    @property
    def account_id(self) -> str:
        return self.realm_key

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

    def customers(self, name: str | None = None) -> dict[str, str]:
        """Contact name → id; a `name` is the contact B2BRouter's own choice would take."""
        with translating("reading contacts"):
            contacts = list(self.client.contacts())
        if name is None:
            return {c.name: str(c.id) for c in contacts}
        hit = choose_contact(contacts, tax_id=None, country=None, name=name).contact
        return {hit.name: str(hit.id)} if hit else {}

    def search(
        self,
        kind: DocKind,
        *,
        number: str | None = None,
        customer_id: str | None = None,
        lo: str | None = None,
        hi: str | None = None,
    ) -> list[B2BInvoice]:
        """By number, B2BRouter's own lookup; else the whole listing, filtered here: its
        date_from/date_to are submission dates, which may fall before or after the invoice's
        own date."""
        if number is not None and not number.strip():
            raise Unsearchable(number)
        with translating("looking for candidates" if number else "reading invoices"):
            rows = self.client.find_by_number(number) if number else self.client.invoices()
            return [
                r
                for r in map(B2BInvoice, rows)
                if r.ref.kind is kind
                and (customer_id is None or r.customer_id == customer_id)
                and _within(r.invoice.date, lo, hi)
            ]

    # --- capabilities, by delegation to the components -----------------------------------------

    @property
    def requests(self) -> Mapping[str, int]:
        return dict(self.counts)

    def billing(self, kind: DocKind, remote_ids: Sequence[str]) -> dict[str, B2BBilling]:
        return self.followups.billing(kind, remote_ids)

    def send(self, ref: DocRef, to: str | None, request_id: str) -> B2BBilling | Refusal:
        return self.followups.send(ref, to, request_id)

    document_formats = B2BRouterFollowUps.document_formats

    def document(self, ref: DocRef, fmt: str) -> bytes:
        return self.followups.document(ref, fmt)

    def setup(self) -> tuple[Company, list[SettingCheck]]:
        return self.followups.setup()

    def with_registrations(
        self,
        rows: Mapping[str, RemoteInvoice],
        known: Mapping[str, Sequence[Registration]] | None = None,
    ) -> dict[str, RemoteInvoice]:
        return self.followups.with_registrations(rows, known)

    def undeliverable(self, rows: Mapping[str, RemoteRecord]) -> dict[str, str]:
        return self.followups.undeliverable(rows)

    def prerequisites(
        self, invoices: Sequence[LocalInvoice], kinds: Sequence[str]
    ) -> list[Prerequisite]:
        return self.contacts.prerequisites(invoices, kinds)

    def find_prerequisite(self, need: Prerequisite) -> str | None:
        return self.contacts.find_prerequisite(need)

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
        request_id=exc.request_id,
        owner_id=None if owner is None else owner.remote_id,
        owner=owner,
    )
