"""The accounting target as the use cases see it: the ledger seam.

Every target implements the core (`Ledger`): pre-flight a batch, find what already exists,
create, read, mark, and one search for `link` and `reconcile`. What only some targets can do
(edits, voids, credits, follow-ups, prerequisites, copies, batching) are the capabilities in
`ledger/capabilities.py`.
Fatal failures (not connected, unavailable) are raised as `InvoiceSyncError`s with their exit
codes; a definitive refusal of one invoice is returned as a `Refusal` value so a batch goes on;
a write whose outcome is unknown raises `Uncertain`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol, Union

from invoicesync.errors import EXIT_PARTIAL
from invoicesync.matching import NearMatch
from invoicesync.models import DocKind, DocRef, LocalInvoice

# An e-invoicing network's delivery states (`RemoteInvoice.status`), which `reconcile` shows;
# the problems need someone to act (fix and resend, or talk to the customer).
DELIVERY_STATES = frozenset(
    {"new", "issued", "sending", "sent", "accepted", "registered", "allegedly_paid", "closed"}
)
DELIVERY_PROBLEMS = frozenset({"error", "refused"})


class RemoteRecord(Protocol):
    """An invoice or credit memo as the target holds it (read only): its fields."""

    @property
    def id(self) -> str: ...
    @property
    def doc_number(self) -> str | None: ...
    @property
    def customer_id(self) -> str | None: ...
    @property
    def customer_name(self) -> str | None: ...
    @property
    def total(self) -> Decimal | None: ...
    @property
    def balance(self) -> Decimal | None: ...
    @property
    def currency(self) -> str | None: ...
    @property
    def version(self) -> str | None: ...
    @property
    def txn_date(self) -> str | None: ...
    @property
    def private_note(self) -> str | None: ...
    @property
    def marker(self) -> str | None: ...
    @property
    def origin(self) -> str | None: ...  # the state that created it, as its marker says
    @property
    def voided(self) -> bool: ...
    @property
    def status(self) -> str: ...
    @property
    def payments(self) -> tuple[str, ...]: ...


class RemoteInvoice(RemoteRecord, Protocol):
    """A document the target holds, knowing what it is: its `ref` (kind and id) is what every
    write to it addresses, so a credit memo can never be written through the invoice endpoint."""

    @property
    def ref(self) -> DocRef: ...


# Reference kind → its `[aliases.*]` table in config.toml.
ALIAS_TABLES = {
    "customer": "customers",
    "item": "services",
    "term": "terms",
    "tax code": "tax_codes",
}


@dataclass(frozen=True)
class Problem:
    """One unresolved reference of one invoice, with the closest names and the reason."""

    kind: str  # customer, item, term, tax code, currency
    wanted: str
    reason: str
    suggestions: tuple[NearMatch, ...] = ()
    alias: str | None = None  # the config.toml line that would make the closest name match

    def text(self) -> str:
        hint = "; ".join(f"{m.name!r} ({m.reason})" for m in self.suggestions)
        return (
            f"{self.kind} {self.wanted!r}: {self.reason}"
            + (f"; closest: {hint}" if hint else "")
            + (
                f"; if that is the one, add under [aliases.{ALIAS_TABLES[self.kind]}] in "
                f"config.toml: {self.alias}"
                if self.alias
                else ""
            )
        )


@dataclass(frozen=True)
class Prerequisite:
    """A name the invoices use that the target lacks: what `prepare` would create, or why it
    will not (`refused`), or, for tax codes, what the user must set up (`payload` is None)."""

    kind: str  # customer, service, term, tax code
    name: str  # the name in the target (an alias applied)
    invoices: tuple[str, ...]
    payload: dict[str, Any] | None = None
    refused: str | None = None

    @property
    def creatable(self) -> bool:
        return self.payload is not None and self.refused is None


@dataclass(frozen=True)
class Draft:
    """One invoice resolved against the target and ready to send."""

    invoice: LocalInvoice
    payload: dict[str, Any]
    customer_id: str
    doc_number: str | None  # the number we send, if the target takes ours

    @property
    def number(self) -> str:
        return self.invoice.number


@dataclass
class Preparation:
    """Pre-flight of a batch: drafts for what resolved, problems for what did not."""

    drafts: list[Draft] = field(default_factory=list)
    problems: dict[str, list[Problem]] = field(default_factory=dict)
    sends_numbers: bool = False  # the target keeps our invoice numbers (a duplicate check)
    heading: str = "missing at the target"  # how the push introduces an invoice's problems


@dataclass(frozen=True)
class Refusal:
    """The target definitively refused one invoice: nothing was created."""

    message: str
    exit_code: int = EXIT_PARTIAL
    code: str | None = None
    detail: str | None = None
    element: str | None = None
    request_id: str | None = None  # the target's id of the answer (intuit_tid, a request id)
    owner_id: str | None = None  # for a duplicate number: the transaction that has it
    owner: DocRef | None = None  # ... when that transaction is a document we write


@dataclass(frozen=True)
class Edit:
    """What an update of one linked record would send, decided against the record as read."""

    remote: RemoteInvoice
    fields: dict[str, Any]  # the sparse update; empty when the target already matches
    changes: tuple[str, ...]  # each change in words: "line 1 quantity: 1000 → 1200"


@dataclass(frozen=True)
class Unanswered:
    """The target did not say what became of this invoice (an item of a batch left without an
    answer, or answered with a throttle or a server fault): look it up before deciding."""

    reason: str


Outcome = Union[RemoteInvoice, Refusal, Unanswered]  # noqa: UP007 (a runtime alias on 3.11)


@dataclass(frozen=True)
class Checked:
    """A create whose copy check has something to say. `remote` is what to link: ours, or the
    survivor another writer made at the same moment (ours deleted as its copy); None when
    nothing may be linked yet (our delete of ours may have committed unheard). `attention`:
    a person must look (the run exits 3)."""

    remote: RemoteInvoice | None
    note: str
    attention: bool = True


Created = Union[RemoteInvoice, Refusal, Unanswered, Checked]  # noqa: UP007


@dataclass(frozen=True)
class CopyRecord:
    """A live record carrying our marker, with what decides whether it may be deleted as a
    copy of another: what makes it this invoice (`content`: label and value, in order:
    customer, date, currency, DocNumber, total, tax, each line), whether it was e-mailed, and
    the whole record as the target holds it (`document`, JSON), which a delete journals first
    so that the record can be recreated."""

    remote: RemoteInvoice
    content: tuple[tuple[str, str], ...]
    sent: bool
    document: str

    @property
    def id(self) -> str:
        return self.remote.id


@dataclass(frozen=True)
class Found:
    """What the duplicate guard found for one draft: the record to adopt (or refuse), every
    other live record carrying our marker for the same number (copies), and how the record
    differs from the draft, field by field (None: not compared)."""

    remote: RemoteInvoice
    copies: tuple[RemoteInvoice, ...] = ()
    changes: tuple[str, ...] | None = None


class DocumentPending(Exception):
    """The target has the document but has not generated it yet (B2BRouter makes its PDF
    asynchronously: a 404 first is normal); asking again later gets it."""

    def __init__(self, ref: DocRef) -> None:
        super().__init__(f"the document of {ref} is still being generated")
        self.ref = ref


class Uncertain(Exception):
    """A write may or may not have happened (dropped connection, 5xx after retries)."""


class Gone(Exception):
    """The target no longer has the record (deleted). Its argument names it: a `DocRef`."""


@dataclass(frozen=True)
class Company:
    """The target's account as `status` and `connect` show it."""

    name: str
    country: str | None


@dataclass(frozen=True)
class Facts:
    """What a target is like, known without asking it over the network.

    `instead`: for a capability the target lacks (`ledger/capabilities.py`), by the word the
    use cases name it with ("void", "edit", "attachments", ...), what the user does instead;
    `{number}` in it stands for the invoice concerned."""

    kinds: tuple[DocKind, ...]  # the kinds of document this target holds
    # True: a credit note names the invoice it credits in the document itself, so there is no
    # credit to apply afterwards (B2BRouter's `invoice_references`).
    credits_by_reference: bool = False
    # True: a number stays taken by the document it was pushed as, even once unlinked (the
    # target refuses a second document with it), so a later push of it is a conflict; False:
    # a later push creates a new document (under a fresh request id).
    numbers_stay_taken: bool = False
    instead: Mapping[str, str] = field(default_factory=dict)


class Unsearchable(Exception):
    """The target cannot search for this number (characters its query language cannot hold)."""


class Ledger(Protocol):
    """The core every target implements: what push, link, unlink, list-candidates and
    reconcile need. Everything else is an optional capability (`ledger/capabilities.py`) a use
    case checks for, saying plainly when the target lacks it."""

    @property
    def name(self) -> str: ...  # "QuickBooks", "B2BRouter": for messages
    @property
    def account_id(self) -> str: ...
    @property
    def facts(self) -> Facts: ...

    def company(self) -> Company: ...
    def prepare(
        self, invoices: Sequence[LocalInvoice], origin: str | None = None
    ) -> Preparation: ...  # `origin`: the state's token, carried by what a push creates
    def find_existing(self, drafts: Sequence[Draft], *, by_number: bool) -> Mapping[str, Found]: ...
    def create(
        self, drafts: Sequence[Draft], request_ids: Mapping[str, str], *, batch: bool
    ) -> Mapping[str, Created]: ...
    # Every read by id takes the document's kind (`DocRef`): Ids are numbered per kind.
    def read(self, ref: DocRef) -> RemoteInvoice: ...
    def read_many(
        self, kind: DocKind, remote_ids: Sequence[str]
    ) -> Mapping[str, RemoteInvoice]: ...
    def search(
        self,
        kind: DocKind,
        *,
        number: str | None = None,
        customer_id: str | None = None,
        lo: str | None = None,
        hi: str | None = None,
    ) -> Sequence[RemoteInvoice]:
        """Documents of `kind` matching every criterion given: the number, the customer, the
        date from `lo` to `hi` (ISO dates, inclusive). Raises `Unsearchable` for a number the
        target cannot search for."""
        ...

    def customers(self, name: str | None = None) -> Mapping[str, str]:
        """The target's customers, name → id; with `name`, only the one that name resolves to
        (through `[aliases.customers]` where the target has them), or none."""
        ...

    def set_marker(
        self, remote: RemoteInvoice, number: str | None, request_id: str
    ) -> RemoteInvoice: ...


class Billing(Protocol):
    """An invoice's (or credit memo's) delivery and payment state as the target holds it."""

    @property
    def id(self) -> str: ...
    @property
    def invoice(self) -> RemoteRecord: ...
    @property
    def sent(self) -> bool: ...
    @property
    def delivered_at(self) -> str | None: ...
    @property
    def bill_email(self) -> str | None: ...
    @property
    def payment_ids(self) -> tuple[str, ...]: ...
    @property
    def updated_at(self) -> str | None: ...


class Payment(Protocol):
    """A payment received, how much of it went to which invoice, and the credits it applied
    (a credit memo's credit used against an invoice is not money received)."""

    @property
    def id(self) -> str: ...
    @property
    def date(self) -> str | None: ...
    @property
    def method(self) -> str | None: ...
    @property
    def reference(self) -> str | None: ...
    def amount_for(self, remote_id: str) -> Decimal: ...  # money only, never a credit
    def credits_for(self, remote_id: str) -> tuple[tuple[str, Decimal], ...]: ...
    def applied_from(self, credit_id: str) -> tuple[tuple[str, Decimal], ...]: ...


class Attachment(Protocol):
    """A file attached to an invoice in the target."""

    @property
    def id(self) -> str: ...
    @property
    def file_name(self) -> str | None: ...
    @property
    def size(self) -> int | None: ...
    @property
    def note(self) -> str | None: ...


@dataclass(frozen=True)
class Upload:
    """A file to attach: its name, type and bytes, and the note that identifies its content."""

    file_name: str
    content_type: str
    data: bytes
    note: str
