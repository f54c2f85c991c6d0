"""Send: the target sends linked invoices and credit memos, exactly once per document (the
kind and id the link names: credit memo 1 is not invoice 1). QuickBooks e-mails them;
B2BRouter delivers them on the contact's channel.

Journalled like a push (usecases/journaled.py): the intent, with a deterministic request id, is
committed before the send request, the outcome after. An intent left pending by a crash or a
dropped connection is resolved by reading the document's billing state: if it shows a send
newer than the last one we recorded, the send happened and is recorded; otherwise it is sent
with the same request id (QuickBooks answers a replay if it did receive it). `--again` starts a
new send. What must not be sent at all (voided, deleted, paid) is refused before: `send_rules`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from invoicesync.errors import (
    EXIT_CONFLICT,
    EXIT_PARTIAL,
    EXIT_PREREQUISITE,
    EXIT_UNAVAILABLE,
    EXIT_USAGE,
)
from invoicesync.ledger.base import Billing, Gone, Refusal
from invoicesync.ledger.capabilities import follow_ups, requests_of
from invoicesync.models import DocKind, DocRef, Link
from invoicesync.store.followups import Delivered, FollowUp, followups
from invoicesync.usecases import send_rules
from invoicesync.usecases.journaled import Landed, Refused, Unknown, Unrecorded, Write
from invoicesync.usecases.kinds import KindUnknown, known
from invoicesync.usecases.session import Session


def send_request_id(account: str, number: str, ref: DocRef, attempt: int) -> str:
    key = f"send\x1f{account}\x1f{number}\x1f{ref.key}\x1f{attempt}"
    return "is1s-" + hashlib.sha256(key.encode()).hexdigest()[:32]


@dataclass
class SendResult:
    invoice: str
    status: str  # sent, skipped, failed
    ref: DocRef | None = None  # the document sent (an invoice or a credit memo)
    to: str | None = None
    sent_at: str | None = None
    message: str = ""
    exit_code: int = 0

    @property
    def remote_id(self) -> str | None:
        return None if self.ref is None else self.ref.remote_id

    @property
    def kind(self) -> DocKind | None:
        return None if self.ref is None else self.ref.kind


@dataclass
class SendReport:
    account: str
    results: list[SendResult] = field(default_factory=list)
    requests: dict[str, int] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        failures = [r for r in self.results if r.status == "failed"]
        if not failures:
            return 0
        return failures[0].exit_code if len(self.results) == 1 else EXIT_PARTIAL


def send(
    session: Session,
    numbers: Sequence[str],
    *,
    to: str | None = None,
    again: bool = False,
    paid: bool = False,
    wait: float | None = None,
) -> SendReport:
    """Send each named linked invoice or credit note (under the state lock: sends are
    journalled): QuickBooks e-mails the document its link names, of the link's kind. What the
    target shows voided or deleted, or paid unless `paid`, is refused first, after one read
    per kind of document for the whole batch (`send_rules`)."""
    follow_ups(session.ledger, "send")  # a target without says so before the lock is taken
    report = SendReport(session.account)
    with session.locked(wait):
        order = list(dict.fromkeys(numbers))
        links, unsettled = _settled(session, order)
        states = send_rules.read_states(
            session, [ln for n, ln in links.items() if n not in unsettled]
        )
        for number in order:
            link = links.get(number)
            if link is None:
                message = f"{number} is not linked to {session.ledger.name}; push or link it first"
                failed = SendResult(number, "failed", message=message, exit_code=EXIT_USAGE)
                report.results.append(failed)
                continue
            if number in unsettled:
                exc = unsettled[number]
                failed = SendResult(number, "failed", message=exc.message, exit_code=exc.exit_code)
                report.results.append(failed)
                continue
            why = send_rules.refusal(session, link, states.get(number), paid=paid)
            if why is not None:
                refused = SendResult(number, "failed", link.ref, message=why)
                refused.exit_code = EXIT_CONFLICT
                report.results.append(refused)
                continue
            why = send_rules.cannot_deliver(session, link, states.get(number))
            if why is not None:
                refused = SendResult(number, "failed", link.ref, message=why)
                refused.exit_code = EXIT_PREREQUISITE
                report.results.append(refused)
                continue
            report.results.append(send_one(session, number, link.ref, to=to, again=again))
    report.requests = requests_of(session.ledger)
    return report


def _settled(
    session: Session, numbers: Sequence[str]
) -> tuple[dict[str, Link], dict[str, KindUnknown]]:
    """The links of these numbers with their kind known (proved by a read where the store had
    none), and why each link whose kind could not be proved is not acted on."""
    links: dict[str, Link] = {}
    unsettled: dict[str, KindUnknown] = {}
    for number in numbers:
        link = session.store.link(session.account, number)
        if link is None:
            continue
        try:
            links[number] = known(session, link)
        except KindUnknown as exc:
            links[number], unsettled[number] = link, exc
    return links, unsettled


def send_one(
    session: Session, number: str, ref: DocRef, *, to: str | None, again: bool
) -> SendResult:
    """Send one linked document exactly once (the caller holds the state lock). Only the
    sends of this very document count: an earlier send of the invoice that shares its id
    (a credit memo's, before kinds were recorded) is another document's."""
    history = [h for h in followups(session.store, session.account, "send", number) if h.ref == ref]
    done = [h for h in history if h.state == "done"]
    pending = [h for h in history if h.state == "pending"]
    last = done[-1] if done else None
    write = _write(session, last)
    if pending:
        entry = pending[-1]
        found = write.lookup([entry])[0]
        if found is not None:
            return _sent_before(session, entry, write.recorded(entry, found))
    elif last is not None and not again:
        return SendResult(
            number,
            "skipped",
            ref,
            last.result_to,
            last.result_at,
            f"already sent ({last.result_at or last.updated_at}); --again sends it again",
        )
    else:
        rid = send_request_id(session.account, number, ref, len(history))
        entry = FollowUp(
            session.account, "send", number, ref.remote_id, rid, target=to, doc_kind=ref.kind
        )
    return _deliver(session, write, entry)


def _write(session: Session, last: FollowUp | None) -> Write[FollowUp, Billing, Delivered]:
    """A send: recorded with where it went and when, and the document's new SyncToken; looked
    up as an e-mail the target shows newer than the last one recorded."""

    def record(entry: FollowUp, billing: Billing) -> Delivered:
        to = entry.target or billing.bill_email
        return Delivered(to=to, at=billing.delivered_at, token=billing.invoice.version)

    def lookup(entries: Sequence[FollowUp]) -> list[Billing | None]:
        return [_shows_sent(session, entry, last) for entry in entries]

    return Write(session.store.journals.followups, record, lookup)


def _deliver(
    session: Session, write: Write[FollowUp, Billing, Delivered], entry: FollowUp
) -> SendResult:
    number, ref, target = entry.invoice_number, entry.ref, session.ledger.name
    gone = Refusal(f"{target} {ref} no longer exists; run `invoicesync reconcile`", EXIT_CONFLICT)

    def call() -> Billing | Refusal:
        try:
            return follow_ups(session.ledger, "send").send(ref, entry.target, entry.request_id)
        except Gone:
            return gone

    verdict = write.once(entry, call)
    if isinstance(verdict, Refused):
        outcome = verdict.refusal
        message = (
            outcome.message if outcome is gone else f"{target} did not send it: {outcome.message}"
        )
        return SendResult(number, "failed", ref, message=message, exit_code=outcome.exit_code)
    if isinstance(verdict, Unknown):
        message = (
            f"outcome unknown ({verdict.cause}); re-run: it checks {target} before sending, so "
            f"the {ref.kind.label} is sent once"
        )
        return SendResult(number, "failed", ref, message=message, exit_code=EXIT_UNAVAILABLE)
    if isinstance(verdict, Unrecorded):  # a send moves no link: never raised
        raise verdict.clash
    if verdict.found:
        return _sent_before(session, entry, verdict)
    return SendResult(number, "sent", ref, verdict.record.to, verdict.record.at)


def _shows_sent(session: Session, entry: FollowUp, last: FollowUp | None) -> Billing | None:
    """A pending send: the target's billing state if it shows an e-mail newer than the last
    one recorded, else None."""
    billing = follow_ups(session.ledger, "send").billing(entry.doc_kind, [entry.remote_id])
    found = billing.get(entry.remote_id)
    if found is None or not found.sent or found.delivered_at is None:
        return None
    if last is not None and found.delivered_at == last.result_at:
        return None
    return found


def _sent_before(
    session: Session, entry: FollowUp, landed: Landed[Billing, Delivered]
) -> SendResult:
    message = f"sent by an earlier, interrupted run (found in {session.ledger.name})"
    sent = landed.record
    return SendResult(entry.invoice_number, "sent", entry.ref, sent.to, sent.at, message)
