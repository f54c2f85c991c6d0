"""What `push` does around the creates for attachments and `--send`.

Before anything is sent, invoices whose attachments the target would refuse (type, size) are
refused whole (the source already checked that each file exists inside its folder). After the
creates, each linked invoice of the push gets its missing attachments (a re-run finishes what a
crash interrupted; a changed file becomes a new version), and with `--send` each invoice
created in this run is e-mailed (never one it adopted: see `send_rules`); a send an earlier run
left pending is resolved first, unless its invoice was voided, deleted or paid since. If a
crash falls between a create and its send's journal entry, the invoice is not sent:
`invoicesync send` or `push --send-unsent` sends it, and `invoices` shows it unsent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from invoicesync.errors import EXIT_INVALID_INPUT
from invoicesync.ledger.tracking import ChecksDelivery
from invoicesync.models import DocKind, DocRef, LocalInvoice
from invoicesync.store.followups import followups
from invoicesync.usecases import send_rules
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
    send: bool,
    send_unsent: bool = False,
) -> None:
    candidates = [
        (inv, r)
        for inv in chosen
        if (r := results.get(inv.number)) is not None
        and r.ref is not None
        and r.status in {"created", "adopted", "skipped", "changed"}
        and (inv.attachments or send or send_unsent)
    ]
    refs: dict[str, DocRef] = {}
    for inv, r in candidates:
        assert r.ref is not None
        try:
            refs[inv.number] = _known(session, r.ref, inv.number)
        except KindUnknown as exc:
            r.warnings.append(f"not attached or sent: {exc.message}")
            r.message = "; ".join(m for m in [r.message, r.warnings[-1]] if m)
    linked = [(inv, r) for inv, r in candidates if inv.number in refs]
    notes = {
        inv.number: attach_all(session, inv, refs[inv.number]) if inv.attachments else []
        for inv, r in linked
    }
    if send or send_unsent:
        items = [(inv.number, r) for inv, r in linked]
        for number, note in _sends(session, items, refs, unsent=send_unsent).items():
            notes[number].append(note)
    for inv, r in linked:
        mine = notes[inv.number]
        r.warnings += [n for n in mine if not n.startswith(("attached", "sent"))]
        r.message = "; ".join(m for m in [r.message, *mine] if m)


def _known(session: Session, ref: DocRef, number: str) -> DocRef:
    """The document a result names, its kind proved first if the link did not record it."""
    link = session.store.link(session.account, number)
    if ref.kind is not DocKind.UNKNOWN or link is None:
        return ref
    return known(session, link).ref


def _sends(
    session: Session,
    items: Sequence[tuple[str, PushResult]],
    refs: Mapping[str, DocRef],
    *,
    unsent: bool,
) -> dict[str, str]:
    """A note per invoice sent or deliberately not sent ("sent to …", "not sent: why").
    Created in this run: sent. A send an earlier run left pending: finished, unless the
    document was voided, deleted or paid since. With `unsent`: ours by the push journal and
    never sent, checked the same way. Adopted and not ours by the journal: reported only."""
    store, realm = session.store, session.account
    sends = followups(store, realm, "send")
    pending = {f.invoice_number for f in sends if f.state == "pending"}
    sent = {(f.invoice_number, f.remote_id) for f in sends if f.state == "done"}
    ours = (
        {(e.invoice_number, e.remote_id) for e in store.journals.creates.entries(realm, "done")}
        if unsent
        else set()
    )
    go = [(n, refs[n]) for n, r in items if r.status == "created"]
    created = len(go)  # the first `created` of `go`; the rest are checked below
    maybe = [
        n
        for n, r in items
        if r.status != "created"
        and (
            n in pending
            or r.status == "adopted"
            or ((n, r.remote_id) in ours and (n, r.remote_id) not in sent)
        )
    ]
    links = {n: ln for n in maybe if (ln := store.link(realm, n)) is not None}
    links = {n: replace(ln, kind=refs[n].kind) for n, ln in links.items()}
    checked = [(n, r) for n, r in items if n in links]
    states = send_rules.read_states(session, links.values())
    notes: dict[str, str] = {}
    for n, r in checked:
        seen = states.get(n)
        why = send_rules.refusal(session, links[n], seen) or send_rules.cannot_deliver(
            session, links[n], seen
        )
        if why is None and n not in pending and (n, r.remote_id) not in ours:
            why = f"adopted, not created by this run; `invoicesync send {n}` sends it"
        elif why is None and n not in pending and seen is not None and seen.emailed:
            why = (
                f"{session.ledger.name} shows it e-mailed already; `invoicesync send {n}` sends it"
            )
        if why is not None:
            notes[n] = f"not sent: {why}"
        else:
            go.append((n, refs[n]))
    go = _deliverable(session, go, created, notes)
    for n, ref in go:
        done = send_one(session, n, ref, to=None, again=False)
        if done.status == "sent":
            notes[n] = f"sent to {done.to}" if done.to else "sent"
        elif done.status == "failed":
            notes[n] = f"not sent: {done.message}"
    return notes


def _deliverable(
    session: Session, go: list[tuple[str, DocRef]], created: int, notes: dict[str, str]
) -> list[tuple[str, DocRef]]:
    """On an e-invoicing network, the documents this run created whose recipient has no
    delivery channel are noted and left unsent (the rest of `go` was checked already); one
    batch read, each recipient once, before anything is queued."""
    if not created or not isinstance(session.ledger, ChecksDelivery):
        return go
    fresh = {n: session.store.link(session.account, n) for n, _ in go[:created]}
    links = {n: replace(ln, kind=ref.kind) for (n, ref) in go[:created] if (ln := fresh[n])}
    states = send_rules.read_states(session, links.values())
    keep = []
    for n, ref in go:
        why = send_rules.cannot_deliver(session, links[n], states.get(n)) if n in links else None
        if why is None:
            keep.append((n, ref))
        else:
            notes[n] = f"not sent: {why}"
    return keep
