"""What only some targets can do: the optional capabilities beside the core (`ledger/base.py`).

A target implements the protocols it can honour and no others: there are no stubs that
refuse or answer nothing. A use case checks (`isinstance(ledger, Voids)`) and,
when the target lacks the capability, says so plainly in one line that names the target and
what to do instead (`lacks`): the target's own advice (`Facts.instead`) or a general one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Protocol, runtime_checkable

from invoicesync.errors import UsageError
from invoicesync.ledger.base import (
    Attachment,
    Billing,
    CopyRecord,
    Draft,
    Edit,
    Ledger,
    Outcome,
    Payment,
    Prerequisite,
    Refusal,
    RemoteInvoice,
    Upload,
)
from invoicesync.models import DocKind, DocRef, LocalInvoice


@runtime_checkable
class CountsRequests(Protocol):
    """A target that counts the requests it sent, by method, for the reports."""

    @property
    def requests(self) -> Mapping[str, int]: ...


@runtime_checkable
class Throughput(Protocol):
    """A target that takes several creates or updates in one request, within a budget."""

    @property
    def batch_size(self) -> int: ...
    def batch_held(self, reserved: int) -> bool: ...


@runtime_checkable
class Edits(Protocol):
    """Linked documents edited in place (`push --update`). An edit is read from, and written
    to, the document `ref` names; writes take the record as read (`RemoteInvoice.ref`)."""

    def edit(self, draft: Draft, ref: DocRef) -> Edit: ...
    def edits(self, wanted: Sequence[tuple[Draft, DocRef]]) -> Mapping[str, Edit]: ...
    def update(self, edits: Sequence[tuple[Edit, str]]) -> Sequence[Outcome]: ...


@runtime_checkable
class Voids(Protocol):
    """Linked documents voided in place (`void`, `push --update` of a cancelled invoice), of
    the kinds in `voidable` (another kind is refused for that document, nothing sent)."""

    @property
    def voidable(self) -> tuple[DocKind, ...]: ...
    def void(
        self, remote: RemoteInvoice, reason: str, request_id: str
    ) -> RemoteInvoice | Refusal: ...


@runtime_checkable
class AppliesCredit(Protocol):
    """A credit note's credit applied to the invoice it credits, after both exist."""

    def apply_credit(
        self, invoice: RemoteInvoice, credit: RemoteInvoice, amount: Decimal, request_id: str
    ) -> str | Refusal: ...


@runtime_checkable
class FollowsUp(Protocol):
    """After the push: delivery and payment state, send, the documents the target renders
    (`document` may raise `DocumentPending`)."""

    def billing(self, kind: DocKind, remote_ids: Sequence[str]) -> Mapping[str, Billing]: ...
    def send(self, ref: DocRef, to: str | None, request_id: str) -> Billing | Refusal: ...
    @property
    def document_formats(self) -> tuple[str, ...]: ...  # "pdf" at least
    def document(self, ref: DocRef, fmt: str) -> bytes: ...


@runtime_checkable
class ReadsPayments(Protocol):
    """Payment records: what was received for each invoice, and the credits applied."""

    def payments(self, payment_ids: Sequence[str]) -> Mapping[str, Payment]: ...


@runtime_checkable
class Attaches(Protocol):
    """The source's files attached to the documents."""

    def attachment_problem(self, file_name: str, size: int) -> str | None: ...
    def attachments(self, ref: DocRef) -> Sequence[Attachment]: ...
    def attach(self, ref: DocRef, upload: Upload, request_id: str) -> Attachment | Refusal: ...


@runtime_checkable
class Prerequisites(Protocol):
    """The names a batch uses that the target lacks (`prepare` lists them)."""

    def prerequisites(
        self, invoices: Sequence[LocalInvoice], kinds: Sequence[str]
    ) -> list[Prerequisite]: ...
    def find_prerequisite(self, need: Prerequisite) -> str | None: ...


@runtime_checkable
class CreatesPrerequisites(Prerequisites, Protocol):
    """... and creates those it can (`Prerequisite.creatable`)."""

    def create_prerequisite(self, need: Prerequisite, request_id: str) -> str | Refusal: ...


@runtime_checkable
class Copies(Protocol):
    """Two records carrying our marker for one number (`reconcile`), and their removal."""

    def copies(
        self, kind: DocKind, linked: Sequence[RemoteInvoice]
    ) -> Mapping[str, Sequence[CopyRecord]]: ...
    def copy_records(
        self, kind: DocKind, remote_ids: Sequence[str]
    ) -> Mapping[str, CopyRecord]: ...  # read again just before a delete
    def remove_copy(self, remote: RemoteInvoice) -> tuple[bool | None, str]:
        """Delete a copy (its own kind, `remote.ref`) at its version: (True, "") gone, (False,
        why) still there, (None, why) unknown (the delete may have committed unheard and the
        record cannot be read)."""
        ...


# What to do instead, when the target gives no advice of its own (`Facts.instead`).
INSTEAD = {
    "attachments": "leave the files out of the source record, or attach them in {target}",
    "copies": "look for documents carrying the same marker in {target} itself",
    "credit application": "apply the credit to the invoice in {target} itself",
    "edit": "change the document in {target} itself",
    "payments": "see what was paid in {target} itself",
    "PDF": "download the document from {target} itself",
    "prerequisites": "create the names the invoices use in {target} itself",
    "send": "send the document from {target} itself",
    "void": "void the document in {target} itself",
}


def lacks(ledger: Ledger, what: str, number: str | None = None) -> str:
    """The one line a use case says for a capability the target lacks: the target's name,
    what it has not, and what to do instead (`{number}`: the invoice concerned)."""
    advice = ledger.facts.instead.get(what) or INSTEAD.get(what, "do it in {target} itself")
    advice = advice.replace("{target}", ledger.name)
    advice = advice.replace("{number}", number if number else "the invoice's number")
    return f"{ledger.name} has no {what}: {advice}"


def lacking(ledger: Ledger, what: str) -> UsageError:
    """The usage error (exit 2) of a command the configured target cannot do at all, raised
    before anything is read or written: `if not isinstance(ledger, Voids): raise lacking(...)`."""
    return UsageError(lacks(ledger, what))


def requests_of(ledger: Ledger) -> dict[str, int]:
    """The requests the target sent, by method, for a report ({} when it does not count)."""
    return dict(ledger.requests) if isinstance(ledger, CountsRequests) else {}


def batch_size(ledger: Ledger) -> int:
    """How many creates or updates go in one request: 1 for a target without batches."""
    return ledger.batch_size if isinstance(ledger, Throughput) else 1


def follow_ups(ledger: Ledger, what: str) -> FollowsUp:
    """The ledger as `FollowsUp`, or the plain refusal (exit 2) of `what` ("send", "payments",
    "PDF") on a target without follow-ups."""
    if isinstance(ledger, FollowsUp):
        return ledger
    raise lacking(ledger, what)
