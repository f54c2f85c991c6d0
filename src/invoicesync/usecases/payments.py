"""Payments: what QuickBooks says was paid of each linked invoice, to take back to the source.

No request per invoice: the linked invoices are read by `Id IN (…)` (1000 ids per paged query),
and the Payments their `LinkedTxn` name by `Id IN (…)` the same way, so thousands of links cost
a handful of requests (docs/performance.md). What was seen is stored, so `invoices` shows it
offline.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from invoicesync.ledger.base import Billing, Payment
from invoicesync.models import DocRef, Link
from invoicesync.usecases.kinds import KindUnknown, known
from invoicesync.usecases.session import Session


@dataclass(frozen=True)
class PaymentLine:
    id: str
    date: str | None
    amount: Decimal
    method: str | None
    reference: str | None


@dataclass(frozen=True)
class PaidInvoice:
    invoice: str
    qbo_id: str
    doc_number: str | None
    currency: str | None
    total: Decimal | None
    balance: Decimal | None
    amount_paid: Decimal | None
    state: str  # open, partly paid, paid, voided, deleted
    last_payment_date: str | None
    payments: tuple[PaymentLine, ...]
    updated_at: str | None = None  # in QuickBooks


@dataclass
class PaymentsReport:
    realm_id: str
    since: date | None
    invoices: list[PaidInvoice] = field(default_factory=list)
    requests: dict[str, int] = field(default_factory=dict)


def payments(session: Session, since: date | None = None) -> PaymentsReport:
    report = PaymentsReport(session.realm_id, since)
    store = session.existing_store()
    links = store.links(session.realm_id) if store else []
    links = _known(session, links)
    if links:
        billing = _billing(session, links)
        wanted = [pid for b in billing.values() for pid in b.payment_ids]
        paid = session.ledger.payments(wanted) if wanted else {}
        rows = [_row(ln, billing.get(ln.ref), paid) for ln in links]
        report.invoices = [r for r, ln in zip(rows, links, strict=True) if _news(r, ln, since)]
        assert store is not None
        store.record_observations(session.realm_id, [(r.invoice, r.state, r.balance) for r in rows])
    report.requests = dict(session.ledger.requests)
    return report


def _known(session: Session, links: list[Link]) -> list[Link]:
    """The links with their kind known; one whose kind no read can settle is left out here
    (`reconcile` reports it, with what to do)."""
    out = []
    for ln in links:
        with contextlib.suppress(KindUnknown):
            out.append(known(session, ln))
    return out


def _billing(session: Session, links: list[Link]) -> dict[DocRef, Billing]:
    """Each linked document's billing state, read per kind (Ids are numbered per kind)."""
    found: dict[DocRef, Billing] = {}
    for kind in session.ledger.kinds():
        ids = [ln.qbo_id for ln in links if ln.kind is kind]
        if ids:
            found.update((DocRef(kind, k), v) for k, v in session.ledger.billing(kind, ids).items())
    return found


def _row(link: Link, found: Billing | None, paid: Mapping[str, Payment]) -> PaidInvoice:
    if found is None:
        return PaidInvoice(
            link.invoice_number,
            link.qbo_id,
            link.doc_number,
            link.currency,
            link.total,
            None,
            None,
            "deleted",
            None,
            (),
        )
    inv = found.invoice
    lines = sorted(
        (
            PaymentLine(p.id, p.date, p.amount_for(inv.id), p.method, p.reference)
            for p in (paid[i] for i in found.payment_ids if i in paid)
        ),
        key=lambda p: (p.date or "", p.id),
    )
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
    )


def _news(row: PaidInvoice, link: Link, since: date | None) -> bool:
    """With --since: invoices with a payment dated on or after that date, invoices voided since,
    and deletions not reported before."""
    if since is None:
        return True
    if row.state == "deleted":
        return link.last_state != "deleted"
    day = since.isoformat()
    if row.state == "voided":
        return (row.updated_at or "")[:10] >= day
    return any((p.date or "") >= day for p in row.payments)
