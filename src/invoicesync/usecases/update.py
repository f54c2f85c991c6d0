"""`push --update`: send source edits of linked invoices as sparse updates, exactly once.

Each edit is decided against the record as read now (`Ledger.edit`), journaled with a
`requestid` keyed on the invoice, the target Id, the SyncToken it was decided on and the new
fingerprint, then sent at that SyncToken. The target applies an update at a given token at
most once (a second one is refused as stale), so no edit can land twice; and one whose outcome
is unknown is found again by the next run, which reads the record: if it already matches the
source the edit landed and is recorded, otherwise it is sent again.

An invoice changed in the target since we last wrote it (its SyncToken moved, a payment was
applied) is refused as a conflict unless `--force`; a change that would take the total below
what was paid is refused always.
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from decimal import Decimal

from invoicesync.errors import (
    EXIT_CONFLICT,
    EXIT_PARTIAL,
    EXIT_PREREQUISITE,
    EXIT_UNAVAILABLE,
    InvoiceSyncError,
)
from invoicesync.ledger.base import Draft, Edit, Gone, Outcome, RemoteInvoice, Uncertain
from invoicesync.ledger.capabilities import Edits, batch_size, lacking, lacks
from invoicesync.models import DocKind, Link, LocalInvoice
from invoicesync.store import LifecycleEntry
from invoicesync.store.lifecycle import Closing
from invoicesync.usecases.journaled import Landed, Refused, Unknown, Verdict, Write
from invoicesync.usecases.kinds import KindUnknown, prove, remember
from invoicesync.usecases.push_execute import WORKERS
from invoicesync.usecases.push_report import Decided, PushResult, failed, source_result
from invoicesync.usecases.session import Session


def lifecycle_id(realm: str, *parts: str | None) -> str:
    """Deterministic per (realm, invoice, what is written): a re-run re-sends the same request."""
    key = "\x1f".join([realm, *(p or "" for p in parts)])
    return f"is1u-{hashlib.sha256(key.encode()).hexdigest()[:32]}"


@dataclass(frozen=True)
class Change:
    """One edit decided for one linked invoice."""

    invoice: LocalInvoice
    link: Link
    draft: Draft
    edit: Edit
    proved: bool = False  # the link's kind was proved by reading (recorded when it is sent)

    def entry(self, realm: str) -> LifecycleEntry:
        r, fp = self.edit.remote, self.invoice.fingerprint()
        rid = lifecycle_id(realm, self.invoice.number, r.id, r.version, fp)
        number, kind = self.invoice.number, r.ref.kind
        return LifecycleEntry(realm, number, "update", rid, r.id, r.version, fp, doc_kind=kind)


def paid_of(remote: RemoteInvoice) -> Decimal:
    """What was paid or credited against the record: its total less its open balance."""
    return (remote.total or Decimal(0)) - (remote.balance or Decimal(0))


def paid_word(kind: DocKind) -> str:
    """What a payment is to this kind of document: a credit memo's credit is applied."""
    return "applied" if kind is DocKind.CREDIT_MEMO else "paid or credited"


def _theirs(target: str, link: Link, remote: RemoteInvoice) -> list[str]:
    """What changed in the target since we last wrote or read the record."""
    out = []
    if link.version is not None and remote.version != link.version:
        out.append(
            f"{target}: edited since invoicesync last wrote it "
            f"(SyncToken {link.version} → {remote.version})"
        )
    if link.total is not None and remote.total is not None and remote.total != link.total:
        out.append(f"{target}: total {link.total} → {remote.total}")
    paid = paid_of(remote)
    if paid > 0:
        out.append(f"{target}: {paid} of {remote.total} {paid_word(remote.ref.kind)}")
    return out


def _known(
    session: Session, changed: Sequence[tuple[LocalInvoice, Link]], decided: list[Decided]
) -> list[tuple[LocalInvoice, Link]]:
    """The changed invoices whose link names a document of the kind the source now is; the
    others are refused, nothing sent (an invoice's payload never goes to a credit memo)."""
    out = []
    for inv, link in changed:
        try:
            link = prove(session, link)
        except KindUnknown as exc:
            decided.append(Decided.of(failed(inv, exc.exit_code, exc.message)))
            continue
        if link.kind is not DocKind.of(inv):
            message = (
                f"{inv.number} is linked to {session.ledger.name} {link.ref}, but the source now "
                f"makes it a {DocKind.of(inv).label}; `invoicesync unlink {inv.number}` first"
            )
            decided.append(Decided.of(failed(inv, EXIT_CONFLICT, message)))
            continue
        out.append((inv, link))
    return out


def plan(
    session: Session, changed: Sequence[tuple[LocalInvoice, Link]], *, force: bool
) -> tuple[tuple[Change, ...], tuple[Decided, ...]]:
    """Read the changed invoices (together: `Ledger.edits`) and decide for each: send, already
    matches, or refuse (reads only). Returns the edits and the refusals."""
    decided: list[Decided] = []
    stored = {inv.number: link.kind for inv, link in changed}
    changed = _known(session, changed, decided)
    if not changed:
        return (), tuple(decided)
    ledger = session.ledger
    if not isinstance(ledger, Edits):
        for inv, _ in changed:
            refused = failed(inv, EXIT_PARTIAL, lacks(ledger, "edit", inv.number))
            decided.append(Decided.of(refused))
        return (), tuple(decided)
    prep = ledger.prepare([inv for inv, _ in changed])
    drafts = {d.number: d for d in prep.drafts}
    for inv, _ in changed:
        if inv.number in prep.problems:
            texts = [p.text() for p in prep.problems[inv.number]]
            message = f"missing in {ledger.name}: " + "; ".join(texts)
            decided.append(Decided.of(failed(inv, EXIT_PREREQUISITE, message, texts)))
    ready = [(inv, link) for inv, link in changed if inv.number in drafts]
    edits = ledger.edits([(drafts[inv.number], link.ref) for inv, link in ready])
    todo = []
    for inv, link in ready:
        edit = edits.get(inv.number)
        if edit is None:
            message = f"{ledger.name} {link.ref} was deleted"
            decided.append(Decided.of(failed(inv, EXIT_CONFLICT, message + "; run `reconcile`")))
            continue
        proved = stored[inv.number] is not link.kind
        change = Change(inv, link, drafts[inv.number], edit, proved)
        refusal = _refusal(ledger.name, change, force)
        if refusal is not None:
            decided.append(Decided.of(refusal))
        else:
            todo.append(change)
    return tuple(todo), tuple(decided)


def _refusal(target: str, change: Change, force: bool) -> PushResult | None:
    inv, link, edit = change.invoice, change.link, change.edit
    remote = edit.remote
    if not edit.fields:
        return None  # already matches: recorded without a write
    paid = paid_of(remote)
    ours = [f"source: {c}" for c in edit.changes]
    kind = remote.ref.kind
    if remote.voided:
        return failed(inv, EXIT_CONFLICT, f"{target} {remote.ref} is voided")
    if paid > 0 and inv.total < paid:
        message = (
            f"the new total {inv.total} would be below the {paid} already {paid_word(kind)} in "
            f"{target}; refund or unapply the payment in {target} first"
        )
        return _with_changes(failed(inv, EXIT_CONFLICT, message), ours)
    theirs = _theirs(target, link, remote)
    if theirs and not force:
        what = paid_word(kind).split()[0] if paid > 0 else f"changed in {target}"
        message = (
            f"not updated: the {target} {kind.label} was {what} since invoicesync last wrote "
            "it; re-run with --force to overwrite it"
        )
        return _with_changes(failed(inv, EXIT_CONFLICT, message), theirs + ours)
    return None


def _with_changes(result: PushResult, changes: list[str]) -> PushResult:
    result.changes = changes
    return result


def execute(session: Session, changes: Sequence[Change], results: dict[str, PushResult]) -> None:
    """Journal each chunk, send it as one batch request, record each outcome: four batches in
    flight, like creates. Batching is always safe here: each update is bound to its SyncToken,
    so no second writer can make it twice. Outcomes commit in groups; every intent commits
    before its request leaves (store.grouped)."""
    realm, store = session.account, session.store
    for c in changes:
        if c.proved:
            remember(session, c.link)
    entries = store.journals.lifecycle.entries(realm, "update")
    pending = {e.invoice_number: e for e in entries if e.state == "pending"}
    todo = [c for c in changes if c.edit.fields]
    write = _write(session, {c.invoice.number: c for c in changes})
    with store.grouped():
        for c in changes:
            if not c.edit.fields:  # QuickBooks already matches: an earlier run's edit landed
                entry = pending.get(c.invoice.number) or c.entry(realm)
                write.recorded(entry, c.edit.remote)
                _updated(
                    session, c, c.edit.remote, results, f"{session.ledger.name} already matched"
                )
        _supersede(session, {c.invoice.number: c.entry(realm) for c in todo})
        size = batch_size(session.ledger)
        chunks = deque(todo[i : i + size] for i in range(0, len(todo), size))
        _send_all(session, write, chunks, results)


EditWrites = Write[LifecycleEntry, RemoteInvoice, Closing]


def _write(session: Session, changes: Mapping[str, Change]) -> EditWrites:
    """An edit: recorded with the record's new SyncToken and total and the source's
    fingerprint; looked up by reading the record again (matching the source: it landed)."""

    def record(entry: LifecycleEntry, remote: RemoteInvoice) -> Closing:
        c = changes[entry.invoice_number]
        written = (remote.version, remote.total, c.invoice.fingerprint())
        return Closing({"changes": list(c.edit.changes)}, written)

    def lookup(entries: Sequence[LifecycleEntry]) -> list[RemoteInvoice | None]:
        return [_landed(session, changes[e.invoice_number]) for e in entries]

    return Write(session.store.journals.lifecycle, record, lookup)


def _landed(session: Session, c: Change) -> RemoteInvoice | None:
    """The record as read now, if it already matches the source (the edit landed)."""
    try:
        again = _editing(session).edit(c.draft, c.link.ref)
    except (Gone, InvoiceSyncError):
        return None  # the edit stays pending: the next run reads the record again
    return again.remote if not again.fields else None


Sent = tuple[list[Change], list[LifecycleEntry]]


def _send_all(
    session: Session, write: EditWrites, chunks: deque[list[Change]], results: dict[str, PushResult]
) -> None:
    """Up to WORKERS batches in flight; HTTP only in the workers, the store on this thread. A
    fatal error stops new batches; those in flight are recorded before it is raised."""
    in_flight: dict[Future[Sequence[Outcome]], Sent] = {}
    fatal: BaseException | None = None
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        while in_flight or (chunks and fatal is None):
            while chunks and fatal is None and len(in_flight) < WORKERS:
                chunk = chunks.popleft()
                entries = [c.entry(session.account) for c in chunk]
                write.intend(entries)
                sends = [(c.edit, e.request_id) for c, e in zip(chunk, entries, strict=True)]
                in_flight[pool.submit(_editing(session).update, sends)] = (chunk, entries)
            done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            for future in done:
                chunk, entries = in_flight.pop(future)
                try:
                    answers: Sequence[Outcome] | Uncertain = future.result()
                except Uncertain as exc:
                    answers = exc
                except BaseException as exc:  # fatal (or Ctrl-C): finish what is in flight
                    fatal = fatal or exc
                    continue
                try:
                    verdicts = write.settle(entries, answers)
                except BaseException as exc:  # the state failed: finish what is in flight
                    fatal = fatal or exc
                    continue
                for c, verdict in zip(chunk, verdicts, strict=True):
                    _report(session, c, verdict, results)
    if fatal is not None:
        raise fatal


def _report(
    session: Session,
    c: Change,
    verdict: Verdict[RemoteInvoice, Closing],
    results: dict[str, PushResult],
) -> None:
    if isinstance(verdict, Landed):
        _updated(session, c, verdict.answer, results, "")
    elif isinstance(verdict, Refused):
        why = verdict.refusal.message
        message = f"{session.ledger.name} refused the update: {why}"
        results[c.invoice.number] = failed(c.invoice, verdict.refusal.exit_code, message)
    else:
        cause = verdict.cause if isinstance(verdict, Unknown) else str(verdict.clash)
        message = (
            f"outcome unknown ({cause}); re-run `push --update`: it reads the "
            f"{c.link.kind.label} and sends the edit only if it did not land"
        )
        results[c.invoice.number] = failed(c.invoice, EXIT_UNAVAILABLE, message)


def _updated(
    session: Session,
    c: Change,
    remote: RemoteInvoice,
    results: dict[str, PushResult],
    message: str,
) -> None:
    """The result of an edit the journal recorded as done."""
    result = source_result(c.invoice, c.link, "updated", message)
    result.changes = list(c.edit.changes)
    if remote.total is not None and c.invoice.tax is not None and remote.total != c.invoice.total:
        result.warnings.append(
            f"{session.ledger.name} total {remote.total} differs from the source total "
            f"{c.invoice.total}"
        )
        result.message = "; ".join(m for m in [message, *result.warnings] if m)
    results[c.invoice.number] = result


def _supersede(session: Session, current: dict[str, LifecycleEntry]) -> None:
    """Older pending edits of these invoices (the source changed again since) are replaced by
    the current ones."""
    for e in session.store.journals.lifecycle.entries(session.account, "update"):
        mine = current.get(e.invoice_number)
        if mine is not None and e.state == "pending" and e.request_id != mine.request_id:
            session.store.journals.lifecycle.close(
                e, "failed", {"error": "superseded by a newer edit"}
            )


def _editing(session: Session) -> Edits:
    """The ledger as `Edits`: `plan` leaves nothing to send to a target without, so this
    refuses (exit 2) only what should never be asked."""
    ledger = session.ledger
    if not isinstance(ledger, Edits):
        raise lacking(ledger, "edit")
    return ledger
