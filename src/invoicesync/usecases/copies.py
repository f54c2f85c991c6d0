"""Copies in the target: two records carrying our marker for one linked number (`reconcile`).

A push without a shared state checks for a copy right after each single create, and keeps the
lowest Id; when that one check could not run, the copy stays until `reconcile` finds it here.
`reconcile --remove-copies` applies the same rule the push applies on every machine, so hosts
converge on one record: the lowest Id stays, our link moves to it first (one transaction, so
the link is never lost), then each other copy is deleted. A copy with a payment is never
deleted: which record stays is then a person's decision. A delete is idempotent (a deleted
record answers "not found", which counts as done) and its intent is logged before it is sent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from invoicesync.ledger.base import RemoteInvoice
from invoicesync.models import DocKind, Link
from invoicesync.usecases.session import Session


@dataclass
class CopyFinding:
    """One linked number that two or more live records in the target carry."""

    invoice: str
    kind: DocKind
    survivor: str  # the Id that stays: the lowest
    copies: list[str]  # the other Ids
    linked: str  # the Id our link named when the run began
    removed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # paid copies: a person decides
    failed: list[str] = field(default_factory=list)  # the delete did not go through
    moved: bool = False  # our link now names the survivor

    @property
    def settled(self) -> bool:
        return len(self.removed) == len(self.copies)

    def details(self, target: str) -> list[str]:
        ids = ", ".join([self.survivor, *self.copies])
        if self.settled:
            gone = ", ".join(self.removed)
            return [f"removed the copy {gone}; {target} {self.kind.label} {self.survivor} stays"]
        out = [f"{target} {self.kind.label}s {ids} all carry our marker for {self.invoice}"]
        if self.kept:
            out.append(
                f"{', '.join(self.kept)} has a payment: decide in {target} which one stays, "
                "then delete or void the other"
            )
        if self.failed:
            out.append(f"could not delete {', '.join(self.failed)} now; re-run later")
        left = [c for c in self.copies if c not in {*self.removed, *self.kept, *self.failed}]
        if left:
            out.append(
                f"{self.survivor} (the first) stays: `invoicesync reconcile --remove-copies` "
                f"deletes {', '.join(left)}"
            )
        return out


def find_copies(
    session: Session,
    links: Sequence[Link],
    remote: Mapping[str, RemoteInvoice],
    kind: DocKind,
    *,
    remove: bool,
) -> list[CopyFinding]:
    """Copies of the linked records of one kind; with `remove`, settle them."""
    mine = [ln for ln in links if ln.kind is kind and ln.qbo_id in remote]
    if not mine:
        return []
    groups = session.ledger.copies(kind, [remote[ln.qbo_id] for ln in mine])
    findings = []
    for ln in mine:
        rows = groups.get(ln.invoice_number)
        if not rows or ln.qbo_id not in {r.id for r in rows}:
            continue  # a marker we did not link here is not ours to settle
        survivor, *others = rows
        finding = CopyFinding(
            ln.invoice_number, kind, survivor.id, [r.id for r in others], ln.qbo_id
        )
        if remove:
            _settle(session, ln, survivor, others, finding)
        findings.append(finding)
    return findings


def _settle(
    session: Session,
    link: Link,
    survivor: RemoteInvoice,
    others: Sequence[RemoteInvoice],
    finding: CopyFinding,
) -> None:
    store, realm = session.store, session.realm_id
    paid = [r for r in others if (r.balance or 0) < (r.total or 0)]
    finding.kept = [r.id for r in paid]
    if link.qbo_id in finding.kept:
        return  # our own record has a payment: moving the link away would hide it
    if link.qbo_id != survivor.id:
        moved = replace(
            link,
            qbo_id=survivor.id,
            doc_number=survivor.doc_number,
            sync_token=survivor.sync_token,
            total=survivor.total,
        )
        store.move_link(moved, {"from": link.qbo_id, "to": survivor.id, "why": "copy"})
        finding.moved = True
    for copy in others:
        if copy.id in finding.kept:
            continue
        detail = {"qbo_id": copy.id, "survivor": survivor.id, "kind": finding.kind.value}
        store.record_event(realm, link.invoice_number, "copy removal", detail)
        if session.ledger.remove_copy(copy):
            store.record_event(realm, link.invoice_number, "copy removed", detail)
            finding.removed.append(copy.id)
        else:
            store.record_event(realm, link.invoice_number, "copy not removed", detail)
            finding.failed.append(copy.id)
