"""Push: create QuickBooks invoices from source invoices, exactly once (docs/reliability.md).

`push_plan.plan()` resolves everything against the target and runs the duplicate guard,
reading only; its `PushPlan` is what `--dry-run` shows. `push_execute.execute()` journals and
sends the plan. This module chooses the invoices and runs the two under the state lock.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from invoicesync.errors import EXIT_LOCKED, Interrupted, InvoiceSyncError, UsageError
from invoicesync.ledger.capabilities import follow_ups, requests_of
from invoicesync.models import LocalInvoice
from invoicesync.store import runs
from invoicesync.usecases import credit, followup, push_execute, push_plan, update, void
from invoicesync.usecases.push_report import PushReport, PushResult, failed
from invoicesync.usecases.session import NoProgress, Progress, Session


def select_invoices(
    invoices: Sequence[LocalInvoice], numbers: Sequence[str], all_: bool, since: date | None
) -> tuple[list[LocalInvoice], list[PushResult]]:
    """The invoices a push is about, and the named ones it skips (drafts, cancelled)."""
    if bool(numbers) == all_:
        wrong = "give invoice numbers or --all, not both" if all_ else "name the invoices to push"
        raise UsageError(f"{wrong}: `invoicesync push INV-1 INV-2` or `invoicesync push --all`")
    if all_:
        chosen = [i for i in invoices if i.pushable and (since is None or i.issue_date >= since)]
        return chosen, []
    by_number = {i.number: i for i in invoices}
    unknown = [n for n in numbers if n not in by_number]
    if unknown:
        raise UsageError(
            f"not in the source: {', '.join(unknown)}; `invoicesync invoices` lists what is there"
        )
    chosen, skipped = [], []
    for number in dict.fromkeys(numbers):
        inv = by_number[number]
        if inv.pushable:
            chosen.append(inv)
        else:
            skipped.append(
                PushResult(
                    number,
                    "skipped",
                    total=inv.total,
                    currency=inv.currency,
                    message=f"status is {inv.status}; only sent or paid invoices are pushed",
                )
            )
    return chosen, skipped


@dataclass(frozen=True)
class PushRequest:
    numbers: Sequence[str] = ()
    all_: bool = False
    since: date | None = None
    dry_run: bool = False
    adopt_existing: bool = False
    wait: float | None = None
    send: bool = False  # e-mail each invoice from QuickBooks right after creating it
    update: bool = False  # send source edits and cancellations of linked invoices
    force: bool = False  # with update: overwrite what changed in QuickBooks
    send_unsent: bool = False  # with or without send: also what we created earlier, never sent

    def __post_init__(self) -> None:
        if self.force and not self.update:
            raise UsageError("--force goes with --update")


def _cancelled(invoices: Sequence[LocalInvoice], request: PushRequest) -> list[LocalInvoice]:
    """With `--update`: the selected invoices whose source status is `cancelled` (to void)."""
    if not request.update:
        return []
    named = set(request.numbers)
    return [
        i
        for i in invoices
        if i.status == "cancelled"
        and (
            i.number in named
            or (request.all_ and (not request.since or i.issue_date >= request.since))
        )
    ]


@dataclass(frozen=True)
class Waiting:
    """`--wait`: how long to wait for another run's claims, and whom to tell that we wait."""

    seconds: float | None = None
    notify: Callable[[str], None] | None = None


# Seconds between looks at the claims while waiting: short beside any push, long beside a
# claim statement. Module globals so a test can stand in for the clock.
WAIT_STEP = 0.5
_pause = time.sleep
_now = time.monotonic


def _claim(
    session: Session,
    chosen: Sequence[LocalInvoice],
    results: dict[str, PushResult],
    run_id: str,
    wait: Waiting,
) -> list[LocalInvoice]:
    """Claim the chosen invoices in the shared state. One another live run holds is not done
    here, which is not success: with `--wait`, wait for that run to finish; what it
    still holds then fails with exit 9 and who holds it. One it holds but has linked already
    goes on to the plan, which skips it as linked. A dead run's claims (its database session
    is gone) the store hands over at once."""
    store, realm = session.store, session.realm_id
    held = store.claim(realm, [i.number for i in chosen], run_id)
    missing = _unlinked(session, [i for i in chosen if i.number not in held])
    if missing and wait.seconds:
        held |= _wait_for_holders(session, missing, run_id, wait)
        missing = _unlinked(session, [i for i in missing if i.number not in held])
    if missing:
        holders = {c.invoice_number: c.holder for c in store.claims(realm)}
        waited = f" (waited {wait.seconds:g} s)" if wait.seconds else ""
        for inv in missing:
            who = holders.get(inv.number) or "on another host"
            message = (
                f"another run ({who}) is pushing this invoice now{waited}; its link "
                "appears in the shared state: re-run when it is done, or with --wait SECONDS"
            )
            results[inv.number] = failed(inv, EXIT_LOCKED, message)
    left = {i.number for i in missing}
    return [i for i in chosen if i.number not in left]


def _unlinked(session: Session, invoices: list[LocalInvoice]) -> list[LocalInvoice]:
    if not invoices:
        return []
    linked = {ln.invoice_number for ln in session.store.links(session.realm_id)}
    return [i for i in invoices if i.number not in linked]


def _wait_for_holders(
    session: Session, missing: list[LocalInvoice], run_id: str, wait: Waiting
) -> set[str]:
    """Wait up to `wait.seconds` for the runs holding `missing` to release them (or to die);
    returns the numbers this run then holds. Our own claims are renewed meanwhile."""
    store, realm = session.store, session.realm_id
    holders = sorted({c.holder for c in store.claims(realm) if c.run_id != run_id})
    if wait.notify is not None:
        wait.notify(
            f"waiting up to {wait.seconds:g} s for another run "
            f"({', '.join(holders) or 'unknown'}) holding {len(missing)} of these invoices"
        )
    deadline = _now() + (wait.seconds or 0)
    todo, got = [i.number for i in missing], set[str]()
    while todo and _now() < deadline:
        _pause(min(WAIT_STEP, max(deadline - _now(), 0)))
        store.renew_claims(realm, run_id)
        got |= store.claim(realm, todo, run_id)
        todo = [n for n in todo if n not in got]
    return got


def _release(session: Session, run_id: str) -> None:
    """Release this run's claims on every way out. When the database is what failed (exit 7),
    this is best effort: the claims ended with the session anyway (store/postgres.py)."""
    with contextlib.suppress(InvoiceSyncError):
        session.store.release_claims(session.realm_id, run_id)


def _lock(
    session: Session, request: PushRequest, shared: bool
) -> contextlib.AbstractContextManager[None]:
    """The app dir's lock, unless a dry run or a shared state (claims instead). A real run's
    state exists from here on, so its origin goes into what it creates (store/origin.py)."""
    if not request.dry_run:
        session.store.origin()
    if request.dry_run or shared:
        return contextlib.nullcontext()
    return session.locked(request.wait)


def push(
    session: Session,
    invoices: Sequence[LocalInvoice],
    request: PushRequest,
    progress: Progress | None = None,
    notify: Callable[[str], None] | None = None,
) -> PushReport:
    """Plan, then (unless a dry run) execute: under the app dir's lock, or, with a shared
    state, holding a claim on each invoice so runs on other hosts work beside this one.
    `notify` hears what a person waiting should know (waiting for another run's claims)."""
    chosen, skipped = select_invoices(invoices, request.numbers, request.all_, request.since)
    order = [r.invoice for r in skipped] + [i.number for i in chosen]
    results = {r.invoice: r for r in skipped}
    if request.send or request.send_unsent:
        follow_ups(session.ledger, "send")  # a target without says so before anything is sent
    chosen = followup.refuse_bad_attachments(session, chosen, results)
    report = PushReport(session.realm_id, request.dry_run, [])
    shared = session.settings.state_url is not None and not request.dry_run
    run = runs.current()  # the command's run: its claims carry the run's id (store/runs.py)
    run_id = (run.run_id if run is not None else uuid.uuid4().hex) if shared else None
    with _lock(session, request, shared):
        try:
            if run_id is not None:
                waiting = Waiting(request.wait, notify)
                chosen = _claim(session, chosen, results, run_id, waiting)
            before = set(results)
            plan = push_plan.plan(session, chosen, results, adopt_existing=request.adopt_existing)
            if not request.dry_run:
                _record_refusals(session, [results[n] for n in results if n not in before])
            plan.run_id = run_id
            plan.batch = plan.batch or shared
            voids = void.targets(_cancelled(invoices, request), plan.links, session)
            order += [inv.number for inv, _ in voids if inv.number not in results]
            changed = plan.changed if request.update else []
            edits = update.plan(session, changed, results, force=request.force)
            if request.dry_run:
                plan.preview()
                update.preview(session.ledger.name, edits, results)
            else:
                push_execute.execute(session, plan, progress or NoProgress())
                followup.after_push(session, chosen, results, request.send, request.send_unsent)
                update.execute(session, edits, results)
            void.void_all(
                session, voids, results, reason=void.SOURCE_REASON, dry_run=request.dry_run
            )
            credit.apply_all(session, chosen, results, dry_run=request.dry_run)
        except InvoiceSyncError as exc:
            report.fatal = exc
        except KeyboardInterrupt:  # Ctrl-C or SIGTERM: what was done is recorded; say so
            report.fatal = Interrupted(
                "interrupted; state is consistent, re-run the command to continue"
            )
        finally:
            if run_id is not None:
                _release(session, run_id)
    return _finished(session, report, order, results)


def _record_refusals(session: Session, refused: Sequence[PushResult]) -> None:
    """The pre-flight's refusals (a customer or item not found, a DocNumber taken) in the
    invoices' history: nothing was sent, so no journal row says why (docs/history.md)."""
    events = [
        (r.invoice, "refused", {"error": r.message, "exit_code": r.exit_code,
                                "problems": list(r.problems), "stage": "pre-flight"})
        for r in refused
        if r.status == "failed"
    ]  # fmt: skip
    session.store.record_events(session.realm_id, events)


NOT_ATTEMPTED = "the run stopped before it; re-run to continue"
UNKNOWN_IF_SENT = (
    "the state was lost while the run was at work, so whether its create was sent is unknown; "
    "the next run finds it in the target if it was, never creating it twice"
)
IN_FLIGHT = (
    "its create was in flight when the run stopped; the next run finds it in the target and "
    "links it, never creating it twice"
)


def _finished(
    session: Session, report: PushReport, order: list[str], results: dict[str, PushResult]
) -> PushReport:
    """The report in the source's order, every invoice with a result. One a fatal error (or
    Ctrl-C) left is `not attempted`, or `interrupted` when its create was journaled and sent
    but its answer never read: neither is a failure of that invoice."""
    left = [n for n in order if n not in results]
    unknown = ""
    try:
        in_flight = _in_flight(session, left) if left else set()
    except InvoiceSyncError:  # the state itself was lost: which creates were sent is unknown
        in_flight, unknown = set(left), UNKNOWN_IF_SENT
    for number in left:
        if number in in_flight:
            results[number] = PushResult(number, "interrupted", message=unknown or IN_FLIGHT)
        else:
            results[number] = PushResult(number, "not attempted", message=NOT_ATTEMPTED)
        if report.fatal:
            results[number].exit_code = report.fatal.exit_code
    report.results = [results[n] for n in order]
    report.requests = requests_of(session.ledger)
    return report


def _in_flight(session: Session, numbers: Sequence[str]) -> set[str]:
    """Which of these numbers have a create journaled and still pending (sent, or about to be,
    when the run stopped)."""
    store = session.existing_store()
    if store is None:
        return set()
    wanted = set(numbers)
    return {
        e.invoice_number
        for e in store.journal(session.realm_id, "pending")
        if e.invoice_number in wanted
    }
