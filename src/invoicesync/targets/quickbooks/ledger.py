"""QuickBooks Online as a ledger: the one adapter between the use cases and `qbo/`.

Every QuickBooks error becomes an `InvoiceSyncError` with its exit code here (`translate`), or
a per-invoice `Refusal`; every row becomes a typed `QBORecord`, which knows which kind of
document it is. The use cases never see a raw dict or a `qbo.errors` class.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

from invoicesync import matching
from invoicesync.aliases import Aliases
from invoicesync.ledger.base import (
    Company,
    CopyRecord,
    Created,
    Draft,
    Edit,
    Facts,
    Found,
    Gone,
    Outcome,
    Preparation,
    Prerequisite,
    Refusal,
    RemoteInvoice,
    Unanswered,
    Uncertain,
    Unsearchable,
    Upload,
)
from invoicesync.marker import with_marker, without_marker
from invoicesync.models import DocKind, DocRef, LocalInvoice
from invoicesync.targets.quickbooks import cache as qbo_cache
from invoicesync.targets.quickbooks import copies as qbo_copies
from invoicesync.targets.quickbooks import mapping, preflight
from invoicesync.targets.quickbooks.api import QBOClient
from invoicesync.targets.quickbooks.api import errors as qerr
from invoicesync.targets.quickbooks.api import query as qq
from invoicesync.targets.quickbooks.api.followup_rows import QBOAttachable, QBOPayment
from invoicesync.targets.quickbooks.api.rows import Entity
from invoicesync.targets.quickbooks.cache import CatalogCache
from invoicesync.targets.quickbooks.copies import QuickBooksCopies, entity_of_draft
from invoicesync.targets.quickbooks.edits import QuickBooksEdits, batch_request_id, rows_by_id
from invoicesync.targets.quickbooks.edits import answer as _answer
from invoicesync.targets.quickbooks.errors import refusal, translate, translating
from invoicesync.targets.quickbooks.followup import QuickBooksFollowUps
from invoicesync.targets.quickbooks.prerequisites import QuickBooksPrerequisites
from invoicesync.targets.quickbooks.records import QBOBilled, QBORecord, entity_of

BATCH_SIZE = 30  # QuickBooks' maximum operations per batch request


class QuickBooksLedger:
    """The `Ledger` for one QuickBooks company, with every capability: edits, voids, credits
    (`lifecycle`: edits.py), what `prepare` creates (`names`: prerequisites.py), copies
    (`copy_check`: copies.py) and the follow-ups (`followups`: followup.py) are components it
    holds and delegates to."""

    name = "QuickBooks"
    # A CreditMemo is applied by a zero-total payment (`apply_credit`); unlink bumps the
    # generation, so a later push uses a new requestid and creates a new invoice.
    facts = Facts(kinds=(DocKind.INVOICE, DocKind.CREDIT_MEMO))

    def __init__(
        self,
        client: QBOClient,
        realm_id: str,
        *,
        send_numbers: bool,
        aliases: Aliases | None = None,
        income_account: str | None = None,
        cache: CatalogCache | None = None,
    ) -> None:
        self.client = client
        self.realm_id = realm_id
        self.send_numbers = send_numbers  # settings: push.doc_numbers == "source"
        self.aliases = aliases or Aliases()
        self.income_account = income_account  # settings: [prepare] income_account
        self.cache = cache
        self.lifecycle = QuickBooksEdits(client)
        self.names = QuickBooksPrerequisites(client, self.aliases, income_account)
        self.copy_check = QuickBooksCopies(client)
        self.followups = QuickBooksFollowUps(client)

    @property
    def account_id(self) -> str:
        return self.realm_id

    def batch_held(self, reserved: int) -> bool:
        """Whether the 40 batches a minute are used up, counting `reserved` batches handed to
        workers that may not have reached the limiter yet (counted twice once they have: the
        caller only switches to single creates a moment early)."""
        return self.client.limiter.batch_room() <= reserved

    @property
    def requests(self) -> Mapping[str, int]:
        return dict(self.client.stats.requests)

    def company(self) -> Company:
        with translating("reading the company's details"):
            info = self.client.company_info()
        country = info.get("Country")
        return Company(str(info.get("CompanyName") or ""), str(country) if country else None)

    # --- push ----------------------------------------------------------------------------------

    def prepare(self, invoices: Sequence[LocalInvoice], origin: str | None = None) -> Preparation:
        """Drafts for what resolves (their notes carry our marker and `origin`, the state's
        token: qbo.marker), problems for what does not."""
        with translating("pushing"):
            catalog, cached = self._catalog(invoices)
            prep = self._resolve(invoices, catalog, origin)
            if prep.problems and cached and self.cache is not None:
                # Tax codes and company facts are not in CDC: look again before saying missing.
                self.cache.drop()
                prep = self._resolve(invoices, self._catalog(invoices)[0], origin)
        return prep

    def _catalog(self, invoices: Sequence[LocalInvoice]) -> tuple[preflight.Catalog, bool]:
        """The catalog and whether it came from the cache (refreshed by one CDC request)."""
        if self.cache is None:
            return preflight.load_catalog(self.client, invoices, self.aliases), False
        return qbo_cache.load_catalog(self.client, self.cache, invoices, self.aliases)

    def _resolve(
        self, invoices: Sequence[LocalInvoice], catalog: preflight.Catalog, origin: str | None
    ) -> Preparation:
        facts = catalog.facts
        use_doc = self.send_numbers and facts.custom_txn_numbers
        prep = Preparation(sends_numbers=use_doc, heading="missing in QuickBooks")
        for inv in invoices:
            refs, problems = preflight.resolve(inv, catalog)
            if refs is None:
                prep.problems[inv.number] = problems
                continue
            payload = mapping.invoice_payload(
                inv, refs, facts, doc_number=use_doc, marker_note=True, origin=origin
            )
            if inv.is_credit_note:  # a credit memo has no terms and no due date
                payload.pop("SalesTermRef", None)
                payload.pop("DueDate", None)
            prep.drafts.append(
                Draft(inv, payload, refs.customer_id, inv.number if use_doc else None)
            )
        return prep

    def find_existing(self, drafts: Sequence[Draft], *, by_number: bool) -> dict[str, Found]:
        """QuickBooks invoices that are (or claim to be) these drafts: by DocNumber, then, for
        the rest, by our marker among those customers' invoices of those dates (one paged
        query), which finds invoices QuickBooks numbered itself or someone renumbered. Where
        several live records carry one marker, the lowest that is the draft's invoice is the
        one found, and the others are its copies."""
        found: dict[str, Found] = {}
        with translating("pushing"):
            for entity in sorted({entity_of_draft(d) for d in drafts}):
                mine = [d for d in drafts if entity_of_draft(d) == entity]
                if by_number:
                    for number, row in self._by_doc_number([d.number for d in mine], entity):
                        found[number] = Found(row)
                unseen = [d for d in mine if d.number not in found]
                groups = qbo_copies.marked_for(self.client, unseen)
                for d in unseen:
                    if groups.get(d.number):
                        found[d.number] = qbo_copies.pick(d, groups[d.number])
        return found

    def _by_doc_number(self, numbers: Sequence[str], entity: Entity) -> list[tuple[str, QBORecord]]:
        found: dict[str, QBORecord] = {}
        for part in qq.chunks(n for n in numbers if qq.queryable(n)):
            for row in self._invoices([("DocNumber", "IN", part)], entity):
                number = str(row.doc_number)
                if number not in found or row.marker == number:
                    found[number] = row  # a duplicated DocNumber: prefer the one that is ours
        return list(found.items())

    def _invoices(
        self, where: Sequence[tuple[str, str, str | Sequence[str]]], entity: Entity
    ) -> list[QBORecord]:
        return [QBORecord.from_row(r, entity) for r in self.client.query(qq.select(entity, where))]

    def create(
        self, drafts: Sequence[Draft], request_ids: Mapping[str, str], *, batch: bool
    ) -> dict[str, Created]:
        """Create the drafts. Raises `Uncertain` when an outcome is unknown; refusals of single
        invoices come back as values.

        `batch` (up to 30 in one request) is safe only where a second writer cannot create the
        same invoice meanwhile: QuickBooks refuses a duplicate DocNumber atomically when we send
        our numbers, and a shared state or a single writer rules the race out. Otherwise each
        invoice goes alone under its own requestid, which does not depend on how invoices were
        grouped, and the result is checked for a second copy another writer made at the same
        moment (`qbo_copies.check_created`; how long QuickBooks remembers a requestid is
        UNVERIFIED, https://blogs.intuit.com/2015/04/06/15346/, so we do not rely on it alone)."""
        created: dict[str, Created]
        try:
            if batch and len(drafts) > 1:
                created = dict(self._create_batch(drafts, request_ids))
            else:
                created = {d.number: self._create_one(d, request_ids) for d in drafts}
        except (qerr.QBOConnectionError, qerr.ServerError, qerr.DuplicateRequest) as exc:
            raise Uncertain(str(exc)) from None
        except qerr.QBOError as exc:
            if not exc.definitive:
                raise translate(exc, "pushing") from None
            # the whole request refused: nothing was created
            created = dict.fromkeys((d.number for d in drafts), refusal(exc))
        self._check_cache(drafts, created)
        return created if batch else qbo_copies.check_created(self.client, drafts, created)

    def _check_cache(self, drafts: Sequence[Draft], outcomes: Mapping[str, object]) -> None:
        """Drop the cached catalog when an answer contradicts it: a refusal naming a reference
        (it may be a cached id that is gone), or a DocNumber not as sent (the company's
        numbering changed). The next pre-flight then reads everything afresh."""
        if self.cache is None:
            return
        if any(_contradicts(d, outcomes.get(d.number)) for d in drafts):
            self.cache.drop()

    def _create_one(self, draft: Draft, request_ids: Mapping[str, str]) -> QBORecord | Refusal:
        entity = entity_of_draft(draft)
        try:
            row = self.client.create(entity, draft.payload, requestid=request_ids[draft.number])
        except qerr.ValidationError as exc:
            return refusal(exc)
        return QBORecord.from_row(row, entity)

    def _create_batch(
        self, drafts: Sequence[Draft], request_ids: Mapping[str, str]
    ) -> dict[str, QBORecord | Refusal | Unanswered]:
        items = [
            {"bId": str(i + 1), "operation": "create", entity_of_draft(d): d.payload}
            for i, d in enumerate(drafts)
        ]
        answers = self.client.batch(
            items, requestid=batch_request_id([request_ids[d.number] for d in drafts])
        )
        return {
            d.number: _answer(answer, entity_of_draft(d))
            for d, answer in zip(drafts, answers, strict=True)
        }

    # --- reads ---------------------------------------------------------------------------------

    def read(self, ref: DocRef) -> QBORecord:
        entity = entity_of(ref.kind)
        try:
            return QBORecord.from_row(self.client.read(entity, ref.remote_id), entity)
        except qerr.NotFoundError:
            raise Gone(ref) from None
        except qerr.QBOError as exc:
            raise translate(exc, f"reading QuickBooks {ref}") from None

    def read_many(self, kind: DocKind, remote_ids: Sequence[str]) -> dict[str, QBORecord]:
        if not remote_ids:
            return {}
        entity = entity_of(kind)
        with translating("reconciling"):
            rows = rows_by_id(self.client, entity, remote_ids)
        return {r.id: r for r in (QBORecord.from_row(row, entity) for row in rows)}

    def customers(self, name: str | None = None) -> dict[str, str]:
        """Full name → id; a `name` is resolved through `[aliases.customers]`, and a name with
        a colon as a sub-customer's path."""
        with translating("reading customers"):
            rows = list(preflight.customers(self.client))
        if name is None:
            return {c.full_name: c.id for c in rows}
        name = self.aliases.customers.get(name, name)
        hit = matching.find_exact(name, rows, by_path=":" in name)
        return {hit.full_name: hit.id} if hit else {}

    def search(
        self,
        kind: DocKind,
        *,
        number: str | None = None,
        customer_id: str | None = None,
        lo: str | None = None,
        hi: str | None = None,
    ) -> list[QBORecord]:
        """One paged query whose conditions are the criteria given."""
        if number is not None and not qq.queryable(number):
            raise Unsearchable(number)
        where = [
            (field, op, value)
            for field, op, value in (
                ("DocNumber", "=", number),
                ("CustomerRef", "=", customer_id),
                ("TxnDate", ">=", lo),
                ("TxnDate", "<=", hi),
            )
            if value is not None
        ]
        with translating("looking for candidates" if number or customer_id else "reconciling"):
            return self._invoices(where, entity_of(kind))

    # --- marker --------------------------------------------------------------------------------

    def set_marker(self, remote: RemoteInvoice, number: str | None, request_id: str) -> QBORecord:
        """Write our marker for `number` into the document (or remove it, for None): the one
        `remote` is, through its own entity's endpoint."""
        entity = entity_of(remote.ref.kind)
        note = (
            with_marker(remote.private_note, number)
            if number
            else without_marker(remote.private_note)
        )
        try:
            row = self.client.sparse_update(
                entity,
                remote.id,
                {"PrivateNote": note},
                requestid=request_id,
                sync_token=remote.version,
            )
        except qerr.NotFoundError:
            raise Gone(remote.ref) from None
        except qerr.QBOError as exc:
            raise translate(exc, f"writing our marker into QuickBooks {remote.ref}") from None
        return QBORecord.from_row(row, entity)

    # --- capabilities, by delegation to the components -----------------------------------------

    @property
    def batch_size(self) -> int:
        return BATCH_SIZE

    def edit(self, draft: Draft, ref: DocRef) -> Edit:
        return self.lifecycle.edit(draft, ref)

    def edits(self, wanted: Sequence[tuple[Draft, DocRef]]) -> dict[str, Edit]:
        return self.lifecycle.edits(wanted)

    def update(self, edits: Sequence[tuple[Edit, str]]) -> list[Outcome]:
        return self.lifecycle.update(edits)

    # QuickBooks' API voids invoices only: Intuit's CreditMemo reference offers create, read,
    # update, delete, send and PDF (https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/creditmemo).
    voidable = (DocKind.INVOICE,)

    def void(self, remote: RemoteInvoice, reason: str, request_id: str) -> QBORecord | Refusal:
        return self.lifecycle.void(remote, reason, request_id)

    def apply_credit(
        self, invoice: RemoteInvoice, credit: RemoteInvoice, amount: Decimal, request_id: str
    ) -> str | Refusal:
        return self.lifecycle.apply_credit(invoice, credit, amount, request_id)

    def prerequisites(
        self, invoices: Sequence[LocalInvoice], kinds: Sequence[str]
    ) -> list[Prerequisite]:
        return self.names.prerequisites(invoices, kinds)

    def create_prerequisite(self, need: Prerequisite, request_id: str) -> str | Refusal:
        return self.names.create_prerequisite(need, request_id)

    def find_prerequisite(self, need: Prerequisite) -> str | None:
        return self.names.find_prerequisite(need)

    def copies(self, kind: DocKind, linked: Sequence[RemoteInvoice]) -> dict[str, list[CopyRecord]]:
        return self.copy_check.copies(kind, linked)

    def copy_records(self, kind: DocKind, remote_ids: Sequence[str]) -> dict[str, CopyRecord]:
        return self.copy_check.copy_records(kind, remote_ids)

    def remove_copy(self, remote: RemoteInvoice) -> tuple[bool | None, str]:
        return self.copy_check.remove_copy(remote)

    def billing(self, kind: DocKind, remote_ids: Sequence[str]) -> dict[str, QBOBilled]:
        return self.followups.billing(kind, remote_ids)

    def payments(self, payment_ids: Sequence[str]) -> dict[str, QBOPayment]:
        return self.followups.payments(payment_ids)

    def send(self, ref: DocRef, to: str | None, request_id: str) -> QBOBilled | Refusal:
        return self.followups.send(ref, to, request_id)

    document_formats = QuickBooksFollowUps.document_formats

    def document(self, ref: DocRef, fmt: str) -> bytes:
        return self.followups.document(ref, fmt)

    def attachment_problem(self, file_name: str, size: int) -> str | None:
        return self.followups.attachment_problem(file_name, size)

    def attachments(self, ref: DocRef) -> list[QBOAttachable]:
        return self.followups.attachments(ref)

    def attach(self, ref: DocRef, upload: Upload, request_id: str) -> QBOAttachable | Refusal:
        return self.followups.attach(ref, upload, request_id)


def _contradicts(draft: Draft, outcome: object) -> bool:
    if isinstance(outcome, Refusal):
        return outcome.code in qbo_cache.REFERENCE_CODES
    return isinstance(outcome, QBORecord) and draft.doc_number not in (None, outcome.doc_number)
