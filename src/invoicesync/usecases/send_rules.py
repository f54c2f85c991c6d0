"""Which linked documents may be e-mailed, and why not.

E-mailing a voided invoice, a deleted one, or a paid one as if it were still owed reaches the
customer and cannot be taken back. So `send` and `push --send` read the state of what they
would send first, one read per kind of document for the whole batch (never one per document),
and refuse, with the reason, what the target shows voided or deleted, or paid in full unless
asked (`send --paid`). `push --send` sends only what the run itself created; an invoice it
adopted (found carrying our marker, e.g. on a machine that lost its `state.db`) may have been
sent, voided or paid long ago, so it is reported, never sent. `push --send-unsent` also sends
what invoicesync created earlier (its push journal says so) and never sent. On an
e-invoicing network (B2BRouter) the same batch read also finds the documents whose recipient
has no delivery channel, each recipient read once, and refuses them before anything is queued.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from invoicesync.ledger.base import RemoteRecord
from invoicesync.ledger.capabilities import follow_ups
from invoicesync.ledger.tracking import ChecksDelivery
from invoicesync.models import DocKind, Link
from invoicesync.usecases.session import Session


@dataclass(frozen=True)
class Seen:
    """A linked document as the target holds it now."""

    remote: RemoteRecord | None  # None: no longer in the target (deleted)
    emailed: bool  # the target shows it e-mailed already, by anyone
    undeliverable: str | None = None  # why an e-invoicing network cannot deliver it, or None


def read_states(session: Session, links: Iterable[Link]) -> dict[str, Seen]:
    """The state of each link's document by invoice number: one read per kind of document,
    each by `Id IN (…)`, so an invoice and a credit memo sharing an Id are never confused."""
    groups: dict[DocKind, list[Link]] = {}
    for link in links:
        groups.setdefault(link.kind, []).append(link)
    out: dict[str, Seen] = {}
    for kind, group in groups.items():
        ids = [ln.remote_id for ln in group]
        billed = follow_ups(session.ledger, "send").billing(kind, ids)
        ledger = session.ledger
        blocked: dict[str, str] = {}
        if isinstance(ledger, ChecksDelivery):  # one read per recipient for the batch
            blocked = ledger.undeliverable({k: b.invoice for k, b in billed.items()})
        for ln in group:
            b = billed.get(ln.remote_id)
            seen = Seen(b.invoice if b else None, bool(b and b.sent), blocked.get(ln.remote_id))
            out[ln.invoice_number] = seen
    return out


def cannot_deliver(session: Session, link: Link, seen: Seen | None) -> str | None:
    """Why the target cannot deliver this document (exit 5: a prerequisite to fix there)."""
    if seen is None or seen.undeliverable is None:
        return None
    return f"{session.ledger.name} {link.kind.label} {link.remote_id}: {seen.undeliverable}"


def refusal(session: Session, link: Link, seen: Seen | None, *, paid: bool = False) -> str | None:
    """Why this document must not be e-mailed now, or None."""
    what = f"{session.ledger.name} {link.kind.label} {link.remote_id}"
    remote = seen.remote if seen is not None else None
    if remote is None:
        return f"{what} no longer exists (deleted); `invoicesync reconcile` shows it"
    if remote.voided or remote.status == "voided":
        return f"{what} is voided; a voided {link.kind.label} is not sent"
    if link.kind is DocKind.INVOICE and remote.status == "paid" and not paid:
        return f"{what} is paid; `invoicesync send {link.invoice_number} --paid` sends it anyway"
    return None
