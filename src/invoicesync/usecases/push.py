"""Push: create invoices at the target from source invoices, exactly once (docs/reliability.md).

`run_plan.plan()` decides everything the run would do, reading only; its frozen `RunPlan` is
what `--dry-run` shows (`preview`) and what `execute` carries out. This module runs the two
under the state lock (or the claims of a shared state).
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from invoicesync.errors import EXIT_INVALID_INPUT, EXIT_LOCKED, Interrupted, InvoiceSyncError
from invoicesync.ledger.capabilities import requests_of
from invoicesync.models import LocalInvoice
from invoicesync.store import runs
from invoicesync.usecases import credit, followup, prepare, push_execute, run_plan, update, void
from invoicesync.usecases.push_report import (
    NOT_ATTEMPTED,
    Decided,
    PushReport,
    PushResult,
    failed,
)
from invoicesync.usecases.run_plan import PushRequest, RunPlan, Selection, select_invoices
from invoicesync.usecases.session import NoProgress, Progress, Session

__all__ = ["Preview", "PushRequest", "Waiting", "execute", "preview", "push", "select_invoices"]


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
    store, realm = session.store, session.account
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
    linked = {ln.invoice_number for ln in session.store.links(session.account)}
    return [i for i in invoices if i.number not in linked]


def _wait_for_holders(
    session: Session, missing: list[LocalInvoice], run_id: str, wait: Waiting
) -> set[str]:
    """Wait up to `wait.seconds` for the runs holding `missing` to release them (or to die);
    returns the numbers this run then holds. Our own claims are renewed meanwhile."""
    store, realm = session.store, session.account
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
        session.store.release_claims(session.account, run_id)


def _lock(
    session: Session, request: PushRequest, shared: bool
) -> contextlib.AbstractContextManager[None]:
    """The app dir's lock, unless a shared state (claims instead). A real run's state exists
    from here on, so its origin goes into what it creates (store/origin.py)."""
    session.store.origin()
    if shared:
        return contextlib.nullcontext()
    return session.locked(request.wait)


def push(
    session: Session,
    invoices: Sequence[LocalInvoice],
    request: PushRequest,
    progress: Progress | None = None,
    notify: Callable[[str], None] | None = None,
) -> PushReport:
    """Plan, then execute: under the app dir's lock, or, with a shared state, holding a
    claim on each invoice so runs on other hosts work beside this one. `notify` hears what a
    person waiting should know (waiting for another run's claims). `preview` is the dry run."""
    selection = run_plan.select(session, invoices, request)
    order, results = list(selection.order), {d.invoice: d.result() for d in selection.decided}
    report = PushReport(session.account, False, [])
    shared = session.settings.state_url is not None
    run = runs.current()  # the command's run: its claims carry the run's id (store/runs.py)
    run_id = (run.run_id if run is not None else uuid.uuid4().hex) if shared else None
    with _lock(session, request, shared):
        try:
            if run_id is not None:
                held: dict[str, PushResult] = {}
                waiting = Waiting(request.wait, notify)
                _claim(session, list(selection.chosen), held, run_id, waiting)
                selection = selection.refuse(held)
            plan = run_plan.plan(session, invoices, request, selection, run_id=run_id)
            order = list(plan.order)
            _record_refusals(session, selection.decided)  # attachments, other runs' claims
            _record_refusals(session, plan.push.decided, "pre-flight")
            execute(session, plan, results, progress or NoProgress())
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


def execute(
    session: Session, plan: RunPlan, results: dict[str, PushResult], progress: Progress
) -> None:
    """Carry out `plan`, each outcome into `results` (the run's own, never the plan's): the
    creates and adoptions, attachments and sends, edits, voids, then the credits, which
    need the credit memos this run created."""
    for d in plan.decided:
        results[d.invoice] = d.result()
    push_execute.execute(session, plan.push, progress, results)
    followup.after_push(session, plan.chosen, results, plan.send, plan.send_unsent)
    update.execute(session, plan.edits, results)
    void.void_all(session, plan.voids, results)
    credit.apply_all(session, plan.credits, results)


@dataclass(frozen=True)
class Preview:
    """A dry run: the plan, or, when reading stopped (the target unavailable, Ctrl-C), how
    far it got and why."""

    account: str
    selection: Selection
    plan: RunPlan | None
    fatal: InvoiceSyncError | None = None

    @property
    def order(self) -> tuple[str, ...]:
        return self.plan.order if self.plan is not None else self.selection.order


def preview(session: Session, invoices: Sequence[LocalInvoice], request: PushRequest) -> Preview:
    """`push --dry-run`: the run's plan, for the CLI to render. Takes no lock, creates no
    state and writes nothing (docs/architecture.md, "How a push stays exactly-once")."""
    needs = prepare.plan_for_push(session, invoices, request).needs if request.prepare else ()
    selection = run_plan.select(session, invoices, request)
    try:
        plan = run_plan.plan(session, invoices, request, selection, prerequisites=needs)
    except InvoiceSyncError as exc:
        return Preview(session.account, selection, None, exc)
    except KeyboardInterrupt:
        stop = Interrupted("interrupted; state is consistent, re-run the command to continue")
        return Preview(session.account, selection, None, stop)
    return Preview(session.account, selection, plan)


# Where a refusal of the selection was decided, by its exit code.
_STAGES = {EXIT_LOCKED: "claim", EXIT_INVALID_INPUT: "attachments"}


def _record_refusals(session: Session, refused: Sequence[Decided], stage: str = "") -> None:
    """Refusals decided before anything was sent, in the invoices' history: the pre-flight's
    (a customer or item not found, a DocNumber taken), attachments the target would refuse,
    and invoices another live run holds (exit 9). Nothing was sent, so no journal row says why
    (docs/history.md)."""
    events = [
        (r.invoice, "refused", {"error": r.message, "exit_code": r.exit_code,
                                "problems": list(r.problems),
                                "stage": stage or _STAGES.get(r.exit_code, "selection")})
        for r in refused
        if r.status == "failed"
    ]  # fmt: skip
    if events:
        session.store.record_events(session.account, events)


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
        for e in store.journals.creates.entries(session.account, "pending")
        if e.invoice_number in wanted
    }
