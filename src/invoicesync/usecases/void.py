"""Voiding cancelled invoices: `push --update` for source status `cancelled`, and `void INV…`.

A linked invoice is voided, never deleted: its row stays in QuickBooks with zero amounts and
the reason in its memo. A paid or partly paid invoice is not voided (QuickBooks would have to
unapply the payments first). The void is journaled before it is sent and guarded by the
SyncToken it read, and a re-run reads the record first: a voided one is only recorded, so a
crash or a dropped connection never voids twice and never loses the void.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from invoicesync.errors import (
    EXIT_CONFLICT,
    EXIT_PARTIAL,
    EXIT_UNAVAILABLE,
    Interrupted,
    InvoiceSyncError,
)
from invoicesync.ledger.base import Gone, RemoteInvoice
from invoicesync.ledger.capabilities import Voids, lacking, lacks, requests_of
from invoicesync.models import Link, LocalInvoice
from invoicesync.store import LifecycleEntry
from invoicesync.store.lifecycle import Closing
from invoicesync.usecases.journaled import Landed, Refused, Unknown, Write
from invoicesync.usecases.kinds import KindUnknown, prove, remember
from invoicesync.usecases.push_report import (
    Decided,
    PushReport,
    PushResult,
    failed,
    source_result,
)
from invoicesync.usecases.session import Session
from invoicesync.usecases.update import lifecycle_id, paid_of

SOURCE_REASON = "cancelled in the source"


def memo(reason: str) -> str:
    """What goes into the memo: recognisable, so a re-run finds it already written."""
    return f"[cancelled: {reason}]"


@dataclass(frozen=True)
class PlannedVoid:
    """A void the plan decided on, against the record as read then (its SyncToken guards the
    write), or one the target shows done already (only recorded)."""

    invoice: LocalInvoice
    link: Link
    remote: RemoteInvoice
    reason: str
    proved: bool = False  # the link's kind was proved by reading (recorded when acted on)

    @property
    def already(self) -> bool:
        return self.remote.voided


def targets(
    invoices: Sequence[LocalInvoice], links: Mapping[str, Link], session: Session
) -> list[tuple[LocalInvoice, Link]]:
    """Cancelled source invoices that are linked and not voided by us yet."""
    store = session.existing_store()
    entries = store.journals.lifecycle.entries(session.account, "void") if store else []
    done = {e.invoice_number for e in entries if e.state == "done"}
    return [
        (inv, links[inv.number])
        for inv in invoices
        if inv.status == "cancelled" and inv.number in links and inv.number not in done
    ]


def plan_void(
    session: Session, inv: LocalInvoice, link: Link, *, reason: str
) -> PlannedVoid | Decided:
    """Read the record and decide (reads only): void it, record it as voided already, or
    refuse (a credit memo, a deleted or paid record)."""
    try:
        proved = prove(session, link)
    except KindUnknown as exc:
        return Decided.of(failed(inv, exc.exit_code, exc.message))
    ledger, target = session.ledger, session.ledger.name
    if not isinstance(ledger, Voids):
        return Decided.of(failed(inv, EXIT_PARTIAL, lacks(ledger, "void", inv.number)))
    if proved.kind not in ledger.voidable:
        # Refused for this document, with the reason, as a refusal by the target is (exit 3
        # alone, docs/exit-codes.md), nothing sent.
        message = (
            f"not voided: {target} has no void for a {proved.kind.label} ({proved.ref}); delete "
            f"it in {target}, or issue an invoice that reverses it"
        )
        return Decided.of(failed(inv, EXIT_PARTIAL, message))
    try:
        remote = session.ledger.read(proved.ref)
    except Gone:
        return Decided.of(failed(inv, EXIT_CONFLICT, f"{target} {proved.ref} was deleted"))
    paid = paid_of(remote)
    if not remote.voided and (paid > 0 or remote.payments):
        message = (
            f"not voided: {paid} of {remote.total} is paid or credited in {target}; a paid "
            f"invoice is not voided (remove the payment in {target}, or issue a credit note)"
        )
        return Decided.of(failed(inv, EXIT_CONFLICT, message))
    return PlannedVoid(inv, proved, remote, reason, proved is not link)


def execute_void(session: Session, planned: PlannedVoid) -> PushResult:
    """Carry out one planned void: journaled, then sent at the SyncToken the plan read."""
    inv, link, remote, reason = planned.invoice, planned.link, planned.remote, planned.reason
    ledger, target = session.ledger, session.ledger.name
    if not isinstance(ledger, Voids):  # `plan_void` refused it already
        raise lacking(ledger, "void")
    if planned.proved:
        remember(session, link)
    rid = lifecycle_id(session.account, inv.number, link.remote_id, "void")
    entry = LifecycleEntry(
        session.account, inv.number, "void", rid, link.remote_id, remote.version, None,
        detail={"reason": reason}, doc_kind=link.kind,
    )  # fmt: skip
    write = _write(session, link)
    if remote.voided:
        write.recorded(entry, remote)
        return source_result(inv, link, "voided", f"already voided in {target}")
    verdict = write.once(entry, lambda: ledger.void(remote, memo(reason), rid))
    if isinstance(verdict, Refused):
        why = verdict.refusal.message
        return failed(inv, verdict.refusal.exit_code, f"{target} refused the void: {why}")
    if isinstance(verdict, Landed):
        said = f"voided in {target}" if verdict.found else f"voided in {target} ({reason})"
        return source_result(inv, link, "voided", said)
    cause = verdict.cause if isinstance(verdict, Unknown) else str(verdict.clash)
    message = f"outcome unknown ({cause}); re-run: it voids the invoice only if it is not voided"
    return failed(inv, EXIT_UNAVAILABLE, message)


def void_all(
    session: Session, planned: Sequence[PlannedVoid], results: dict[str, PushResult]
) -> None:
    for step in planned:
        results[step.invoice.number] = execute_void(session, step)


def _write(session: Session, link: Link) -> Write[LifecycleEntry, RemoteInvoice, Closing]:
    """A void: recorded with the record's new SyncToken and zero total; looked up by reading
    the record back (voided: it landed)."""

    def record(_: LifecycleEntry, remote: RemoteInvoice) -> Closing:
        written = (remote.version, remote.total or Decimal("0.00"), link.fingerprint)
        return Closing({"remote_id": remote.id}, written)

    def lookup(entries: Sequence[LifecycleEntry]) -> list[RemoteInvoice | None]:
        try:
            remote: RemoteInvoice | None = session.ledger.read(link.ref)
        except (Gone, InvoiceSyncError):
            remote = None
        return [remote if remote is not None and remote.voided else None for _ in entries]

    return Write(session.store.journals.lifecycle, record, lookup)


def void(
    session: Session,
    invoices: Sequence[LocalInvoice],
    numbers: Sequence[str],
    *,
    reason: str | None,
    wait: float | None = None,
) -> PushReport:
    """`invoicesync void INV…`: void linked invoices explicitly, whatever their source status."""
    from invoicesync.errors import UsageError
    from invoicesync.usecases.invoices import find_invoice

    chosen = [find_invoice(invoices, n) for n in dict.fromkeys(numbers)]
    report = PushReport(session.account, False, [])
    store = session.existing_store()
    links = {ln.invoice_number: ln for ln in store.links(session.account)} if store else {}
    unlinked = [inv.number for inv in chosen if inv.number not in links]
    if unlinked:
        raise UsageError(
            f"not linked to {session.ledger.name}: {', '.join(unlinked)}; nothing to void"
        )
    results: dict[str, PushResult] = {}
    text = reason or (SOURCE_REASON if all(i.status == "cancelled" for i in chosen) else "voided")
    try:
        with session.locked(wait):
            for inv in chosen:
                step = plan_void(session, inv, links[inv.number], reason=text)
                done = step.result() if isinstance(step, Decided) else execute_void(session, step)
                results[inv.number] = done
    except InvoiceSyncError as exc:
        report.fatal = exc
    except KeyboardInterrupt:
        report.fatal = Interrupted("interrupted; state is consistent, re-run to continue")
    report.results = [results[i.number] for i in chosen if i.number in results]
    report.requests = requests_of(session.ledger)
    return report
