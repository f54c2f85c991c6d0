"""What a push reports, per invoice and for the run, and the pieces both halves share."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from invoicesync.errors import EXIT_LOCKED, EXIT_PARTIAL, EXIT_UNEXPECTED, InvoiceSyncError
from invoicesync.ledger.base import RemoteInvoice
from invoicesync.models import DocKind, DocRef, Link, LocalInvoice
from invoicesync.store import now_iso


def request_id(account: str, number: str, generation: int, attempt: int = 0) -> str:
    """Deterministic per (realm, invoice, generation, attempt): a re-run replays, never
    duplicates. `attempt` counts QuickBooks' definitive refusals of this generation: nothing
    was created, so the next try must be a fresh request, never a replay of the refusal."""
    key = f"{account}\x1f{number}\x1f{generation}"
    if attempt:
        key += f"\x1f{attempt}"
    return f"is1-{hashlib.sha256(key.encode()).hexdigest()[:32]}"


@dataclass(frozen=True)
class CreditApplied:
    """A credit note applied to the invoice it credits (a zero-total payment linking both)."""

    invoice: str
    amount: Decimal
    open_credit: Decimal  # what stays on the credit memo as open credit
    payment_id: str | None


# Every status a push, update or void result can have: docs/json.md lists exactly these, and
# tests/test_docs.py holds the two together.
STATUSES = (
    "created",
    "adopted",
    "skipped",
    "changed",
    "updated",
    "voided",
    "failed",
    "planned",
    "not attempted",
    "interrupted",
)


NOT_ATTEMPTED = "the run stopped before it; re-run to continue"


@dataclass
class PushResult:
    invoice: str
    status: str  # one of STATUSES
    remote_id: str | None = None
    doc_number: str | None = None
    total: Decimal | None = None
    currency: str | None = None
    message: str = ""
    exit_code: int = 0
    problems: list[str] = field(default_factory=list)
    payload: dict[str, Any] | None = None
    warnings: list[str] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)  # field by field: an edit, a conflict
    credit: CreditApplied | None = None
    kind: DocKind | None = field(default=None, kw_only=True)  # of the document `remote_id` names

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"{self.invoice}: {self.status!r} is not a push status")
        if self.remote_id is not None and self.kind is None:
            raise TypeError(f"{self.invoice}: a result naming a remote id must carry its kind")

    @property
    def ref(self) -> DocRef | None:
        if self.remote_id is None or self.kind is None:
            return None
        return DocRef(self.kind, self.remote_id)


@dataclass(frozen=True)
class Decided:
    """A result the plan settles without writing anything (skipped, changed, refused, already
    done): frozen, so a plan holding it cannot change after it is built; execution and the dry
    run's view each start from their own `result()`."""

    invoice: str
    status: str
    remote_id: str | None = None
    doc_number: str | None = None
    total: Decimal | None = None
    currency: str | None = None
    message: str = ""
    exit_code: int = 0
    problems: tuple[str, ...] = ()
    payload: Mapping[str, Any] | None = None
    changes: tuple[str, ...] = ()
    kind: DocKind | None = None

    @classmethod
    def of(cls, r: PushResult) -> Decided:
        payload = None if r.payload is None else MappingProxyType(dict(r.payload))
        return cls(
            r.invoice, r.status, r.remote_id, r.doc_number, r.total, r.currency, r.message,
            r.exit_code, tuple(r.problems), payload, tuple(r.changes), r.kind,
        )  # fmt: skip

    def result(self) -> PushResult:
        """A fresh, mutable result for whoever goes on from here."""
        payload = None if self.payload is None else dict(self.payload)
        return PushResult(
            self.invoice, self.status, self.remote_id, self.doc_number, self.total, self.currency,
            self.message, self.exit_code, list(self.problems), payload,
            changes=list(self.changes), kind=self.kind,
        )  # fmt: skip


def failed(inv: LocalInvoice, code: int, message: str, problems: Sequence[str] = ()) -> PushResult:
    return PushResult(
        inv.number,
        "failed",
        total=inv.total,
        currency=inv.currency,
        message=message,
        exit_code=code,
        problems=list(problems),
    )


@dataclass
class PushReport:
    account: str
    dry_run: bool
    results: list[PushResult]
    fatal: InvoiceSyncError | None = None
    requests: dict[str, int] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        return dict(Counter(x.status for x in self.results))

    @property
    def failed(self) -> list[PushResult]:
        return [r for r in self.results if r.status == "failed"]

    @property
    def unsettled(self) -> list[PushResult]:
        """Failed, or done but needing a person (a copy, a copy check that could not run)."""
        return [r for r in self.results if r.status == "failed" or r.exit_code]

    @property
    def exit_code(self) -> int:
        """The run's exit code: the fatal error's, a lone invoice's own, or 3 for a batch;
        9 for a batch whose only failures are invoices another run holds, because what to do
        then is the same for all (wait for it, or `--wait`), and it is not success."""
        if self.fatal is not None:
            return self.fatal.exit_code
        failures = self.unsettled
        if not failures:
            return 0
        if len(self.results) == 1:
            return failures[0].exit_code or EXIT_UNEXPECTED
        if all(f.exit_code == EXIT_LOCKED for f in failures):
            return EXIT_LOCKED
        return EXIT_PARTIAL


def link_from(invoice: LocalInvoice, realm: str, remote: RemoteInvoice, origin: str) -> Link:
    """The link to `remote`, of the kind `remote` is (read from that kind's endpoint), never
    of the kind the source record would suggest."""
    return Link(
        account=realm,
        invoice_number=invoice.number,
        remote_id=remote.id,
        doc_number=remote.doc_number,
        origin=origin,
        linked_at=now_iso(),
        version=remote.version,
        total=remote.total,
        currency=remote.currency,
        marker_written=remote.marker == invoice.number,
        fingerprint=invoice.fingerprint(),
        kind=remote.ref.kind,
    )


def linked_result(link: Link, status: str, message: str) -> PushResult:
    """A result for a linked invoice: the document its link names, with its kind."""
    return PushResult(
        link.invoice_number,
        status,
        link.remote_id,
        link.doc_number,
        link.total,
        link.currency,
        message,
        kind=link.kind,
    )


def source_result(inv: LocalInvoice, link: Link, status: str, message: str) -> PushResult:
    """A result for a source invoice acted on through its link (an edit, a void): the source's
    total beside the document the link names, with its kind."""
    return PushResult(
        inv.number,
        status,
        link.remote_id,
        link.doc_number,
        inv.total,
        inv.currency,
        message,
        kind=link.kind,
    )


def check_total(target: str, inv: LocalInvoice, link: Link, result: PushResult) -> None:
    """Warn when the target's total is not the source's (or, without source tax, below it)."""
    if link.total is not None and inv.tax is not None and link.total != inv.total:
        result.warnings.append(
            f"{target} total {link.total} differs from the source total {inv.total}"
        )
    elif link.total is not None and inv.tax is None and link.total < inv.subtotal:
        result.warnings.append(
            f"{target} total {link.total} is below the source subtotal {inv.subtotal}"
        )
    result.message = "; ".join([m for m in [result.message, *result.warnings] if m])


def made_by(remote: RemoteInvoice, origin: str | None, *, shared: bool, pending: bool) -> str:
    """Whose record this is, from what its marker and our journal prove: our origin and a
    pending intent of ours is an interrupted run here; another origin is another machine (or
    a state this machine lost); no origin proves nothing."""
    here = "a machine sharing this state" if shared else "this machine"
    if origin is not None and remote.origin == origin:
        return f"created by an {'interrupted' if pending else 'earlier'} run of {here}"
    if remote.origin:
        return (
            "carries our marker, created by another machine or by a state since lost "
            f"(origin {remote.origin})"
        )
    return "carries our marker, origin unknown (an older version, `link`, or typed in by hand)"


def copies_note(
    target: str,
    invoice: LocalInvoice,
    copies: Sequence[RemoteInvoice],
    origin: str | None,
    *,
    shared: bool,
    pending: bool,
) -> tuple[str, bool]:
    """Each other live record carrying the number's marker, whose it is and what to do; and
    whether a person must look (exit 3). A copy another machine made is its own to remove:
    that machine's copy check deletes it moments later, or its next run reports it, so here it
    is a warning. A copy of ours (this state's origin: no run of ours is still at work, they
    hold the lock) or of unknown origin is left for nobody else to notice."""
    out = []
    for c in copies:
        who = made_by(c, origin, shared=shared, pending=pending)
        who = who.removeprefix("carries our marker, ")
        what = "credit memo" if invoice.is_credit_note else "invoice"
        out.append(f"{target} {what} {c.id} also carries our marker for {invoice.number} ({who})")
    ours = any(c.origin is None or c.origin == origin for c in copies)
    todo = (
        "a copy or another invoice; `invoicesync reconcile --remove-copies` deletes a proven "
        "copy of this machine's and shows the differences of the rest"
        if ours
        else "another machine's copy, which that machine removes; `invoicesync reconcile` "
        "shows it if it stays"
    )
    return "; ".join(out) + ": " + todo, ours
