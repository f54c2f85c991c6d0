"""One plan for a whole push run: everything it would do, decided before anything is written.

`plan()` only reads (the source, the state, the target). It returns a frozen `RunPlan`: the
creates and adoptions of `push_plan`, the edits of `--update`, the voids of cancelled
invoices, the credit notes to apply, the names `--prepare` would create, the invoices `--send`
would e-mail, and every result it settled without a write (skipped, changed, refused).
`push --dry-run` renders this plan (cli/plan_views.py); a real run hands the same plan to
`push.execute`, which never asks whether it is a dry run.

Two things are settled only when they are carried out, because they depend on what the run
has done by then: the amount of a credit applied to a credit memo this run creates (read from
the target just before it is applied, the credit memo being the guard), and which earlier,
unsent invoices `--send-unsent` sends (read from the journal after the creates).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date

from invoicesync.errors import UsageError
from invoicesync.ledger.base import Prerequisite
from invoicesync.ledger.capabilities import follow_ups
from invoicesync.models import LocalInvoice
from invoicesync.usecases import credit, followup, push_plan, update, void
from invoicesync.usecases.credit import PlannedCredit
from invoicesync.usecases.push_plan import PushPlan
from invoicesync.usecases.push_report import Decided, PushResult
from invoicesync.usecases.session import Session
from invoicesync.usecases.update import Change
from invoicesync.usecases.void import PlannedVoid


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
    dry_run: bool = False  # the CLI renders the plan instead of carrying it out
    adopt_existing: bool = False
    wait: float | None = None
    send: bool = False  # the target sends each invoice right after creating it
    update: bool = False  # send source edits and cancellations of linked invoices
    force: bool = False  # with update: overwrite what changed at the target
    send_unsent: bool = False  # with or without send: also what we created earlier, never sent
    prepare: bool = False  # first create the names the invoices need (`prepare.before_push`)

    def __post_init__(self) -> None:
        if self.force and not self.update:
            raise UsageError("--force goes with --update")


@dataclass(frozen=True)
class Selection:
    """The invoices a run is about: those it pushes, and those it settled without reading the
    target (named but not pushable, attachments the target would refuse, held by another run)."""

    chosen: tuple[LocalInvoice, ...]
    decided: tuple[Decided, ...] = ()
    order: tuple[str, ...] = ()  # every invoice reported on, in the source's order

    def refuse(self, results: dict[str, PushResult]) -> Selection:
        """The selection less the invoices `results` settled (in `results`' order)."""
        if not results:
            return self
        left = tuple(i for i in self.chosen if i.number not in results)
        return replace(self, chosen=left, decided=self.decided + _frozen(results))


def _frozen(results: dict[str, PushResult]) -> tuple[Decided, ...]:
    return tuple(Decided.of(r) for r in results.values())


@dataclass(frozen=True)
class RunPlan:
    """Everything one push run would do. Frozen, and its collections are tuples or read-only
    mappings: the plan that was shown is the plan that is carried out."""

    account: str
    target: str  # the ledger's name, for messages
    order: tuple[str, ...]
    chosen: tuple[LocalInvoice, ...]
    decided: tuple[Decided, ...]  # in the order decided: a later one for an invoice wins
    push: PushPlan  # creates, adoptions, and the refusals of the pre-flight and the guard
    edits: tuple[Change, ...] = ()
    voids: tuple[PlannedVoid, ...] = ()
    credits: tuple[PlannedCredit, ...] = ()
    prerequisites: tuple[Prerequisite, ...] = ()  # with --prepare, as the target stands now
    sends: tuple[str, ...] = ()  # with --send: the invoices e-mailed once created
    send: bool = False
    send_unsent: bool = False


def select(session: Session, invoices: Sequence[LocalInvoice], request: PushRequest) -> Selection:
    """The chosen invoices and those settled from the source alone (reads local files)."""
    chosen, skipped = select_invoices(invoices, request.numbers, request.all_, request.since)
    order = tuple(r.invoice for r in skipped) + tuple(i.number for i in chosen)
    results = {r.invoice: r for r in skipped}
    if request.send or request.send_unsent:
        follow_ups(session.ledger, "send")  # a target without says so before anything is sent
    kept = followup.refuse_bad_attachments(session, chosen, results)
    return Selection(tuple(kept), _frozen(results), order)


def cancelled(invoices: Sequence[LocalInvoice], request: PushRequest) -> list[LocalInvoice]:
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


def plan(
    session: Session,
    invoices: Sequence[LocalInvoice],
    request: PushRequest,
    selection: Selection,
    *,
    run_id: str | None = None,
    prerequisites: Sequence[Prerequisite] = (),
) -> RunPlan:
    """Everything the run would do, read from the state and the target; writes nothing.
    `selection` is `select()`'s, less what another run holds (claims are taken before the
    plan, so that it sees the links that run made)."""
    pushes = push_plan.plan(
        session, selection.chosen, adopt_existing=request.adopt_existing, run_id=run_id
    )
    decided = selection.decided + pushes.decided
    settled = {d.invoice for d in decided}
    to_void = void.targets(cancelled(invoices, request), pushes.links, session)
    order = selection.order + tuple(i.number for i, _ in to_void if i.number not in settled)
    changed = pushes.changed if request.update else ()
    edits, refused = update.plan(session, changed, force=request.force)
    voids = []
    for inv, link in to_void:
        step = void.plan_void(session, inv, link, reason=void.SOURCE_REASON)
        if isinstance(step, Decided):
            refused += (step,)
        else:
            voids.append(step)
    sends = tuple(d.number for d in pushes.creates) if request.send else ()
    return RunPlan(
        session.account,
        session.ledger.name,
        order,
        selection.chosen,
        decided + refused,
        pushes,
        edits,
        tuple(voids),
        credit.plan(session, selection.chosen),
        tuple(prerequisites),
        sends,
        request.send,
        request.send_unsent,
    )
