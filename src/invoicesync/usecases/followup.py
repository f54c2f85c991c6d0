"""What `push` does around the creates for attachments and `--send` (issue 18).

Before anything is sent, invoices whose attachments the target would refuse (type, size) are
refused whole (the source already checked that each file exists inside its folder). After the
creates, each linked invoice of the push gets its missing attachments (a re-run finishes what a
crash interrupted; a changed file becomes a new version), and with `--send` each invoice
created or adopted in this run is e-mailed; a send an earlier run left pending is resolved
first. If a crash falls between a create and its send's journal entry, the invoice is not sent:
`invoicesync send` sends it, and `invoices` shows it unsent.
"""

from __future__ import annotations

from collections.abc import Sequence

from invoicesync.errors import EXIT_INVALID_INPUT
from invoicesync.models import DocKind, DocRef, LocalInvoice
from invoicesync.store.followups import followups
from invoicesync.usecases.attachments import attach_all, problems
from invoicesync.usecases.kinds import KindUnknown, known
from invoicesync.usecases.push_report import PushResult, failed
from invoicesync.usecases.send import send_one
from invoicesync.usecases.session import Session


def refuse_bad_attachments(
    session: Session, chosen: Sequence[LocalInvoice], results: dict[str, PushResult]
) -> list[LocalInvoice]:
    """The invoices whose attachments can go; the others get a failed result (exit 8)."""
    keep = []
    for inv in chosen:
        found = problems(session.ledger, inv)
        if found:
            message = "attachments cannot be sent: " + "; ".join(found)
            results[inv.number] = failed(inv, EXIT_INVALID_INPUT, message, found)
        else:
            keep.append(inv)
    return keep


def after_push(
    session: Session,
    chosen: Sequence[LocalInvoice],
    results: dict[str, PushResult],
    *,
    send: bool,
) -> None:
    for inv in chosen:
        r = results.get(inv.number)
        if (
            r is None
            or r.ref is None
            or r.status not in {"created", "adopted", "skipped", "changed"}
        ):
            continue
        wants_send = send and (
            r.status not in {"skipped", "changed"} or _send_pending(session, inv.number)
        )
        if not inv.attachments and not wants_send:
            continue
        try:
            ref = _known(session, r.ref, inv.number)
        except KindUnknown as exc:
            r.warnings.append(f"not attached or sent: {exc.message}")
            r.message = "; ".join(m for m in [r.message, r.warnings[-1]] if m)
            continue
        notes = attach_all(session, inv, ref) if inv.attachments else []
        if wants_send:
            sent = send_one(session, inv.number, ref, to=None, again=False)
            if sent.status == "sent":
                notes.append(f"sent to {sent.to}" if sent.to else "sent")
            elif sent.status == "failed":
                notes.append(f"not sent: {sent.message}")
        r.warnings += [n for n in notes if not n.startswith(("attached", "sent"))]
        r.message = "; ".join(m for m in [r.message, *notes] if m)


def _known(session: Session, ref: DocRef, number: str) -> DocRef:
    """The document a result names, its kind proved first if the link did not record it."""
    link = session.store.link(session.realm_id, number)
    if ref.kind is not DocKind.UNKNOWN or link is None:
        return ref
    return known(session, link).ref


def _send_pending(session: Session, number: str) -> bool:
    entries = followups(session.store, session.realm_id, "send", number)
    return any(e.state == "pending" for e in entries)
