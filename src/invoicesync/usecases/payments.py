"""Payments: what the target says was paid of each linked invoice, to take back to the source.

No request per invoice: the linked invoices are read by `Id IN (…)` (1000 ids per paged query),
the linked credit memos the same way, and the Payments both name by `Id IN (…)`, so thousands
of links cost a handful of requests (docs/performance.md). What was seen is stored, so
`invoices` shows it offline.

Only money is a payment. A credit memo applied to an invoice (a zero-total Payment linking
both: how invoicesync applies a credit note, `usecases/credit.py`) is reported as credit on the
invoice and on the credit note, never as a payment: the source already has the credit note,
and an importer that took it as a payment would record money that never arrived.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from invoicesync.ledger.base import Billing, Payment, RemoteInvoice
from invoicesync.ledger.capabilities import ReadsPayments, follow_ups, requests_of
from invoicesync.models import DocKind, Link
from invoicesync.usecases.kinds import KindUnknown, known
from invoicesync.usecases.session import Session

ZERO = Decimal("0.00")
Names = Mapping[tuple[DocKind, str], str]  # (kind, remote id) → source number, for linked records


@dataclass(frozen=True)
class PaymentLine:
    id: str
    date: str | None
    amount: Decimal
    method: str | None
    reference: str | None


@dataclass(frozen=True)
class CreditLine:
    """A credit memo's credit applied to an invoice: not money received."""

    credit_memo_id: str
    credit_number: str | None  # the credit memo's DocNumber
    credit_note: str | None  # its source number, when the credit memo is linked
    payment_id: str  # the (usually zero-total) Payment that applied it
    date: str | None
    amount: Decimal


@dataclass(frozen=True)
class Application:
    """Where a credit note's credit went: an invoice and the amount."""

    invoice_id: str
    invoice: str | None  # its source number, when the invoice is linked
    payment_id: str
    date: str | None
    amount: Decimal


@dataclass(frozen=True)
class PaidInvoice:
    invoice: str
    remote_id: str
    doc_number: str | None
    currency: str | None
    total: Decimal | None
    balance: Decimal | None  # a credit note's: the credit remaining
    amount_paid: Decimal | None  # None for a credit note: it is never paid
    # invoice: open, partly paid, paid, voided, deleted; credit note: open, partly applied,
    # applied, voided, deleted
    state: str
    last_payment_date: str | None
    payments: tuple[PaymentLine, ...]
    updated_at: str | None = None  # at the target
    kind: DocKind = DocKind.INVOICE
    credits: tuple[CreditLine, ...] = ()  # an invoice's credits applied
    applied_to: tuple[Application, ...] = ()  # a credit note's applications
    credit_applied: Decimal | None = None
    credit_remaining: Decimal | None = None  # a credit note's


@dataclass
class PaymentsReport:
    account: str
    since: date | None
    target: str  # the ledger's name, for messages
    invoices: list[PaidInvoice] = field(default_factory=list)
    requests: dict[str, int] = field(default_factory=dict)


def payments(session: Session, since: date | None = None) -> PaymentsReport:
    follow_ups(session.ledger, "payments")  # a target without says so before any read
    report = PaymentsReport(session.account, since, session.ledger.name)
    store = session.existing_store()
    links = _known(session, store.links(session.account)) if store else []
    if links:
        rows = _rows(session, links)
        report.invoices = [r for r, ln in zip(rows, links, strict=True) if _news(r, ln, since)]
        assert store is not None
        store.record_observations(session.account, [(r.invoice, r.state, r.balance) for r in rows])
    report.requests = requests_of(session.ledger)
    return report


def _known(session: Session, links: list[Link]) -> list[Link]:
    """The links with their kind known; one whose kind no read can settle is left out here
    (`reconcile` reports it, with what to do)."""
    out = []
    for ln in links:
        with contextlib.suppress(KindUnknown):
            out.append(known(session, ln))
    return out


def _rows(session: Session, links: list[Link]) -> list[PaidInvoice]:
    """One read per kind: the invoices, the credit memos, the payments both name, and the
    credit memos those payments use that are not linked (applied by hand)."""
    ledger = session.ledger
    invoice_ids = [ln.remote_id for ln in links if ln.kind is DocKind.INVOICE]
    memo_ids = [ln.remote_id for ln in links if ln.kind is DocKind.CREDIT_MEMO]
    billed = follow_ups(ledger, "payments")
    billing = billed.billing(DocKind.INVOICE, invoice_ids) if invoice_ids else {}
    memos: dict[str, RemoteInvoice] = {}
    if memo_ids:
        memos.update(ledger.read_many(DocKind.CREDIT_MEMO, memo_ids))
    wanted = [p for b in billing.values() for p in b.payment_ids]
    wanted += [p for m in memos.values() for p in m.payments]
    records = ledger if isinstance(ledger, ReadsPayments) else None  # else: the paid state only
    paid = records.payments(list(dict.fromkeys(wanted))) if wanted and records else {}
    named = {
        memo_id
        for b in billing.values()
        for p in (paid[i] for i in b.payment_ids if i in paid)
        for memo_id, _ in p.credits_for(b.id)
    }
    if named - memos.keys():
        memos.update(ledger.read_many(DocKind.CREDIT_MEMO, sorted(named - memos.keys())))
    names = {(ln.kind, ln.remote_id): ln.invoice_number for ln in links}
    return [
        _invoice_row(ln, billing.get(ln.remote_id), paid, memos, names)
        if ln.kind is DocKind.INVOICE
        else _credit_row(ln, memos.get(ln.remote_id), paid, names)
        for ln in links
    ]


def _deleted(link: Link) -> PaidInvoice:
    return PaidInvoice(
        link.invoice_number,
        link.remote_id,
        link.doc_number,
        link.currency,
        link.total,
        None,
        None,
        "deleted",
        None,
        (),
        kind=link.kind,
    )


def _invoice_row(
    link: Link,
    found: Billing | None,
    paid: Mapping[str, Payment],
    memos: Mapping[str, RemoteInvoice],
    names: Names,
) -> PaidInvoice:
    if found is None:
        return _deleted(link)
    inv = found.invoice
    lines: list[PaymentLine] = []
    credits: list[CreditLine] = []
    for p in (paid[i] for i in found.payment_ids if i in paid):
        money = p.amount_for(inv.id)
        if money > 0:
            lines.append(PaymentLine(p.id, p.date, money, p.method, p.reference))
        for memo_id, amount in p.credits_for(inv.id):
            memo = memos.get(memo_id)
            number = memo.doc_number if memo is not None else None
            note = names.get((DocKind.CREDIT_MEMO, memo_id))
            credits.append(CreditLine(memo_id, number, note, p.id, p.date, amount))
    lines.sort(key=lambda p: (p.date or "", p.id))
    credits.sort(key=lambda c: (c.date or "", c.payment_id, c.credit_memo_id))
    state = inv.status
    amount_paid = None
    if inv.total is not None and inv.balance is not None and state != "voided":
        amount_paid = inv.total - inv.balance
    return PaidInvoice(
        link.invoice_number,
        inv.id,
        inv.doc_number,
        inv.currency,
        inv.total,
        inv.balance,
        amount_paid,
        state,
        lines[-1].date if lines else None,
        tuple(lines),
        found.updated_at,
        credits=tuple(credits),
        credit_applied=sum((c.amount for c in credits), ZERO),
    )


def _credit_row(
    link: Link, memo: RemoteInvoice | None, paid: Mapping[str, Payment], names: Names
) -> PaidInvoice:
    """A credit note: its credit applied and remaining (a credit memo's `Balance`, as
    `usecases/credit.py` reads it), and where it went; never a payment."""
    if memo is None:
        return _deleted(link)
    total, left = memo.total or ZERO, memo.balance if memo.balance is not None else ZERO
    applied = [
        Application(invoice_id, names.get((DocKind.INVOICE, invoice_id)), p.id, p.date, amount)
        for p in (paid[i] for i in memo.payments if i in paid)
        for invoice_id, amount in p.applied_from(memo.id)
    ]
    applied.sort(key=lambda a: (a.date or "", a.payment_id, a.invoice_id))
    if memo.voided:
        state = "voided"
    elif total > 0 and left <= 0:
        state = "applied"
    elif 0 < left < total:
        state = "partly applied"
    else:
        state = "open"
    return PaidInvoice(
        link.invoice_number,
        memo.id,
        memo.doc_number,
        memo.currency,
        memo.total,
        left,
        None,
        state,
        None,
        (),
        kind=DocKind.CREDIT_MEMO,
        applied_to=tuple(applied),
        credit_applied=total - left,
        credit_remaining=left,
    )


def _news(row: PaidInvoice, link: Link, since: date | None) -> bool:
    """With --since: invoices with a payment or credit dated on or after that date, credit
    notes applied since, invoices voided since, and deletions (and voided credit notes) not
    reported before."""
    if since is None:
        return True
    if row.state == "deleted":
        return link.last_state != "deleted"
    day = since.isoformat()
    if row.state == "voided":
        if row.kind is DocKind.CREDIT_MEMO:  # a credit memo's read view has no change stamp
            return link.last_state != "voided"
        return (row.updated_at or "")[:10] >= day
    dates = [p.date for p in row.payments] + [c.date for c in row.credits]
    dates += [a.date for a in row.applied_to]
    return any((d or "") >= day for d in dates)
