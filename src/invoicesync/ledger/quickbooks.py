"""QuickBooks Online as a ledger: the one adapter between the use cases and `qbo/`.

Every QuickBooks error becomes an `InvoiceSyncError` with its exit code here (`translate`), or
a per-invoice `Refusal`; every row becomes a typed `QBOInvoice`. The use cases never see a raw
dict or a `qbo.errors` class.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator, Mapping, Sequence

from invoicesync import mapping, matching
from invoicesync.config import Aliases
from invoicesync.errors import (
    EXIT_CONFLICT,
    EXIT_PARTIAL,
    EXIT_PREREQUISITE,
    InvoiceSyncError,
    NotConnected,
    QuickBooksUnavailable,
    Refused,
)
from invoicesync.ledger import qbo_preflight as preflight
from invoicesync.ledger import qbo_prepare
from invoicesync.ledger.base import (
    Company,
    Draft,
    Gone,
    Preparation,
    Prerequisite,
    Refusal,
    RemoteInvoice,
    Unanswered,
    Uncertain,
)
from invoicesync.ledger.qbo_followup import QuickBooksFollowUps
from invoicesync.models import LocalInvoice
from invoicesync.qbo import QBOClient
from invoicesync.qbo import errors as qerr
from invoicesync.qbo import query as qq
from invoicesync.qbo.marker import with_marker, without_marker
from invoicesync.qbo.rows import NamedRow, QBOInvoice

BATCH_SIZE = 30  # QuickBooks' maximum operations per batch request


def translate(exc: qerr.QBOError, what: str) -> InvoiceSyncError:
    """A QuickBooks error as the user-facing error with the documented exit code."""
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
    if exc.definitive:  # QuickBooks refused it, with its reason: not a bug of ours
        found = refusal(exc)
        return Refused(f"QuickBooks refused a request while {what}: {exc}", found.exit_code)
    return InvoiceSyncError(f"QuickBooks rejected a request while {what}: {exc}")


def refusal(exc: qerr.QBOError) -> Refusal:
    """A definitive refusal of one invoice, with QuickBooks' own reason and our exit code."""
    if isinstance(exc, qerr.DuplicateDocNumber):
        code, owner = EXIT_CONFLICT, exc.txn_id
    elif isinstance(exc, (qerr.NotFoundError, qerr.InvalidReferenceError)):
        code, owner = EXIT_PREREQUISITE, None
    elif isinstance(exc, qerr.StaleObjectError):
        code, owner = EXIT_CONFLICT, None
    else:
        code, owner = EXIT_PARTIAL, None
    return Refusal(
        message=str(exc),
        exit_code=code,
        code=exc.code,
        detail=exc.detail,
        element=exc.element,
        intuit_tid=exc.intuit_tid,
        owner_id=owner,
    )


@contextlib.contextmanager
def translating(what: str) -> Iterator[None]:
    try:
        yield
    except qerr.QBOError as exc:
        raise translate(exc, what) from None


class QuickBooksLedger(QuickBooksFollowUps):
    """The `Ledger` for one QuickBooks company (after-push operations: `qbo_followup`)."""

    def __init__(
        self,
        client: QBOClient,
        realm_id: str,
        *,
        send_numbers: bool,
        aliases: Aliases | None = None,
        income_account: str | None = None,
    ) -> None:
        self.client = client
        self.realm_id = realm_id
        self.send_numbers = send_numbers  # settings: push.doc_numbers == "source"
        self.aliases = aliases or Aliases()
        self.income_account = income_account  # settings: [prepare] income_account

    @property
    def account_id(self) -> str:
        return self.realm_id

    @property
    def batch_size(self) -> int:
        return BATCH_SIZE

    @property
    def requests(self) -> Mapping[str, int]:
        return dict(self.client.stats.requests)

    def company(self) -> Company:
        with translating("reading the company's details"):
            info = self.client.company_info()
        country = info.get("Country")
        return Company(str(info.get("CompanyName") or ""), str(country) if country else None)

    # --- push ----------------------------------------------------------------------------------

    def prepare(self, invoices: Sequence[LocalInvoice]) -> Preparation:
        with translating("pushing"):
            catalog = preflight.load_catalog(self.client, invoices, self.aliases)
        facts = catalog.facts
        use_doc = self.send_numbers and facts.custom_txn_numbers
        prep = Preparation(sends_numbers=use_doc)
        for inv in invoices:
            refs, problems = preflight.resolve(inv, catalog)
            if refs is None:
                prep.problems[inv.number] = problems
                continue
            payload = mapping.invoice_payload(
                inv, refs, facts, doc_number=use_doc, marker_note=True
            )
            prep.drafts.append(
                Draft(inv, payload, refs.customer_id, inv.number if use_doc else None)
            )
        return prep

    def find_existing(self, drafts: Sequence[Draft], *, by_number: bool) -> dict[str, QBOInvoice]:
        """QuickBooks invoices that are (or claim to be) these drafts: by DocNumber, then, for
        the rest, by our marker among those customers' invoices of those dates (one paged
        query), which finds invoices QuickBooks numbered itself or someone renumbered."""
        with translating("pushing"):
            found = self._by_doc_number([d.number for d in drafts]) if by_number else {}
            unseen = [d for d in drafts if d.number not in found]
            for mark, row in self._by_marker(unseen).items():
                found.setdefault(mark, row)
        return found

    def _by_doc_number(self, numbers: Sequence[str]) -> dict[str, QBOInvoice]:
        found: dict[str, QBOInvoice] = {}
        for part in qq.chunks(n for n in numbers if qq.queryable(n)):
            for row in self._invoices([("DocNumber", "IN", part)]):
                number = str(row.doc_number)
                if number not in found or row.marker == number:
                    found[number] = row  # a duplicated DocNumber: prefer the one that is ours
        return found

    def _by_marker(self, drafts: Sequence[Draft]) -> dict[str, QBOInvoice]:
        """Our invoices by marker; where there are copies, the survivor (lowest Id)."""
        return {n: min(rows, key=_id_order) for n, rows in self._copies(drafts).items()}

    def _invoices(self, where: Sequence[tuple[str, str, str | Sequence[str]]]) -> list[QBOInvoice]:
        return [QBOInvoice.from_row(r) for r in self.client.query(qq.select("Invoice", where))]

    def create(
        self, drafts: Sequence[Draft], request_ids: Mapping[str, str], *, batch: bool
    ) -> dict[str, QBOInvoice | Refusal | Unanswered]:
        """Create the drafts. Raises `Uncertain` when an outcome is unknown; refusals of single
        invoices come back as values.

        `batch` (up to 30 in one request) is safe only where a second writer cannot create the
        same invoice meanwhile: QuickBooks refuses a duplicate DocNumber atomically when we send
        our numbers, and a shared state or a single writer rules the race out. Otherwise each
        invoice goes alone under its own requestid, which does not depend on how invoices were
        grouped, and the result is checked for a second copy another writer made at the same
        moment (quickbooks-api.md §6: how long QuickBooks remembers a requestid is UNVERIFIED,
        so we do not rely on it alone)."""
        try:
            if batch and len(drafts) > 1:
                return self._create_batch(drafts, request_ids)
            created: dict[str, QBOInvoice | Refusal | Unanswered] = {
                d.number: self._create_one(d, request_ids) for d in drafts
            }
        except (qerr.QBOConnectionError, qerr.ServerError) as exc:
            raise Uncertain(str(exc)) from None
        except qerr.QBOError as exc:
            if exc.definitive:  # the whole request refused: nothing was created
                return dict.fromkeys((d.number for d in drafts), refusal(exc))
            raise translate(exc, "pushing") from None
        return created if batch else self._one_copy_each(drafts, created)

    def _one_copy_each(
        self, drafts: Sequence[Draft], created: dict[str, QBOInvoice | Refusal | Unanswered]
    ) -> dict[str, QBOInvoice | Refusal | Unanswered]:
        """Where two writers created the same invoice at once, the lowest Id stays: the writer
        that made a higher one deletes its own copy and links the survivor. Every writer applies
        the same rule after its own create, so they converge on one invoice."""
        made = {n: r for n, r in created.items() if isinstance(r, QBOInvoice)}
        if not made:
            return created
        try:
            copies = self._copies([d for d in drafts if d.number in made])
        except qerr.QBOError:
            return created  # cannot check now: reconcile reports a duplicate later
        for number, mine in made.items():
            survivor = min([mine, *copies.get(number, [])], key=_id_order)
            if survivor.id != mine.id and self._delete(mine):
                created[number] = survivor
        return created

    def _copies(self, drafts: Sequence[Draft]) -> dict[str, list[QBOInvoice]]:
        """Every invoice carrying our marker among these customers' invoices of these dates."""
        found: dict[str, list[QBOInvoice]] = {}
        ids = [d.customer_id for d in drafts]
        dates = [d.invoice.issue_date.isoformat() for d in drafts]
        for id_part in qq.chunks(ids):
            for date_part in qq.chunks(dates):
                where = [("CustomerRef", "IN", id_part), ("TxnDate", "IN", date_part)]
                for row in self._invoices(where):
                    if row.marker:
                        found.setdefault(row.marker, []).append(row)
        return found

    def _delete(self, remote: QBOInvoice) -> bool:
        """Delete our own just-created copy (never a paid one); False if it could not be."""
        if (remote.balance or 0) < (remote.total or 0):
            return False  # a payment reached it meanwhile: keep it, reconcile reports both
        try:
            self.client.request(
                "POST",
                "invoice",
                params={"operation": "delete"},
                body={"Id": remote.id, "SyncToken": remote.sync_token},
                requestid=f"del-{hashlib.sha256(remote.id.encode()).hexdigest()[:24]}",
                kind="update",
            )
        except qerr.NotFoundError:
            return True  # already gone
        except qerr.QBOError:
            return False
        return True

    def _create_one(self, draft: Draft, request_ids: Mapping[str, str]) -> QBOInvoice | Refusal:
        try:
            row = self.client.create("Invoice", draft.payload, requestid=request_ids[draft.number])
        except qerr.ValidationError as exc:
            return refusal(exc)
        return QBOInvoice.from_row(row)

    def _create_batch(
        self, drafts: Sequence[Draft], request_ids: Mapping[str, str]
    ) -> dict[str, QBOInvoice | Refusal | Unanswered]:
        items = [
            {"bId": str(i + 1), "operation": "create", "Invoice": d.payload}
            for i, d in enumerate(drafts)
        ]
        answers = self.client.batch(
            items, requestid=batch_request_id([request_ids[d.number] for d in drafts])
        )
        out: dict[str, QBOInvoice | Refusal | Unanswered] = {}
        for draft, answer in zip(drafts, answers, strict=True):
            if "Invoice" in answer:
                out[draft.number] = QBOInvoice.from_row(answer["Invoice"])
                continue
            ftype, errs = qerr.fault_errors(answer)
            if not errs:
                out[draft.number] = Unanswered("QuickBooks gave no answer for this invoice")
                continue
            error = qerr.error_from_fault(ftype, errs, status=400, intuit_tid=None)
            # Only a business refusal says nothing was created; a throttle or a server fault
            # inside a batch leaves the outcome open.
            out[draft.number] = refusal(error) if error.definitive else Unanswered(str(error))
        return out

    # --- reads ---------------------------------------------------------------------------------

    def read(self, remote_id: str) -> QBOInvoice:
        try:
            return QBOInvoice.from_row(self.client.read("Invoice", remote_id))
        except qerr.NotFoundError:
            raise Gone(remote_id) from None
        except qerr.QBOError as exc:
            raise translate(exc, "reading the QuickBooks invoice") from None

    def read_many(self, remote_ids: Sequence[str]) -> dict[str, QBOInvoice]:
        found: dict[str, QBOInvoice] = {}
        with translating("reconciling"):
            for part in qq.chunks(remote_ids):
                for row in self._invoices([("Id", "IN", part)]):
                    found[row.id] = row
        return found

    def customer_id(self, name: str) -> str | None:
        name = self.aliases.customers.get(name, name)
        hit = matching.find_exact(name, self._customers(), by_path=":" in name)
        return hit.id if hit else None

    def customer_ids(self) -> dict[str, str]:
        return {c.full_name: c.id for c in self._customers()}

    def _customers(self) -> list[NamedRow]:
        with translating("reading customers"):
            return list(preflight.customers(self.client))

    def searchable(self, number: str) -> bool:
        return qq.queryable(number)

    def with_number(self, number: str) -> list[QBOInvoice]:
        with translating("looking for candidates"):
            return self._invoices([("DocNumber", "=", number)])

    def near(self, customer_id: str, lo: str, hi: str) -> list[QBOInvoice]:
        where = [("CustomerRef", "=", customer_id), ("TxnDate", ">=", lo), ("TxnDate", "<=", hi)]
        with translating("looking for candidates"):
            return self._invoices(where)

    def between(self, lo: str, hi: str) -> list[QBOInvoice]:
        with translating("reconciling"):
            return self._invoices([("TxnDate", ">=", lo), ("TxnDate", "<=", hi)])

    def prerequisites(  # what `prepare` creates (qbo_prepare)
        self, invoices: Sequence[LocalInvoice], kinds: Sequence[str]
    ) -> list[Prerequisite]:
        with translating("looking for what the invoices need"):
            catalog = preflight.load_catalog(self.client, invoices, self.aliases)
            planner = qbo_prepare.Planner(self.client, catalog, self.income_account)
            return planner.plan(qbo_prepare.wants(invoices, catalog, kinds))

    def create_prerequisite(self, need: Prerequisite, request_id: str) -> str | Refusal:
        """Create a customer, service or term (`Uncertain`: outcome unknown). A duplicate name
        (6240) after an earlier uncertain attempt is that attempt's record: it is returned."""
        assert need.payload is not None
        try:
            row = self.client.create(
                qbo_prepare.ENTITIES[need.kind], need.payload, requestid=request_id
            )
        except (qerr.QBOConnectionError, qerr.ServerError) as exc:
            raise Uncertain(str(exc)) from None
        except qerr.ValidationError as exc:
            found = self.find_prerequisite(need) if exc.code == "6240" else None
            return found or refusal(exc)
        except qerr.QBOError as exc:
            raise translate(exc, f"creating {need.kind} {need.name!r}") from None
        return str(row["Id"])

    def find_prerequisite(self, need: Prerequisite) -> str | None:
        with translating(f"looking for {need.kind} {need.name!r}"):
            return qbo_prepare.find(self.client, need)

    # --- marker --------------------------------------------------------------------------------

    def set_marker(self, remote: RemoteInvoice, number: str | None, request_id: str) -> QBOInvoice:
        """Write our marker for `number` into the invoice (or remove it, for None)."""
        note = (
            with_marker(remote.private_note, number)
            if number
            else without_marker(remote.private_note)
        )
        try:
            row = self.client.sparse_update(
                "Invoice",
                remote.id,
                {"PrivateNote": note},
                requestid=request_id,
                sync_token=remote.sync_token,
            )
        except qerr.NotFoundError:
            raise Gone(remote.id) from None
        except qerr.QBOError as exc:
            raise translate(exc, "writing our marker into the QuickBooks invoice") from None
        return QBOInvoice.from_row(row)


def _id_order(row: QBOInvoice) -> tuple[int, str]:
    """QuickBooks Ids are numbers in creation order; compare them as numbers."""
    return len(row.id), row.id


def batch_request_id(item_ids: Sequence[str]) -> str:
    """A batch's requestid from its items' ids: a retry of the same batch is replayed."""
    return hashlib.sha256("\x1f".join(item_ids).encode()).hexdigest()[:32]
