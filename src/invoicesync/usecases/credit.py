"""Applying credit notes to the invoices they credit, exactly once.

A credit note is created like an invoice (as a credit memo, by the same plan and journal).
When its `credit_for` names a linked invoice with an open balance, the credit is applied the
way QuickBooks does it: a payment of total 0 linking both, for the smaller of the invoice's
open balance and the credit memo's remaining credit; the rest stays open credit.

The application is journaled before it is sent. The credit memo itself is the guard: once a
payment uses it, QuickBooks lists that payment on it, so a re-run after a crash or a dropped
connection reads the credit memo and records the payment it finds instead of sending another.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Union

from invoicesync.errors import EXIT_UNAVAILABLE, InvoiceSyncError
from invoicesync.ledger.base import Gone, RemoteInvoice
from invoicesync.ledger.capabilities import AppliesCredit, lacks
from invoicesync.models import DocKind, Link, LocalInvoice
from invoicesync.store import LifecycleEntry, StateStore
from invoicesync.store.lifecycle import Closing
from invoicesync.usecases.journaled import Landed, Refused, Unknown, Write
from invoicesync.usecases.kinds import KindUnknown, known, prove
from invoicesync.usecases.push_report import CreditApplied, PushResult
from invoicesync.usecases.session import Session
from invoicesync.usecases.update import lifecycle_id

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class PlannedCredit:
    """A credit note the run applies to the invoice it credits. What the plan `says` is what
    it read now (nothing for a note this run creates first); the amount is settled when it is
    applied, from the credit memo and invoice read just before: the credit memo's payments are
    the guard that keeps it once (see the module's docstring)."""

    note: LocalInvoice
    credits: str  # the invoice it credits
    says: str = ""


def plan(session: Session, chosen: Sequence[LocalInvoice]) -> tuple[PlannedCredit, ...]:
    """The credit notes among `chosen` that credit an invoice, and what applying each would
    do as the target stands (reads only)."""
    notes = [i for i in chosen if i.is_credit_note and i.credit_for]
    store = session.existing_store()
    if not notes or store is None or session.ledger.facts.credits_by_reference:
        return tuple(PlannedCredit(n, str(n.credit_for)) for n in notes)
    links, done = _linked_and_applied(store, session.account)
    out = []
    for note in notes:
        step = _links(session, note, links, done, prove)
        says = step if isinstance(step, str) else _preview(session, note, *step)
        out.append(PlannedCredit(note, str(note.credit_for), says))
    return tuple(out)


def apply_all(
    session: Session, credits: Sequence[PlannedCredit], results: dict[str, PushResult]
) -> None:
    """Apply every planned credit whose note is linked now and was not applied yet."""
    notes = [c.note for c in credits]
    store = session.existing_store()
    if not notes or store is None:
        return
    if session.ledger.facts.credits_by_reference:
        _referenced(notes, results)
        return
    links, done = _linked_and_applied(store, session.account)
    for note in notes:
        result = results.get(note.number)
        if result is None:
            continue
        step = _links(session, note, links, done, known)
        if isinstance(step, str):
            if step:
                _say(result, step)
            continue
        _apply(session, note, *step, result)


Settle = Callable[[Session, Link], Link]


def _links(
    session: Session, note: LocalInvoice, links: Mapping[str, Link], done: set[str], settle: Settle
) -> tuple[Link, Link] | str:
    """The note's link and the credited invoice's, their kinds settled; or what to say
    instead ("" when there is nothing to do: not linked yet, or applied already)."""
    credit_link = links.get(note.number)
    if credit_link is None or note.number in done:
        return ""
    target = links.get(str(note.credit_for))
    try:
        credit_link = settle(session, credit_link)
        target = None if target is None else settle(session, target)
    except KindUnknown as exc:
        return f"credit not applied: {exc.message}"
    if credit_link.kind is not DocKind.CREDIT_MEMO:
        return f"credit not applied: {note.number} is linked to {credit_link.ref}"
    if target is None or target.kind is not DocKind.INVOICE:
        return f"{note.credit_for} is not linked yet: the credit stays open until it is"
    return credit_link, target


def _preview(session: Session, note: LocalInvoice, credit_link: Link, target: Link) -> str:
    """What applying this credit would do now, read from the target."""
    ledger = session.ledger
    if not isinstance(ledger, AppliesCredit):
        return f"credit not applied: {lacks(ledger, 'credit application', note.number)}"
    try:
        credit = ledger.read(credit_link.ref)
        invoice = ledger.read(target.ref)
    except Gone as exc:
        return f"credit not applied: {ledger.name} {exc} was deleted"
    if credit.payments:  # applied already: the run only records it
        return ""
    amount = min(invoice.balance or ZERO, credit.balance or ZERO)
    if invoice.voided or amount <= 0:
        return f"{note.credit_for} has no open balance: the credit stays open"
    return f"would apply {amount} to {note.credit_for}"


def _referenced(notes: Sequence[LocalInvoice], results: dict[str, PushResult]) -> None:
    """A target whose credit note references the invoice it credits (B2BRouter): the created
    document is the whole correction; say so once, when it is created."""
    for note in notes:
        result = results.get(note.number)
        if result is not None and result.status == "created":
            _say(result, f"credits {note.credit_for} by its invoice reference")


def _say(result: PushResult, text: str) -> None:
    result.message = "; ".join(m for m in [result.message, text] if m)


def _apply(
    session: Session,
    note: LocalInvoice,
    credit_link: Link,
    target: Link,
    result: PushResult,
) -> None:
    ledger, realm = session.ledger, session.account
    if not isinstance(ledger, AppliesCredit):
        _say(result, f"credit not applied: {lacks(ledger, 'credit application', note.number)}")
        return
    try:
        credit = ledger.read(credit_link.ref)
        invoice = ledger.read(target.ref)
    except Gone as exc:
        _say(result, f"credit not applied: {ledger.name} {exc} was deleted")
        return
    rid = lifecycle_id(realm, note.number, credit.id, invoice.id, "apply")
    entry = LifecycleEntry(
        realm, note.number, "apply", rid, credit.id, credit.version, None,
        detail={"invoice": target.invoice_number, "invoice_id": invoice.id},
        doc_kind=credit.ref.kind,
    )  # fmt: skip
    write = _write(session, credit)
    if credit.payments:  # used already: by an earlier run of ours, or by hand in QuickBooks
        _record(entry, write.recorded(entry, credit).record, result)
        return
    amount = min(invoice.balance or ZERO, credit.balance or ZERO)
    if invoice.voided or amount <= 0:
        _say(result, f"{note.credit_for} has no open balance: the credit stays open")
        return
    verdict = write.once(entry, lambda: ledger.apply_credit(invoice, credit, amount, rid))
    if isinstance(verdict, Refused):
        outcome = verdict.refusal
        _say(result, f"{ledger.name} refused to apply the credit: {outcome.message}")
        result.exit_code = result.exit_code or outcome.exit_code
        result.status = "failed"
    elif isinstance(verdict, Landed):
        _record(entry, verdict.record, result)
    else:
        cause = verdict.cause if isinstance(verdict, Unknown) else str(verdict.clash)
        _say(result, f"credit application outcome unknown ({cause}); re-run push to finish it")
        result.status = "failed"
        result.exit_code = EXIT_UNAVAILABLE


Applied = Union[str, RemoteInvoice]  # noqa: UP007 (the payment's id, or the credit memo read)


def _write(session: Session, credit: RemoteInvoice) -> Write[LifecycleEntry, Applied, Closing]:
    """A credit application: recorded with what the credit memo shows applied (read again
    after our payment); looked up by reading the credit memo (a payment uses it: it landed)."""

    def record(_: LifecycleEntry, applied: Applied) -> Closing:
        payment_id = applied if isinstance(applied, str) else None
        memo = session.ledger.read(credit.ref) if isinstance(applied, str) else applied
        total, left = memo.total or ZERO, memo.balance or ZERO
        payment = payment_id or (memo.payments[0] if memo.payments else None)
        return Closing(
            {"amount": str(total - left), "open_credit": str(left), "payment_id": payment}
        )

    def lookup(entries: Sequence[LifecycleEntry]) -> list[Applied | None]:
        try:
            again: RemoteInvoice | None = session.ledger.read(credit.ref)
        except (Gone, InvoiceSyncError):
            again = None
        return [again if again is not None and again.payments else None for _ in entries]

    return Write(session.store.journals.lifecycle, record, lookup)


def _record(entry: LifecycleEntry, closing: Closing, result: PushResult) -> None:
    """Say what the journal recorded: the credit applied, and what stays open."""
    applied, left = Decimal(closing.detail["amount"]), Decimal(closing.detail["open_credit"])
    number = str(entry.detail["invoice"])
    result.credit = CreditApplied(number, applied, left, closing.detail["payment_id"])
    text = f"credit {applied} applied to {number}"
    if left > 0:
        text += f"; {left} stays open credit"
    _say(result, text)


def _linked_and_applied(store: StateStore, account: str) -> tuple[dict[str, Link], set[str]]:
    """The company's links by number, and the credit notes whose credit is applied already."""
    links = {ln.invoice_number: ln for ln in store.links(account)}
    journal = store.journals.lifecycle.entries(account, "apply")
    return links, {e.invoice_number for e in journal if e.state == "done"}
