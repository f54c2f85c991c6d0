"""Copies in the target: two or more live records carrying our marker for one linked number.

A marker is a claim, not a proof: a person can type it into the memo of an invoice entered by
hand, and QuickBooks' "make a copy" carries it to another job's invoice. So a record is deleted
as a copy (`reconcile --remove-copies`) only with proof, all of it (docs/reliability.md,
"Copies"):

- it is the same invoice as the survivor by content: customer, date, currency, total, tax and
  every line, and the DocNumber where we sent ours (`differences`);
- it has no payment and was never e-mailed to the customer;
- no host we can know of links it: no link row names it, and without a shared state it was
  created through this state (its marker's origin is ours), because other machines link the
  lowest Id and only the machine that made a later copy ever links it;
- the survivor, the lowest Id of the same invoice, is read again just before, and still is it.

Everything else is held for a person with the differences side by side, never deleted, and our
link never moves to it. The delete itself: our link moves to the survivor first (one
transaction, so it is never lost), the whole record is journaled (event `copy removal`, the
QuickBooks JSON in `document`) before the delete is sent, and an unheard answer is read back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from invoicesync.ledger.base import CopyRecord
from invoicesync.ledger.capabilities import Copies, lacking
from invoicesync.models import DocKind, Link
from invoicesync.usecases.session import Session

# The content labels compared when the target numbered the records itself (its DocNumbers
# differ between true copies).
THEIR_NUMBERS = frozenset({"DocNumber"})


@dataclass(frozen=True)
class Held:
    """A record carrying our marker that is not deleted, why, and how it differs from the
    survivor: (field, the survivor's value, this record's value)."""

    remote_id: str
    reasons: tuple[str, ...]
    differences: tuple[tuple[str, str, str], ...] = ()


@dataclass
class CopyFinding:
    """One linked number that two or more live records in the target carry."""

    invoice: str
    kind: DocKind
    survivor: str  # the Id that stays: the lowest that is the linked record's invoice
    copies: list[str]  # every other Id carrying the marker
    linked: str  # the Id our link named when the run began
    would_remove: list[str] = field(default_factory=list)  # proven copies, not deleted (yet)
    held: list[Held] = field(default_factory=list)  # never deleted: a person decides
    removed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # the delete did not go through
    moved: bool = False  # our link now names the survivor

    @property
    def settled(self) -> bool:
        return len(self.removed) == len(self.copies)

    @property
    def kept(self) -> list[str]:
        """Held because a payment reached them (the `kept` of the JSON document)."""
        return [h.remote_id for h in self.held if any("has a payment" in r for r in h.reasons)]

    def details(self, target: str) -> list[str]:
        if self.settled:
            gone = ", ".join(self.removed)
            return [f"removed the copy {gone}; {target} {self.kind.label} {self.survivor} stays"]
        ids = ", ".join([self.survivor, *self.copies])
        out = [f"{target} {self.kind.label}s {ids} all carry our marker for {self.invoice}"]
        out += [f"{h.remote_id} {'; '.join(h.reasons)}" for h in self.held]
        if self.failed:
            out.append(f"could not delete {', '.join(self.failed)} now; re-run later")
        if self.would_remove:
            out.append(
                f"{', '.join(self.would_remove)} is a proven copy of {self.survivor}, which "
                "stays: `invoicesync reconcile --remove-copies` deletes it"
            )
        return out


@dataclass(frozen=True)
class Judge:
    """What a run knows that decides whether a record may be deleted as a copy."""

    origin: str | None  # this state's token (store/origin.py)
    shared: bool  # the link rows are every host's (a shared PostgreSQL state)
    linked: Mapping[str, str]  # Id → the number linked to it here, for this kind
    target: str  # the ledger's name, for messages


def differences(
    a: CopyRecord, b: CopyRecord, skip: frozenset[str] = frozenset()
) -> list[tuple[str, str, str]]:
    """Where two records' content differs: (field, a's value, b's value), in reading order."""
    left, right = dict(a.content), dict(b.content)
    fields = list(left) + [k for k in right if k not in left]
    return [
        (f, left.get(f, "—"), right.get(f, "—"))
        for f in fields
        if f not in skip and left.get(f) != right.get(f)
    ]


def judge(link: Link, rows: Sequence[CopyRecord], j: Judge) -> CopyFinding:
    """Which record stays, which are proven copies, and why each other one is held."""
    ours = next(r for r in rows if r.id == link.remote_id)
    skip = frozenset() if link.doc_number == link.invoice_number else THEIR_NUMBERS
    same = [r for r in rows if r is ours or not differences(ours, r, skip)]
    survivor = min(same, key=lambda r: (len(r.id), r.id))
    others = [r for r in rows if r.id != survivor.id]
    finding = CopyFinding(
        link.invoice_number, link.kind, survivor.id, [r.id for r in others], link.remote_id
    )
    for r in others:
        diff = differences(survivor, r, skip)
        reasons = _held_because(link, r, survivor, diff, j)
        if reasons:
            finding.held.append(Held(r.id, tuple(reasons), tuple(diff)))
        else:
            finding.would_remove.append(r.id)
    return finding


def _held_because(
    link: Link,
    r: CopyRecord,
    survivor: CopyRecord,
    diff: Sequence[tuple[str, str, str]],
    j: Judge,
) -> list[str]:
    out = []
    if diff:
        shown = "; ".join(f"{f} {a} ≠ {b}" for f, a, b in diff[:3])
        out.append(
            f"not the same invoice as {survivor.id} ({shown}): if it is another invoice, remove "
            "our marker from its memo; if it is this one, decide which record stays"
        )
    if r.remote.payments or (r.remote.balance or 0) < (r.remote.total or 0):
        out.append(
            f"has a payment: decide in {j.target} which one stays, then delete or void the other"
        )
    if r.sent:
        out.append(f"was e-mailed to the customer: decide in {j.target} which one stays")
    other = j.linked.get(r.id)
    if other is not None and other != link.invoice_number:
        out.append(f"is linked to {other} here")
    if not j.shared:
        out += _origin_reasons(link, r, j)
    return out


def _origin_reasons(link: Link, r: CopyRecord, j: Judge) -> list[str]:
    """Without a shared state, whether another machine may link the record: only one made
    through this state (or, for a marker without an origin, the one our own link names) is
    known to be linked here or nowhere."""
    origin = r.remote.origin
    if origin is not None and origin == j.origin:
        return []
    if origin is None and r.id == link.remote_id:
        return []
    if origin is None:
        return [
            f"has no origin in its marker, so another machine may link it: delete it in "
            f"{j.target} by hand if none does"
        ]
    return [
        f"was created by another machine (origin {origin}), which may link it: run "
        "`invoicesync reconcile --remove-copies` there"
    ]


def find_copies(
    links: Sequence[Link],
    groups: Mapping[str, Sequence[CopyRecord]],
    kind: DocKind,
    j: Judge,
) -> list[CopyFinding]:
    """Judged copies of the linked records of one kind (`groups`: the ledger's `copies`)."""
    findings = []
    for ln in links:
        rows = groups.get(ln.invoice_number)
        if ln.kind is not kind or not rows or ln.remote_id not in {r.id for r in rows}:
            continue  # a marker we did not link here is not ours to settle
        findings.append(judge(ln, rows, j))
    return findings


def remove(session: Session, link: Link, finding: CopyFinding, j: Judge) -> None:
    """Delete the proven copies of one finding: every record read again first and judged
    again (the survivor must still be it), our link moved to the survivor before its own
    record goes, each record journaled whole before its delete is sent."""
    ledger = session.ledger
    if not isinstance(ledger, Copies):  # `reconcile` refused --remove-copies already
        raise lacking(ledger, "copies")
    ids = [finding.survivor, *finding.copies]
    fresh = ledger.copy_records(finding.kind, ids)
    rows = [fresh[i] for i in ids if i in fresh and not fresh[i].remote.voided]
    again = judge(link, rows, j) if link.remote_id in {r.id for r in rows} else None
    for cid in list(finding.would_remove):
        if again is None or again.survivor != finding.survivor or cid not in again.would_remove:
            now = next((h for h in again.held if h.remote_id == cid), None) if again else None
            why = f"changed since it was first checked (it or {finding.survivor}): re-run"
            finding.held.append(Held(cid, (why, *(now.reasons if now else ())), ()))
            finding.would_remove.remove(cid)
            continue
        _delete(session, ledger, link, finding, (fresh[cid], fresh[finding.survivor]))


def _delete(
    session: Session,
    ledger: Copies,
    link: Link,
    finding: CopyFinding,
    pair: tuple[CopyRecord, CopyRecord],
) -> None:
    copy, survivor = pair
    store, realm = session.store, session.account
    if copy.id == link.remote_id and not finding.moved:
        moved = replace(
            link,
            remote_id=survivor.id,
            doc_number=survivor.remote.doc_number,
            version=survivor.remote.version,
            total=survivor.remote.total,
        )
        store.move_link(moved, {"from": link.remote_id, "to": survivor.id, "why": "copy"})
        finding.moved = True
    detail = {"remote_id": copy.id, "survivor": survivor.id, "kind": finding.kind.value}
    store.record_event(
        realm, link.invoice_number, "copy removal", {**detail, "document": copy.document}
    )
    finding.would_remove.remove(copy.id)
    gone, why = ledger.remove_copy(copy.remote)
    if gone is True:
        store.record_event(realm, link.invoice_number, "copy removed", detail)
        finding.removed.append(copy.id)
        return
    kind = "copy not removed" if gone is False else "copy removal unknown"
    store.record_event(realm, link.invoice_number, kind, {**detail, "why": why})
    finding.failed.append(copy.id)
