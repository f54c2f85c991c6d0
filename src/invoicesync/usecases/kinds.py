"""Links whose kind of document is not known, settled before anything acts on them.

A link stored before invoicesync read credit memos for `link` and `reconcile --rebuild` names
an id whose kind the migration could not prove (store/kinds.py); it is `DocKind.UNKNOWN`. Before
a command reads, sends, voids or edits through such a link, the target is read once per kind
it holds, and the one document with that id that carries our marker for the link's number is
what the link names: that kind is recorded. When none or several do, nothing is guessed: the
command refuses that invoice and says how to link it again.

Also here: who owns a remote document, keyed on the document (kind and id), never on the id
alone, where an unknown link counts as owning both documents its id could name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace

from invoicesync.errors import Conflict
from invoicesync.ledger.base import Gone
from invoicesync.models import DocKind, DocRef, Link
from invoicesync.usecases.session import Session


class KindUnknown(Conflict):
    """A link's kind could not be proved: the command does not act on that document (exit 6)."""


def known(session: Session, link: Link) -> Link:
    """The link with its kind known: as stored, or proved by reading the target (and then
    recorded). Raises `KindUnknown` (exit 6) when it cannot be proved."""
    proved = prove(session, link)
    if proved is not link:
        remember(session, proved)
    return proved


def prove(session: Session, link: Link) -> Link:
    """`known` without recording what it proved: what a plan uses, since a plan only reads;
    the step that acts on the link records it (`remember`)."""
    if link.kind is not DocKind.UNKNOWN:
        return link
    proved: list[DocRef] = []
    for kind in session.ledger.facts.kinds:
        ref = DocRef(kind, link.remote_id)
        try:
            remote = session.ledger.read(ref)
        except Gone:
            continue
        if remote.marker == link.invoice_number:
            proved.append(ref)
    if len(proved) != 1:
        number, target = link.invoice_number, session.ledger.name
        raise KindUnknown(
            f"{number}: the link was stored before invoicesync recorded whether {target} id "
            f"{link.remote_id} is an invoice or a credit memo, and "
            + ("no" if not proved else "more than one")
            + f" document with that id carries our marker for {number}; nothing was sent. "
            f"`invoicesync unlink {number}`, then `invoicesync link {number} ID` with the id "
            "of the right document"
        )
    return replace(link, kind=proved[0].kind)


def remember(session: Session, proved: Link) -> None:
    """Record the kind `prove` found for a link stored without one (the store changes only a
    link still unknown and naming the same id)."""
    session.store.set_link_kind(session.account, proved.invoice_number, proved.ref)


def owners(links: Iterable[Link]) -> dict[DocRef, str]:
    """Linked documents and the invoice number each is linked to."""
    return {ln.ref: ln.invoice_number for ln in links}


def owner(owned: Mapping[DocRef, str], ref: DocRef) -> str | None:
    """Who links this document: a link to it, or a link of unknown kind with its id."""
    return owned.get(ref) or owned.get(DocRef(DocKind.UNKNOWN, ref.remote_id))
