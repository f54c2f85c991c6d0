"""Reconcile: what happened to linked invoices in the target, and rebuilding lost links."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from invoicesync.ledger.base import DELIVERY_PROBLEMS, DELIVERY_STATES, RemoteInvoice
from invoicesync.ledger.capabilities import Copies, lacking
from invoicesync.ledger.tracking import (
    REGISTRATION_PROBLEMS,
    Registration,
    Tracked,
    TracksRegistrations,
)
from invoicesync.models import CENT, Delivery, DocKind, Link, LocalInvoice
from invoicesync.store import LinkExists, StateStore
from invoicesync.usecases.copies import CopyFinding, Judge, find_copies, remove
from invoicesync.usecases.kinds import KindUnknown, known, owner, owners
from invoicesync.usecases.push_report import link_from
from invoicesync.usecases.session import Session

# States that need a person's attention; `paid` and `partly paid` are an invoice's normal life.
# On an e-invoicing network, a failed or refused delivery and a registration the tax authority
# refused need one too (`reconcile --exit-code` counts them: exit 10).
DRIFT_STATES = (
    "changed",
    "voided",
    "deleted",
    "copies",
    "unknown kind",
    "error",
    "refused",
    "registration error",
)


@dataclass
class Drift:
    invoice: str
    remote_id: str
    # ok, changed (at the target), updated (by us), paid, partly paid, voided, voided by us,
    # credit applied, deleted, copies (another record carries our marker: usecases/copies.py),
    # unknown kind (a link stored without its kind that no read could settle: usecases/kinds.py)
    state: str
    details: list[str]
    balance: Decimal | None = None
    kind: DocKind = DocKind.UNKNOWN  # of the document `remote_id` names
    delivery: str | None = None  # an e-invoicing network's delivery state, and why
    delivery_reason: str | None = None
    registrations: tuple[Registration, ...] = ()  # VeriFactu/TicketBAI, where reported


@dataclass
class ReconcileReport:
    account: str
    drifts: list[Drift]
    target: str  # the ledger's name, for messages
    rebuilt: list[Link] = field(default_factory=list)
    copies: list[CopyFinding] = field(default_factory=list)
    unconfirmed: bool = False  # --remove-copies found proven copies but was not confirmed

    def counts(self) -> dict[str, int]:
        return dict(Counter(x.state for x in self.drifts))

    @property
    def drifted(self) -> list[Drift]:
        """Linked invoices changed, voided, deleted or copied in the target since linked."""
        return [d for d in self.drifts if d.state in DRIFT_STATES]


def drift(
    target: str, link: Link, remote: RemoteInvoice | None, done: frozenset[str] = frozenset()
) -> Drift:
    """Compare what we linked (and last wrote: `done` names the lifecycle actions we completed
    on it, `update`, `void`, `apply`, `credited`) with what the target holds now."""
    what = link.kind.label
    if remote is None:
        gone = [f"the {target} {what} was deleted"]
        return Drift(link.invoice_number, link.remote_id, "deleted", gone, kind=link.kind)
    total = remote.total or Decimal(0)
    balance = remote.balance or Decimal(0)
    state, details = "ok", []
    edited = link.version is not None and remote.version != link.version
    if remote.voided and "void" in done:
        state, details = "voided by us", ["voided by invoicesync (cancelled)"]
    elif remote.voided and (link.total or 0) != 0:
        state, details = "voided", [f"the {target} {what} was voided"]
    elif link.total is not None and total != link.total:
        state, details = "changed", [f"total {link.total} → {total}"]
    elif remote.status == "paid":
        state, details = "paid", ["paid in full"]
    elif remote.status == "partly paid":
        state, details = "partly paid", [f"{total - balance} of {total} paid"]
    elif edited:
        state = "changed"
        details = [f"edited in {target} since linked (SyncToken {link.version} → {remote.version})"]
    elif "update" in done:
        state, details = "updated", [f"updated by invoicesync; unchanged in {target} since"]
    used = state in {"paid", "partly paid"}
    if link.kind is DocKind.CREDIT_MEMO and used:  # a credit memo is applied, not paid
        state, details = "credit applied", [f"{total - balance} of {total} applied"]
    elif "apply" in done or ("credited" in done and used):
        state, details = "credit applied", details or [f"{total - balance} of {total} applied"]
    result = Drift(link.invoice_number, link.remote_id, state, details, balance, link.kind)
    if isinstance(remote, Tracked):
        return _delivered(result, remote.status, remote, target)
    return result


def _delivered(d: Drift, status: str, remote: Tracked, target: str) -> Drift:
    """An e-invoice's delivery state with the network's reason, and its registrations; a
    failed delivery or a refused registration becomes the state when nothing else is."""
    reason = remote.delivery_reason
    d.delivery, d.delivery_reason = status, reason
    d.registrations = remote.registrations
    said = f"delivery {status}: {reason}" if reason else f"delivery {status}"
    if status in DELIVERY_PROBLEMS and d.state == "ok":
        d.state = status
        d.details = [said if reason else f"{said}: see the invoice in {target}"]
    elif status in DELIVERY_STATES and d.state == "ok":
        d.details = [said]
    for reg in remote.registrations:
        d.details.append(f"{reg.kind} {reg.state}" + (f": {reg.reason}" if reg.reason else ""))
        if reg.state in REGISTRATION_PROBLEMS and d.state in {"ok", "paid"}:
            d.state = "registration error"
    return d


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
    if remove_copies and not isinstance(session.ledger, Copies):
        raise lacking(session.ledger, "copies")
    with session.locked(wait):
        store = session.store
        report = ReconcileReport(session.account, [], session.ledger.name)
        if rebuild:
            report.rebuilt = _rebuild(session, invoices)
        links, unsettled = _known(session, store.links(session.account))
        remote = _read(session, links)
        judges = _judges(session, links)
        for kind, found in remote.items():
            report.copies += _copies(session, links, found, kind, judges[kind])
        proven = [c for c in report.copies if c.would_remove]
        if remove_copies and proven:
            if confirm is not None and confirm(proven):
                by_number = {ln.invoice_number: ln for ln in links}
                for c in proven:
                    remove(session, by_number[c.invoice], c, judges[c.kind])
            else:
                report.unconfirmed = True
        if any(c.moved for c in report.copies):
            links, unsettled = _known(session, store.links(session.account))  # moved
            remote = _read(session, links)
        done = _done(store, session.account)
        report.drifts = [
            drift(
                session.ledger.name,
                ln,
                remote.get(ln.kind, {}).get(ln.remote_id),
                done.get(ln.invoice_number, frozenset()),
            )
            for ln in links
        ] + unsettled
        report.drifts.sort(key=lambda d: d.invoice)
        _mark_copies(report, session.ledger.name)
        observed = [(d.invoice, d.state, d.balance) for d in report.drifts]
        store.record_observations(session.account, observed, _deliveries(report.drifts))
        return report


def _deliveries(drifts: Sequence[Drift]) -> dict[str, Delivery | None]:
    """What the network said of each document, for `invoices`/`status` to show offline."""
    return {
        d.invoice: None
        if d.delivery is None
        else Delivery(d.delivery, d.delivery_reason, d.registrations)
        for d in drifts
    }


def _judges(session: Session, links: Sequence[Link]) -> dict[DocKind, Judge]:
    """Per kind, what decides whether a record may be deleted as a copy: this state's origin,
    whether the link rows are every host's, and which Ids are linked here."""
    origin = session.store.origin()
    shared = session.settings.state_url is not None
    return {
        kind: Judge(
            origin,
            shared,
            {ln.remote_id: ln.invoice_number for ln in links if ln.kind is kind},
            session.ledger.name,
        )
        for kind in session.ledger.facts.kinds
    }


def _copies(
    session: Session,
    links: Sequence[Link],
    remote: Mapping[str, RemoteInvoice],
    kind: DocKind,
    judge: Judge,
) -> list[CopyFinding]:
    mine = [ln for ln in links if ln.kind is kind and ln.remote_id in remote]
    ledger = session.ledger
    if not mine or not isinstance(ledger, Copies):  # a target without copies holds none
        return []
    groups = ledger.copies(kind, [remote[ln.remote_id] for ln in mine])
    return find_copies(mine, groups, kind, judge)


def _known(session: Session, links: Sequence[Link]) -> tuple[list[Link], list[Drift]]:
    """The links with their kind known (settled by a read where the store had none), and a
    drift for each that could not be settled: those are not read or compared."""
    out, unsettled = [], []
    for ln in links:
        try:
            out.append(known(session, ln))
        except KindUnknown as exc:
            state = Drift(ln.invoice_number, ln.remote_id, "unknown kind", [exc.message])
            unsettled.append(state)
    return out, unsettled


def _read(session: Session, links: Sequence[Link]) -> dict[DocKind, Mapping[str, RemoteInvoice]]:
    """The linked records by kind, then Id (invoices and credit memos have their own Ids)."""
    found = {
        kind: session.ledger.read_many(kind, [ln.remote_id for ln in links if ln.kind == kind])
        for kind in session.ledger.facts.kinds
    }
    ledger = session.ledger
    if isinstance(ledger, TracksRegistrations):  # VeriFactu/TicketBAI, one read per report
        known = {ln.remote_id: ln.last_delivery.registrations for ln in links if ln.last_delivery}
        found = {kind: ledger.with_registrations(rows, known) for kind, rows in found.items()}
    return found


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
    for e in store.journals.lifecycle.entries(realm):
        if e.state == "done":
            out.setdefault(e.invoice_number, set()).add(e.action)
            if e.action == "apply":
                out.setdefault(str(e.detail.get("invoice")), set()).add("credited")
    return {k: frozenset(v) for k, v in out.items()}


def _rebuild(session: Session, invoices: Sequence[LocalInvoice]) -> list[Link]:
    """Recreate missing links from the target: our marker first, then DocNumber + customer +
    total; each source record among the documents of the kind it becomes (a credit note among
    credit memos)."""
    store, realm = session.store, session.account
    existing = store.links(realm)
    linked = {ln.invoice_number for ln in existing}
    owned = owners(existing)
    todo = [i for i in invoices if i.number not in linked]
    rebuilt: list[Link] = []
    customers: Mapping[str, str] | None = None
    for kind in session.ledger.facts.kinds:
        mine = [i for i in todo if DocKind.of(i) is kind]
        if not mine:
            continue
        lo = min(i.issue_date for i in mine).isoformat()
        hi = max(i.issue_date for i in mine).isoformat()
        rows = [r for r in session.ledger.search(kind, lo=lo, hi=hi) if owner(owned, r.ref) is None]
        if customers is None:
            customers = session.ledger.customers()
        for inv, hit, how in _matches(mine, rows, customers):
            if owner(owned, hit.ref) is not None:
                continue
            record = link_from(inv, realm, hit, "rebuilt")
            try:
                store.add_link(record, event={"remote_id": record.remote_id, "by": how})
            except LinkExists:
                continue
            owned[record.ref] = inv.number
            rebuilt.append(record)
    return rebuilt


def _matches(
    todo: Sequence[LocalInvoice], rows: Sequence[RemoteInvoice], customers: Mapping[str, str]
) -> Iterator[tuple[LocalInvoice, RemoteInvoice, str]]:
    """Each source record and the one document that is it: by our marker, else by DocNumber,
    customer and total when exactly one matches."""
    by_marker: dict[str, RemoteInvoice] = {}
    by_doc: dict[str, list[RemoteInvoice]] = {}
    for row in rows:
        if row.marker:
            by_marker.setdefault(row.marker, row)
        if row.doc_number:
            by_doc.setdefault(row.doc_number, []).append(row)
    for inv in todo:
        hit = by_marker.get(inv.number)
        if hit is not None:
            yield inv, hit, "marker"
            continue
        cid = customers.get(inv.customer.name)
        matches = [
            r
            for r in by_doc.get(inv.number, [])
            if r.customer_id == cid and abs((r.total or Decimal(0)) - inv.total) <= CENT
        ]
        if len(matches) == 1:
            yield inv, matches[0], "docnumber"
