"""Attachments: the source's own files (the PDF Protemos produced, say) on the target's
invoice or credit memo, each exactly once (a target that takes attachments: `Attaches`).

A file is identified by its name and the SHA-256 of its content, which goes into the
attachment's note (QuickBooks: the Attachable's Note). Each upload is journalled (intent
before, outcome after). Before uploading, the document's attachments are read once, so a file
an interrupted run (or a run whose local state is gone) did attach is recognised by name, size
and hash and never attached twice. A changed file has a new hash and is attached as a new
version next to the old one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import PurePath

from invoicesync.ledger.base import Attachment as Attached
from invoicesync.ledger.base import Ledger, Upload
from invoicesync.ledger.capabilities import Attaches, lacking, lacks
from invoicesync.models import Attachment, DocRef, LocalInvoice
from invoicesync.store.followups import Delivered, FollowUp, followups
from invoicesync.usecases.journaled import Refused, Unknown, Write
from invoicesync.usecases.session import Session


def file_name(attachment: Attachment) -> str:
    """The name the file has in QuickBooks: its own, without the folders of the source path."""
    return PurePath(attachment.name).name


def problems(ledger: Ledger, invoice: LocalInvoice) -> list[str]:
    """What the target would refuse (type, size), checked before anything of the invoice is
    sent; the source already checked that each file exists inside its folder."""
    out = []
    for a in invoice.attachments:
        if not isinstance(ledger, Attaches):
            out.append(f"attachment {a.name}: {lacks(ledger, 'attachments', invoice.number)}")
            continue
        why = ledger.attachment_problem(file_name(a), a.size)
        if why:
            out.append(f"attachment {a.name}: {why}")
    return out


def note(number: str, digest: str) -> str:
    return f"invoicesync {number} sha256:{digest}"


def attach_request_id(account: str, number: str, ref: DocRef, digest: str, attempt: int) -> str:
    key = f"attach\x1f{account}\x1f{number}\x1f{ref.key}\x1f{digest}\x1f{attempt}"
    return "is1a-" + hashlib.sha256(key.encode()).hexdigest()[:32]


def attach_all(session: Session, invoice: LocalInvoice, ref: DocRef) -> list[str]:
    """Attach what is not attached yet to the document `ref` names; returns one message per
    file attached or failed."""
    messages: list[str] = []
    ledger = _attaching(session)
    remote: Sequence[Attached] | None = None
    done = {
        (h.target, h.content_hash)
        for h in followups(session.store, session.account, "attach", invoice.number)
        if h.ref == ref and h.state == "done"
    }
    for a in dict.fromkeys(invoice.attachments):
        if (file_name(a), a.sha256) in done:
            continue
        try:
            data = a.path.read_bytes()
        except OSError as exc:
            messages.append(f"attachment {a.name} not attached: {exc.strerror}")
            continue
        if hashlib.sha256(data).hexdigest() != a.sha256:
            messages.append(f"attachment {a.name} changed while pushing; re-run push")
            continue
        if remote is None:
            remote = ledger.attachments(ref)
        messages.append(_attach_one(session, invoice.number, ref, a, data, remote))
    return messages


def _attach_one(
    session: Session,
    number: str,
    ref: DocRef,
    a: Attachment,
    data: bytes,
    remote: Sequence[Attached],
) -> str:
    name = file_name(a)
    history = [
        h
        for h in followups(session.store, session.account, "attach", number)
        if h.ref == ref and h.content_hash == a.sha256 and h.target == name
    ]
    pending = [h for h in history if h.state == "pending"]
    if pending:
        entry = pending[-1]
    else:
        rid = attach_request_id(session.account, number, ref, a.sha256, len(history))
        entry = FollowUp(
            session.account, "attach", number, ref.remote_id, rid, "pending", name, a.sha256,
            a.size, doc_kind=ref.kind,
        )  # fmt: skip
    upload = Upload(name, a.content_type, data, note(number, a.sha256))
    write = Write(
        session.store.journals.followups,
        record=lambda _, found: Delivered(result_id=found.id),
        lookup=lambda _: [_match(_attaching(session).attachments(ref), upload, a.size)],
    )
    found = _match(remote, upload, a.size)
    if found is not None:  # attached by an earlier run whose outcome was lost
        write.recorded(entry, found)
        return f"attached {name}"
    verdict = write.once(entry, lambda: _attaching(session).attach(ref, upload, entry.request_id))
    if isinstance(verdict, Refused):
        why = verdict.refusal.message
        return f"attachment {name} refused by {session.ledger.name}: {why}"
    if isinstance(verdict, Unknown):
        return f"attachment {name}: outcome unknown ({verdict.cause}); re-run push"
    return f"attached {name}"


def _attaching(session: Session) -> Attaches:
    """The ledger as `Attaches`: `problems` holds back an invoice with files for a target
    without, so this refuses (exit 2) only what should never be asked."""
    ledger = session.ledger
    if not isinstance(ledger, Attaches):
        raise lacking(ledger, "attachments")
    return ledger


def _match(remote: Sequence[Attached], upload: Upload, size: int) -> Attached | None:
    """The Attachable that is this file: same name, same size, our hash in its note."""
    for a in remote:
        if a.file_name == upload.file_name and a.size == size and (a.note or "") == upload.note:
            return a
    return None
