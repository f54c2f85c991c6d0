"""Push: create QuickBooks invoices from source invoices, exactly once (design §4.6).

`push_plan.plan()` resolves everything against the target and runs the duplicate guard,
reading only; its `PushPlan` is what `--dry-run` shows. `push_execute.execute()` journals and
sends the plan. This module chooses the invoices and runs the two under the state lock.
"""

from __future__ import annotations

import contextlib
import os
import platform
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from invoicesync.errors import Interrupted, InvoiceSyncError, UsageError
from invoicesync.models import LocalInvoice
from invoicesync.usecases import credit, followup, push_execute, push_plan, update, void
from invoicesync.usecases.push_report import PushReport, PushResult
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


def _release_dead_local_claims(session: Session) -> None:
    """A run on this machine that died (SIGKILL, a crash) holds its claims until they expire;
    its process is provably gone, so they are released now. Its journal intents stay, and the
    next plan treats them as uncertain outcomes (found by the guard and adopted, or re-sent
    under the same requestid). Claims from other machines expire after their TTL."""
    here = platform.node()
    for claim in session.store.claims(session.realm_id):
        host, _, pid = claim.holder.rpartition(":")
        if host == here and pid.isdigit() and not _alive(int(pid)):
            session.store.release_claims(session.realm_id, claim.run_id)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _claim(
    session: Session,
    chosen: Sequence[LocalInvoice],
    results: dict[str, PushResult],
    run_id: str,
) -> list[LocalInvoice]:
    """Claim the chosen invoices in the shared state; one another run holds is left to it."""
    _release_dead_local_claims(session)
    held = session.store.claim(session.realm_id, [i.number for i in chosen], run_id)
    if len(held) < len(chosen):
        holders = {c.invoice_number: c.holder for c in session.store.claims(session.realm_id)}
        for inv in chosen:
            if inv.number not in held:
                results[inv.number] = PushResult(
                    inv.number,
                    "skipped",
                    message=f"another run ({holders.get(inv.number) or 'on another host'}) is "
                    "pushing this invoice now; its link appears in the shared state",
                )
    return [i for i in chosen if i.number in held]


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
) -> PushReport:
    """Plan, then (unless a dry run) execute: under the app dir's lock, or, with a shared
    state, holding a claim on each invoice so runs on other hosts work beside this one."""
    chosen, skipped = select_invoices(invoices, request.numbers, request.all_, request.since)
    order = [r.invoice for r in skipped] + [i.number for i in chosen]
    results = {r.invoice: r for r in skipped}
    chosen = followup.refuse_bad_attachments(session, chosen, results)
    report = PushReport(session.realm_id, request.dry_run, [])
    shared = session.settings.state_url is not None and not request.dry_run
    run_id = uuid.uuid4().hex if shared else None
    with _lock(session, request, shared):
        try:
            if run_id is not None:
                chosen = _claim(session, chosen, results, run_id)
            plan = push_plan.plan(session, chosen, results, adopt_existing=request.adopt_existing)
            plan.run_id = run_id
            plan.batch = plan.batch or shared
            voids = void.targets(_cancelled(invoices, request), plan.links, session)
            order += [inv.number for inv, _ in voids if inv.number not in results]
            changed = plan.changed if request.update else []
            edits = update.plan(session, changed, results, force=request.force)
            if request.dry_run:
                plan.preview()
                update.preview(edits, results)
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
                session.store.release_claims(session.realm_id, run_id)
    for number in order:
        if number not in results:
            results[number] = PushResult(
                number, "failed", message="not attempted: the run stopped early; re-run to continue"
            )
            if report.fatal:
                results[number].exit_code = report.fatal.exit_code
    report.results = [results[n] for n in order]
    report.requests = dict(session.ledger.requests)
    return report
