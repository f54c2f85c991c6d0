"""Push: create QuickBooks invoices from source invoices, exactly once (design §4.6).

`push_plan.plan()` resolves everything against the target and runs the duplicate guard,
reading only; its `PushPlan` is what `--dry-run` shows. `push_execute.execute()` journals and
sends the plan. This module chooses the invoices and runs the two under the state lock.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from invoicesync.errors import Interrupted, InvoiceSyncError, UsageError
from invoicesync.models import LocalInvoice
from invoicesync.usecases import credit, push_execute, push_plan, update, void
from invoicesync.usecases.push_report import PushReport, PushResult
from invoicesync.usecases.session import NoProgress, Progress, Session


def select_invoices(
    invoices: Sequence[LocalInvoice], numbers: Sequence[str], all_: bool, since: date | None
) -> tuple[list[LocalInvoice], list[PushResult]]:
    """The invoices a push is about, and the named ones it skips (drafts, cancelled)."""
    if bool(numbers) == all_:
        raise UsageError("name the invoices to push, or use --all (not both)")
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
    update: bool = False  # send source edits and cancellations of linked invoices
    force: bool = False  # with update: overwrite what changed in QuickBooks


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


def push(
    session: Session,
    invoices: Sequence[LocalInvoice],
    request: PushRequest,
    progress: Progress | None = None,
) -> PushReport:
    """Plan, then (unless a dry run) execute under the state lock."""
    chosen, skipped = select_invoices(invoices, request.numbers, request.all_, request.since)
    order = [r.invoice for r in skipped] + [i.number for i in chosen]
    results = {r.invoice: r for r in skipped}
    report = PushReport(session.realm_id, request.dry_run, [])
    lock = contextlib.nullcontext() if request.dry_run else session.locked(request.wait)
    with lock:
        try:
            plan = push_plan.plan(session, chosen, results, adopt_existing=request.adopt_existing)
            voids = void.targets(_cancelled(invoices, request), plan.links, session)
            order += [inv.number for inv, _ in voids if inv.number not in results]
            changed = plan.changed if request.update else []
            edits = update.plan(session, changed, results, force=request.force)
            if request.dry_run:
                plan.preview()
                update.preview(edits, results)
            else:
                push_execute.execute(session, plan, progress or NoProgress())
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
