"""Reconcile: what happened to linked invoices in the target, and rebuilding lost links."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from invoicesync.ledger.base import RemoteInvoice
from invoicesync.models import CENT, Link, LocalInvoice
from invoicesync.store import LinkExists
from invoicesync.usecases.push_report import link_from
from invoicesync.usecases.session import Session

# States that need a person's attention; `paid` and `partly paid` are an invoice's normal life.
DRIFT_STATES = ("changed", "voided", "deleted")


@dataclass
class Drift:
    invoice: str
    qbo_id: str
    state: str  # ok, changed, paid, partly paid, voided, deleted
    details: list[str]
    balance: Decimal | None = None


@dataclass
class ReconcileReport:
    realm_id: str
    drifts: list[Drift]
    rebuilt: list[Link] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for d in self.drifts:
            out[d.state] = out.get(d.state, 0) + 1
        return out

    @property
    def drifted(self) -> list[Drift]:
        """Linked invoices changed, voided or deleted in the target since they were linked."""
        return [d for d in self.drifts if d.state in DRIFT_STATES]


def drift(link: Link, remote: RemoteInvoice | None) -> Drift:
    """Compare what we linked with what the target holds now."""
    if remote is None:
        return Drift(
            link.invoice_number, link.qbo_id, "deleted", ["the QuickBooks invoice was deleted"]
        )
    total = remote.total or Decimal(0)
    balance = remote.balance or Decimal(0)
    state, details = "ok", []
    edited = link.sync_token is not None and remote.sync_token != link.sync_token
    if remote.voided and (link.total or 0) != 0:
        state, details = "voided", ["the QuickBooks invoice was voided"]
    elif link.total is not None and total != link.total:
        state, details = "changed", [f"total {link.total} → {total}"]
    elif remote.status == "paid":
        state, details = "paid", ["paid in full"]
    elif remote.status == "partly paid":
        state, details = "partly paid", [f"{total - balance} of {total} paid"]
    elif edited:
        state = "changed"
        details = [
            f"edited in QuickBooks since linked (SyncToken {link.sync_token} → {remote.sync_token})"
        ]
    return Drift(link.invoice_number, link.qbo_id, state, details, balance)


def reconcile(
    session: Session,
    *,
    rebuild: bool = False,
    invoices: Sequence[LocalInvoice] = (),
    wait: float | None = None,
) -> ReconcileReport:
    """Every linked invoice checked against the target (one query per 1,000 links)."""
    with session.locked(wait):
        store = session.store
        report = ReconcileReport(session.realm_id, [])
        if rebuild:
            report.rebuilt = _rebuild(session, invoices)
        links = store.links(session.realm_id)
        remote = session.ledger.read_many([ln.qbo_id for ln in links])
        report.drifts = [drift(ln, remote.get(ln.qbo_id)) for ln in links]
        observed = [(d.invoice, d.state, d.balance) for d in report.drifts]
        store.record_observations(session.realm_id, observed)
        return report


def _rebuild(session: Session, invoices: Sequence[LocalInvoice]) -> list[Link]:
    """Recreate missing links from the target: our marker first, then DocNumber + customer +
    total."""
    store, realm = session.store, session.realm_id
    existing = store.links(realm)
    linked = {ln.invoice_number for ln in existing}
    owned = {ln.qbo_id for ln in existing}
    todo = [i for i in invoices if i.number not in linked]
    if not todo:
        return []
    lo = min(i.issue_date for i in todo).isoformat()
    hi = max(i.issue_date for i in todo).isoformat()
    by_marker: dict[str, RemoteInvoice] = {}
    by_doc: dict[str, list[RemoteInvoice]] = {}
    for row in session.ledger.between(lo, hi):
        if row.id in owned:
            continue
        if row.marker:
            by_marker.setdefault(row.marker, row)
        if row.doc_number:
            by_doc.setdefault(row.doc_number, []).append(row)
    customers = session.ledger.customer_ids()
    rebuilt = []
    for inv in todo:
        hit = by_marker.get(inv.number)
        how = "marker"
        if hit is None:
            cid = customers.get(inv.customer.name)
            matches = [
                r
                for r in by_doc.get(inv.number, [])
                if r.customer_id == cid and abs((r.total or Decimal(0)) - inv.total) <= CENT
            ]
            hit = matches[0] if len(matches) == 1 else None
            how = "docnumber"
        if hit is None or hit.id in owned:
            continue
        record = link_from(inv, realm, hit, "rebuilt")
        try:
            store.add_link(record, event={"qbo_id": record.qbo_id, "by": how})
        except LinkExists:
            continue
        owned.add(record.qbo_id)
        rebuilt.append(record)
    return rebuilt
