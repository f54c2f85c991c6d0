"""Attachments: the source's own files (the PDF Protemos produced, say) on the QuickBooks
invoice, each exactly once.

A file is identified by its name and the SHA-256 of its content, which goes into the
Attachable's Note. Each upload is journalled (intent before, outcome after). Before uploading,
the invoice's Attachables are read once, so a file an interrupted run (or a run whose local
state is gone) did attach is recognised by name, size and hash and never attached twice. A
changed file has a new hash and is attached as a new version next to the old one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

from invoicesync.followup_store import FollowUp, followup_intent, followup_outcome, followups
from invoicesync.ledger.base import Attachment, Ledger, Refusal, Uncertain, Upload
from invoicesync.models import LocalInvoice
from invoicesync.usecases.session import Session


def _path(base: Path, relative: str) -> Path:
    return base / relative


def problems(ledger: Ledger, invoice: LocalInvoice, base: Path) -> list[str]:
    """Why an invoice's attachments cannot go (missing, not a file, type, size): checked before
    anything of the invoice is sent."""
    out = []
    for relative in invoice.attachments:
        path = _path(base, relative)
        if not path.is_file():
            out.append(f"attachment {relative}: not a readable file at {path}")
            continue
        why = ledger.attachment_problem(path.name, path.stat().st_size)
        if why:
            out.append(f"attachment {relative}: {why}")
    return out


def note(number: str, digest: str) -> str:
    return f"invoicesync {number} sha256:{digest}"


def attach_request_id(realm_id: str, number: str, qbo_id: str, digest: str, attempt: int) -> str:
    key = f"attach\x1f{realm_id}\x1f{number}\x1f{qbo_id}\x1f{digest}\x1f{attempt}"
    return "is1a-" + hashlib.sha256(key.encode()).hexdigest()[:32]


def attach_all(session: Session, invoice: LocalInvoice, qbo_id: str, base: Path) -> list[str]:
    """Attach what is not attached yet; returns one message per file attached or failed."""
    messages: list[str] = []
    remote: Sequence[Attachment] | None = None
    for relative in dict.fromkeys(invoice.attachments):
        path = _path(base, relative)
        try:
            data = path.read_bytes()
        except OSError as exc:
            messages.append(f"attachment {relative} not attached: {exc.strerror}")
            continue
        digest = hashlib.sha256(data).hexdigest()
        history = [
            h
            for h in followups(session.store, session.realm_id, "attach", invoice.number)
            if h.qbo_id == qbo_id and h.content_hash == digest and h.target == path.name
        ]
        if any(h.state == "done" for h in history):
            continue
        if remote is None:
            remote = session.ledger.attachments(qbo_id)
        messages.append(_attach_one(session, invoice.number, qbo_id, path, data, history, remote))
    return messages


def _attach_one(
    session: Session,
    number: str,
    qbo_id: str,
    path: Path,
    data: bytes,
    history: list[FollowUp],
    remote: Sequence[Attachment],
) -> str:
    digest = hashlib.sha256(data).hexdigest()
    pending = [h for h in history if h.state == "pending"]
    if pending:
        entry = pending[-1]
    else:
        rid = attach_request_id(session.realm_id, number, qbo_id, digest, len(history))
        entry = FollowUp(
            session.realm_id, "attach", number, qbo_id, rid, "pending", path.name, digest, len(data)
        )
    upload = Upload(path.name, _content_type(session.ledger, path), data, note(number, digest))
    found = _match(remote, upload, len(data))
    if found is None:
        followup_intent(session.store, entry)
        try:
            outcome = session.ledger.attach(qbo_id, upload, entry.request_id)
        except Uncertain as exc:
            found = _match(session.ledger.attachments(qbo_id), upload, len(data))
            if found is None:
                return f"attachment {path.name}: outcome unknown ({exc}); re-run push"
            outcome = found
        if isinstance(outcome, Refusal):
            followup_outcome(session.store, entry, error=outcome.message)
            return f"attachment {path.name} refused by QuickBooks: {outcome.message}"
        found = outcome
    else:
        followup_intent(session.store, entry)
    followup_outcome(session.store, entry, result_id=found.id)
    return f"attached {path.name}"


def _match(remote: Sequence[Attachment], upload: Upload, size: int) -> Attachment | None:
    """The Attachable that is this file: same name, same size, our hash in its note."""
    for a in remote:
        if a.file_name == upload.file_name and a.size == size and (a.note or "") == upload.note:
            return a
    return None


def _content_type(ledger: Ledger, path: Path) -> str:
    return ledger.attachment_type(path.name) or "application/octet-stream"
