"""Reconcile: what happened to linked invoices in the target, and rebuilding lost links."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from invoicesync.ledger.base import DELIVERY_PROBLEMS, DELIVERY_STATES, RemoteInvoice
from invoicesync.models import CENT, Link, LocalInvoice
from invoicesync.store import LinkExists, StateStore
from invoicesync.usecases.copies import CopyFinding, Judge, find_copies, remove
from invoicesync.usecases.push_report import link_from
from invoicesync.usecases.session import Session

# States that need a person's attention; `paid` and `partly paid` are an invoice's normal life.
DRIFT_STATES = ("changed", "voided", "deleted", "copies")


@dataclass
class Drift:
    invoice: str
    qbo_id: str
    # ok, changed (in QuickBooks), updated (by us), paid, partly paid, voided, voided by us,
    # credit applied, deleted, copies (another record carries our marker: usecases/copies.py)
    state: str
    details: list[str]
    balance: Decimal | None = None


@dataclass
class ReconcileReport:
    realm_id: str
    drifts: list[Drift]
    rebuilt: list[Link] = field(default_factory=list)
    copies: list[CopyFinding] = field(default_factory=list)
    unconfirmed: bool = False  # --remove-copies found proven copies but was not confirmed

    def counts(self) -> dict[str, int]:
        return dict(Counter(x.state for x in self.drifts))

    @property
    def drifted(self) -> list[Drift]:
        """Linked invoices changed, voided, deleted or copied in the target since linked."""
        return [d for d in self.drifts if d.state in DRIFT_STATES]


def drift(link: Link, remote: RemoteInvoice | None, done: frozenset[str] = frozenset()) -> Drift:
    """Compare what we linked (and last wrote: `done` names the lifecycle actions we completed
    on it, `update`, `void`, `apply`, `credited`) with what the target holds now."""
    if remote is None:
        return Drift(
            link.invoice_number, link.qbo_id, "deleted", ["the QuickBooks invoice was deleted"]
        )
    total = remote.total or Decimal(0)
    balance = remote.balance or Decimal(0)
    state, details = "ok", []
    edited = link.sync_token is not None and remote.sync_token != link.sync_token
    if remote.voided and "void" in done:
        state, details = "voided by us", ["voided by invoicesync (cancelled)"]
    elif remote.voided and (link.total or 0) != 0:
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
    elif "update" in done:
        state, details = "updated", ["updated by invoicesync; unchanged in QuickBooks since"]
    if "apply" in done or ("credited" in done and state in {"paid", "partly paid"}):
        state, details = "credit applied", details or [f"{total - balance} of {total} applied"]
    if remote.status in DELIVERY_PROBLEMS and state == "ok":
        state, details = remote.status, [f"delivery {remote.status}: see the invoice in B2BRouter"]
    elif remote.status in DELIVERY_STATES and state == "ok":
        details = [f"delivery {remote.status}"]
    return Drift(link.invoice_number, link.qbo_id, state, details, balance)


Confirm = Callable[[Sequence[CopyFinding]], bool]


def reconcile(
    session: Session,
    *,
    rebuild: bool = False,
    invoices: Sequence[LocalInvoice] = (),
    wait: float | None = None,
    remove_copies: bool = False,
    confirm: Confirm | None = None,
) -> ReconcileReport:
    """Every linked invoice checked against the target (one query per 1,000 links), and the
    copies of them (one query per 1,000 of their customers and dates). With `remove_copies`,
    the proven copies are deleted once `confirm` (shown them) says yes; nothing is deleted
    without it."""
    with session.locked(wait):
        store = session.store
        report = ReconcileReport(session.realm_id, [])
        if rebuild:
            report.rebuilt = _rebuild(session, invoices)
        links = store.links(session.realm_id)
        remote = _read(session, links)
        judges = _judges(session, links)
        for kind in ("invoice", "credit_note"):
            report.copies += _copies(session, links, remote[kind], kind, judges[kind])
        proven = [c for c in report.copies if c.would_remove]
        if remove_copies and proven:
            if confirm is not None and confirm(proven):
                by_number = {ln.invoice_number: ln for ln in links}
                for c in proven:
                    remove(session, by_number[c.invoice], c, judges[c.kind])
            else:
                report.unconfirmed = True
        if any(c.moved for c in report.copies):
            links = store.links(session.realm_id)  # moved to the survivors
            remote = _read(session, links)
        done = _done(store, session.realm_id)
        report.drifts = [
            drift(ln, remote[ln.kind].get(ln.qbo_id), done.get(ln.invoice_number, frozenset()))
            for ln in links
        ]
        _mark_copies(report, session.ledger.name)
        observed = [(d.invoice, d.state, d.balance) for d in report.drifts]
        store.record_observations(session.realm_id, observed)
        return report


def _judges(session: Session, links: Sequence[Link]) -> dict[str, Judge]:
    """Per kind, what decides whether a record may be deleted as a copy: this state's origin,
    whether the link rows are every host's, and which Ids are linked here."""
    origin = session.store.origin()
    shared = session.settings.state_url is not None
    return {
        kind: Judge(
            origin,
            shared,
            {ln.qbo_id: ln.invoice_number for ln in links if ln.kind == kind},
            session.ledger.name,
        )
        for kind in ("invoice", "credit_note")
    }


def _copies(
    session: Session,
    links: Sequence[Link],
    remote: Mapping[str, RemoteInvoice],
    kind: str,
    judge: Judge,
) -> list[CopyFinding]:
    mine = [ln for ln in links if ln.kind == kind and ln.qbo_id in remote]
    if not mine:
        return []
    groups = session.ledger.copies([remote[ln.qbo_id] for ln in mine], kind)
    return find_copies(mine, groups, kind, judge)


def _read(session: Session, links: Sequence[Link]) -> dict[str, Mapping[str, RemoteInvoice]]:
    """The linked records by kind, then Id (invoices and credit memos have their own Ids)."""
    invoices = [ln.qbo_id for ln in links if ln.kind == "invoice"]
    credits = [ln.qbo_id for ln in links if ln.kind == "credit_note"]
    return {
        "invoice": session.ledger.read_many(invoices),
        "credit_note": session.ledger.read_many(credits, "credit_note") if credits else {},
    }


def _mark_copies(report: ReconcileReport, target: str) -> None:
    by_number = {d.invoice: d for d in report.drifts}
    for finding in report.copies:
        d = by_number.get(finding.invoice)
        if d is None:
            continue
        if not finding.settled:
            d.state = "copies"
        d.details = finding.details(target) + d.details


def _done(store: StateStore, realm: str) -> dict[str, frozenset[str]]:
    """Per invoice number, the lifecycle actions completed on it (`credited`: a credit note was
    applied to it)."""
    out: dict[str, set[str]] = {}
    for e in store.lifecycle(realm):
        if e.state == "done":
            out.setdefault(e.invoice_number, set()).add(e.action)
            if e.action == "apply":
                out.setdefault(str(e.detail.get("invoice")), set()).add("credited")
    return {k: frozenset(v) for k, v in out.items()}


def _rebuild(session: Session, invoices: Sequence[LocalInvoice]) -> list[Link]:
    """Recreate missing links from the target: our marker first, then DocNumber + customer +
    total."""
    store, realm = session.store, session.realm_id
    existing = store.links(realm)
    linked = {ln.invoice_number for ln in existing}
    owned = {ln.qbo_id for ln in existing if ln.kind == "invoice"}  # credit memos: own Ids
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
