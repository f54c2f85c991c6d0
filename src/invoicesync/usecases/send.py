"""Send: QuickBooks e-mails linked invoices, exactly once per invoice and QuickBooks record.

Journalled like a push: the intent (with a deterministic requestid) is committed before the
send request, the outcome after. An intent left pending by a crash or a dropped connection is
resolved by reading the invoice: if its DeliveryInfo shows an e-mail newer than the last one we
recorded, the send happened and is recorded; otherwise it is sent with the same requestid, which
QuickBooks answers with a replay if it did receive it. `--again` starts a new send. What must
not be e-mailed at all (voided, deleted, paid) is refused before: `send_rules`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from invoicesync.errors import EXIT_CONFLICT, EXIT_PARTIAL, EXIT_UNAVAILABLE, EXIT_USAGE
from invoicesync.ledger.base import Gone, Refusal, Uncertain
from invoicesync.store.followups import (
    FollowUp,
    advance_sync_token,
    followup_intent,
    followup_outcome,
    followups,
)
from invoicesync.usecases import send_rules
from invoicesync.usecases.session import Session


def send_request_id(realm_id: str, number: str, qbo_id: str, attempt: int) -> str:
    key = f"send\x1f{realm_id}\x1f{number}\x1f{qbo_id}\x1f{attempt}"
    return "is1s-" + hashlib.sha256(key.encode()).hexdigest()[:32]


@dataclass
class SendResult:
    invoice: str
    status: str  # sent, skipped, failed
    qbo_id: str | None = None
    to: str | None = None
    sent_at: str | None = None
    message: str = ""
    exit_code: int = 0


@dataclass
class SendReport:
    realm_id: str
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
    """Send each named linked invoice (under the state lock: sends are journalled). What the
    target shows voided or deleted, or paid unless `paid`, is refused first, after one read
    per kind of document for the whole batch (`send_rules`)."""
    report = SendReport(session.realm_id)
    with session.locked(wait):
        store = session.store
        order = list(dict.fromkeys(numbers))
        links = {n: ln for n in order if (ln := store.link(session.realm_id, n)) is not None}
        states = send_rules.read_states(session, links.values())
        for number in order:
            link = links.get(number)
            if link is None:
                message = f"{number} is not linked to a QuickBooks invoice; push or link it first"
                failed = SendResult(number, "failed", message=message, exit_code=EXIT_USAGE)
                report.results.append(failed)
                continue
            why = send_rules.refusal(session, link, states.get(number), paid=paid)
            if why is not None:
                refused = SendResult(number, "failed", link.qbo_id, message=why)
                refused.exit_code = EXIT_CONFLICT
                report.results.append(refused)
                continue
            report.results.append(send_one(session, number, link.qbo_id, to=to, again=again))
    report.requests = dict(session.ledger.requests)
    return report


def send_one(
    session: Session, number: str, qbo_id: str, *, to: str | None, again: bool
) -> SendResult:
    """Send one linked invoice exactly once (the caller holds the state lock)."""
    history = [
        h for h in followups(session.store, session.realm_id, "send", number) if h.qbo_id == qbo_id
    ]
    done = [h for h in history if h.state == "done"]
    pending = [h for h in history if h.state == "pending"]
    last = done[-1] if done else None
    if pending:
        entry = pending[-1]
        resolved = _resolve(session, entry, last)
        if resolved is not None:
            return resolved
    elif last is not None and not again:
        return SendResult(
            number,
            "skipped",
            qbo_id,
            last.result_to,
            last.result_at,
            f"already sent ({last.result_at or last.updated_at}); --again sends it again",
        )
    else:
        rid = send_request_id(session.realm_id, number, qbo_id, len(history))
        entry = FollowUp(session.realm_id, "send", number, qbo_id, rid, target=to)
        followup_intent(session.store, entry)
    return _deliver(session, entry, last)


def _deliver(session: Session, entry: FollowUp, last: FollowUp | None) -> SendResult:
    number, qbo_id = entry.invoice_number, entry.qbo_id
    try:
        outcome = session.ledger.send(qbo_id, entry.target, entry.request_id)
    except Uncertain as exc:
        resolved = _resolve(session, entry, last)
        if resolved is not None:
            return resolved
        message = (
            f"outcome unknown ({exc}); re-run: it checks QuickBooks before sending, so the "
            "invoice is sent once"
        )
        return SendResult(number, "failed", qbo_id, message=message, exit_code=EXIT_UNAVAILABLE)
    except Gone:
        message = f"QuickBooks invoice {qbo_id} no longer exists; run `invoicesync reconcile`"
        followup_outcome(session.store, entry, error=message)
        return SendResult(number, "failed", qbo_id, message=message, exit_code=EXIT_CONFLICT)
    if isinstance(outcome, Refusal):
        followup_outcome(session.store, entry, error=outcome.message)
        message = f"QuickBooks did not send it: {outcome.message}"
        return SendResult(number, "failed", qbo_id, message=message, exit_code=outcome.exit_code)
    sent_to = entry.target or outcome.bill_email
    followup_outcome(session.store, entry, result_to=sent_to, result_at=outcome.delivered_at)
    token = outcome.invoice.sync_token
    advance_sync_token(session.store, session.realm_id, number, qbo_id, token)
    return SendResult(number, "sent", qbo_id, sent_to, outcome.delivered_at)


def _resolve(session: Session, entry: FollowUp, last: FollowUp | None) -> SendResult | None:
    """A pending send: done if QuickBooks shows an e-mail newer than the last one recorded."""
    found = session.ledger.billing([entry.qbo_id]).get(entry.qbo_id)
    if found is None or not found.sent or found.delivered_at is None:
        return None
    if last is not None and found.delivered_at == last.result_at:
        return None
    sent_to = entry.target or found.bill_email
    followup_outcome(session.store, entry, result_to=sent_to, result_at=found.delivered_at)
    token = found.invoice.sync_token
    advance_sync_token(session.store, session.realm_id, entry.invoice_number, entry.qbo_id, token)
    message = "sent by an earlier, interrupted run (found in QuickBooks)"
    return SendResult(
        entry.invoice_number, "sent", entry.qbo_id, sent_to, found.delivered_at, message
    )
