"""Candidates, link and unlink: tie a local invoice to an invoice the target already has."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from decimal import Decimal

from invoicesync import matching
from invoicesync.errors import Conflict, InvoiceSyncError, UsageError
from invoicesync.ledger.base import Gone, RemoteInvoice, Unsearchable
from invoicesync.models import CENT, Candidate, DocKind, DocRef, Link, LocalInvoice
from invoicesync.store import LinkExists
from invoicesync.usecases.invoices import find_invoice
from invoicesync.usecases.kinds import KindUnknown, known, owner, owners
from invoicesync.usecases.push_report import link_from
from invoicesync.usecases.session import Session

CANDIDATE_WINDOW_DAYS = 30  # same customer within this many days of the issue date


def marker_request_id(action: str, account: str, number: str, remote: RemoteInvoice) -> str:
    """For writing or removing our marker: keyed on the target document and its SyncToken, so
    a retry of the same write is replayed but a write to another document (or a later version
    of the same one, or the credit memo with the same Id) is never answered with an earlier
    write's response."""
    key = f"{action}\x1f{account}\x1f{number}\x1f{remote.ref.key}\x1f{remote.version}"
    return f"{action}-{hashlib.sha256(key.encode()).hexdigest()[:32]}"


def _candidate(
    remote: RemoteInvoice, inv: LocalInvoice, customer_id: str | None, owned: dict[DocRef, str]
) -> Candidate:
    sc = matching.score(
        number=inv.number,
        customer_id=customer_id,
        total=inv.total,
        issue_date=inv.issue_date,
        currency=inv.currency,
        remote_doc=remote.doc_number,
        remote_customer_id=remote.customer_id,
        remote_total=remote.total,
        remote_date=remote.txn_date,
        remote_currency=remote.currency,
        marker_number=remote.marker,
    )
    return Candidate(
        kind=remote.ref.kind,
        remote_id=remote.id,
        doc_number=remote.doc_number,
        txn_date=remote.txn_date,
        customer=remote.customer_name,
        total=remote.total,
        balance=remote.balance,
        currency=remote.currency,
        score=sc.points,
        reasons=sc.reasons,
        linked_to=owner(owned, remote.ref),
        has_marker=remote.marker is not None,
    )


def list_candidates(
    session: Session, invoices: Sequence[LocalInvoice], number: str, *, limit: int = 10
) -> tuple[LocalInvoice, list[Candidate]]:
    """Target documents that could be `number`, of the kind it becomes (invoices for an
    invoice, credit memos for a credit note): same DocNumber anywhere, or same customer within
    `CANDIDATE_WINDOW_DAYS`, best first."""
    inv = find_invoice(invoices, number)
    ledger, kind = session.ledger, DocKind.of(inv)
    customer_id = next(iter(ledger.customers(inv.customer.name).values()), None)
    rows: dict[str, RemoteInvoice] = {}
    with contextlib.suppress(Unsearchable):
        rows.update((r.id, r) for r in ledger.search(kind, number=inv.number))
    if customer_id:
        window = timedelta(days=CANDIDATE_WINDOW_DAYS)
        lo, hi = (inv.issue_date - window).isoformat(), (inv.issue_date + window).isoformat()
        near = ledger.search(kind, customer_id=customer_id, lo=lo, hi=hi)
        rows.update((r.id, r) for r in near)
    store = session.existing_store()
    owned = owners(store.links(session.account)) if store else {}
    found = [_candidate(r, inv, customer_id, owned) for r in rows.values()]
    found.sort(key=lambda c: (-c.score, c.txn_date or "", c.remote_id))
    return inv, found[:limit]


@dataclass
class LinkResult:
    invoice: str
    kind: DocKind
    remote_id: str
    doc_number: str | None
    total: Decimal | None
    currency: str | None
    warnings: list[str]
    marker_written: bool
    already_linked: bool = False


@dataclass(frozen=True)
class LinkRequest:
    number: str
    remote_id: str | None = None
    doc_number: str | None = None
    best: bool = False
    pick: Callable[[list[Candidate]], str | None] | None = None
    write_marker: bool = True
    wait: float | None = None


def _by_doc_number(session: Session, doc_number: str, kind: DocKind) -> str:
    ledger, what = session.ledger, kind.label
    try:
        rows = ledger.search(kind, number=doc_number)
    except Unsearchable:
        raise UsageError(
            f"DocNumber {doc_number!r} cannot be searched in {ledger.name}; "
            f"pass the {ledger.name} {what} id instead"
        ) from None
    if not rows:
        raise UsageError(f"no {ledger.name} {what} has DocNumber {doc_number}")
    if len(rows) > 1:
        ids = ", ".join(r.id for r in rows)
        raise Conflict(
            f"several {ledger.name} {what}s have DocNumber {doc_number} (ids {ids}); link by id"
        )
    return rows[0].id


def _chosen_candidate(session: Session, invoices: Sequence[LocalInvoice], req: LinkRequest) -> str:
    """`--best`, or the person's pick on a terminal, among the free candidates."""
    _, candidates = list_candidates(session, invoices, req.number, limit=10)
    free = [c for c in candidates if c.linked_to is None]
    if req.best:
        if not free or not matching.unambiguous_best([c.score for c in free]):
            contenders = ", ".join(f"{c.remote_id} (score {c.score})" for c in free[:5])
            raise Conflict(
                f"no unambiguous best candidate for {req.number}"
                + (f": {contenders}; link by id" if contenders else "")
            )
        return free[0].remote_id
    if req.pick is not None and free:
        picked = req.pick(free)
        if picked is None:
            raise UsageError("nothing chosen; no link was made")
        return picked
    raise UsageError(
        f"give the {session.ledger.name} invoice (or credit memo) id, --doc-number N or --best "
        "(or run in a terminal to pick from the candidates)"
    )


def _target(
    session: Session, inv: LocalInvoice, invoices: Sequence[LocalInvoice], req: LinkRequest
) -> RemoteInvoice:
    """The document to link, of the kind the source record becomes: a credit note links to a
    credit memo, and its id is read as a credit memo's."""
    if sum(bool(x) for x in (req.remote_id, req.doc_number, req.best)) > 1:
        raise UsageError("give one of REMOTE_ID, --doc-number or --best")
    kind = DocKind.of(inv)
    if req.doc_number is not None:
        remote_id = _by_doc_number(session, req.doc_number, kind)
    elif req.best or req.remote_id is None:
        remote_id = _chosen_candidate(session, invoices, req)
    else:
        remote_id = req.remote_id
    try:
        return session.ledger.read(DocRef(kind, remote_id))
    except Gone:
        name = session.ledger.name
        raise UsageError(f"{name} has no {kind.label} with id {remote_id} (deleted?)") from None


def _differences(target: str, inv: LocalInvoice, remote: RemoteInvoice) -> list[str]:
    warnings = []
    customer = remote.customer_name
    if customer and customer not in {inv.customer.name, inv.customer.name.rsplit(":", 1)[-1]}:
        warnings.append(
            f"customer differs: {target} has {customer!r}, the source {inv.customer.name!r}"
        )
    total = remote.total or Decimal(0)
    if abs(total - inv.total) > CENT:
        warnings.append(f"total differs: {target} {total}, source {inv.total}")
    if remote.currency and remote.currency != inv.currency:
        warnings.append(f"currency differs: {target} {remote.currency}, source {inv.currency}")
    return warnings


def _write_marker(
    session: Session, remote: RemoteInvoice, number: str, warnings: list[str]
) -> tuple[RemoteInvoice, bool]:
    mark = remote.marker
    if mark == number:
        return remote, True
    if mark is not None:
        warnings.append(
            f"{session.ledger.name} {remote.ref} carries the marker of {mark}; it was replaced"
        )
    rid = marker_request_id("lk1", session.account, number, remote)
    try:
        return session.ledger.set_marker(remote, number, rid), True
    except (Gone, InvoiceSyncError) as exc:
        name = session.ledger.name
        warnings.append(f"could not write the marker into {name} ({exc}); link kept")
        return remote, False


def link(session: Session, invoices: Sequence[LocalInvoice], req: LinkRequest) -> LinkResult:
    """Link a local invoice to an existing target invoice, under the state lock."""
    with session.locked(req.wait):
        return _link(session, invoices, req)


def _doc_owner(existing: Link, req: LinkRequest) -> str | None:
    """The existing link's id when `--doc-number` names that same QuickBooks invoice."""
    if req.doc_number is not None and req.doc_number == existing.doc_number:
        return existing.remote_id
    return None


def _link(session: Session, invoices: Sequence[LocalInvoice], req: LinkRequest) -> LinkResult:
    inv = find_invoice(invoices, req.number)
    store, realm = session.store, session.account
    existing = store.link(realm, req.number)
    if existing is not None and existing.remote_id in {req.remote_id, _doc_owner(existing, req)}:
        # Asked again for the link that exists: nothing to do, like `unlink` of an unlinked one.
        return LinkResult(
            req.number,
            existing.kind,
            existing.remote_id,
            existing.doc_number,
            existing.total,
            existing.currency,
            [],
            existing.marker_written,
            already_linked=True,
        )
    name = session.ledger.name
    if existing is not None:
        raise Conflict(
            f"{req.number} is already linked to {name} {existing.ref}; "
            f"`invoicesync unlink {req.number}` first"
        )
    remote = _target(session, inv, invoices, req)
    holder = store.link_for_remote(realm, remote.ref) or store.link_for_remote(
        realm, DocRef(DocKind.UNKNOWN, remote.id)
    )
    if holder is not None:
        raise Conflict(f"{name} {remote.ref} is already linked to {holder.invoice_number}")
    warnings = _differences(name, inv, remote)
    marker_written = False
    if req.write_marker:
        remote, marker_written = _write_marker(session, remote, req.number, warnings)
    elif remote.marker == req.number:
        marker_written = True
    record = replace(link_from(inv, realm, remote, "linked"), marker_written=marker_written)
    try:
        store.add_link(record, event={"remote_id": record.remote_id, "warnings": warnings})
    except LinkExists:
        raise Conflict(f"{req.number} or {name} {record.ref} was linked meanwhile") from None
    return LinkResult(
        req.number,
        record.kind,
        record.remote_id,
        record.doc_number,
        record.total,
        record.currency,
        warnings,
        marker_written,
    )


@dataclass
class UnlinkResult:
    invoice: str
    was_linked: bool
    remote_id: str | None = None
    marker_removed: bool = False
    generation: int = 0
    warnings: list[str] = field(default_factory=list)
    kind: DocKind | None = None  # of the document `remote_id` names
    number_stays_taken: bool = False  # a later push is a conflict, not a new document


def unlink(session: Session, number: str, *, wait: float | None = None) -> UnlinkResult:
    """Remove a link, and our marker from the document it was written on (the link's kind and
    id: a credit memo's marker is removed from the credit memo); the document itself is left
    alone. Idempotent."""
    with session.locked(wait):
        store, realm = session.store, session.account
        existing = store.link(realm, number)
        if existing is None:
            return UnlinkResult(number, False)
        warnings: list[str] = []
        removed = False
        if existing.marker_written:
            existing, removed = _remove_marker(session, existing, warnings)
        event = {
            "remote_id": existing.remote_id,
            "kind": existing.kind.value,
            "marker_removed": removed,
        }
        generation = store.remove_link(realm, number, event)
        return UnlinkResult(
            number,
            True,
            existing.remote_id,
            removed,
            generation,
            warnings,
            existing.kind,
            session.ledger.facts.numbers_stay_taken,
        )


def _remove_marker(session: Session, link: Link, warnings: list[str]) -> tuple[Link, bool]:
    number, name = link.invoice_number, session.ledger.name
    try:
        link = known(session, link)
        remote = session.ledger.read(link.ref)
        if remote.marker != number:
            return link, False
        rid = marker_request_id("ul1", session.account, number, remote)
        session.ledger.set_marker(remote, None, rid)
        return link, True
    except Gone:
        warnings.append(f"{name} {link.ref} no longer exists")
    except KindUnknown as exc:
        warnings.append(f"our marker may stay in {name}: {exc.message}")
    except InvoiceSyncError as exc:  # e.g. B2BRouter: a sent invoice cannot change
        warnings.append(f"our marker stays in the {link.kind.label}: {exc}")
    return link, False
