"""Prepare: create the customers, services and terms a batch's invoices need and the target
lacks, exactly once like a push; list the tax codes it lacks (never created).

Each create is journaled with its `requestid` before it is sent. An outcome lost to a crash or
a dropped connection is settled by looking the name up (the target refuses a second record of
the same name anyway), first at once and otherwise on the next run, so re-running is always
safe. `--dry-run` shows the plan and its payloads and writes nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from invoicesync.errors import (
    EXIT_PREREQUISITE,
    EXIT_UNAVAILABLE,
    Interrupted,
    InvoiceSyncError,
    UsageError,
)
from invoicesync.ledger.base import Prerequisite
from invoicesync.ledger.capabilities import CreatesPrerequisites, Prerequisites, lacking
from invoicesync.models import LocalInvoice
from invoicesync.store import PrepareEntry
from invoicesync.usecases.journaled import Landed, Refused, Unknown, Write
from invoicesync.usecases.run_plan import PushRequest, select_invoices
from invoicesync.usecases.session import Session

# --only names → the ledger's kinds; tax codes are listed only when --only is not given.
ONLY = {"customers": "customer", "services": "service", "terms": "term"}
ALL_KINDS = ("customer", "service", "term", "tax code")


def parse_only(text: str | None) -> tuple[str, ...]:
    """`--only customers,terms` → the kinds to prepare."""
    if text is None:
        return ALL_KINDS
    parts = [p.strip() for p in text.split(",") if p.strip()]
    unknown = [p for p in parts if p not in ONLY]
    if unknown or not parts:
        raise UsageError(f"--only takes a comma-separated list of {', '.join(ONLY)}")
    return tuple(ONLY[p] for p in dict.fromkeys(parts))


@dataclass(frozen=True)
class PrepareRequest:
    numbers: Sequence[str] = ()
    all_: bool = False
    kinds: Sequence[str] = ALL_KINDS
    dry_run: bool = False
    since: date | None = None
    wait: float | None = None


@dataclass
class PrepareItem:
    """One missing name and what happened to it."""

    kind: str
    name: str
    invoices: tuple[str, ...]
    status: str  # would create, created, refused, failed, uncertain, set up by hand
    message: str | None = None
    payload: dict[str, Any] | None = None
    remote_id: str | None = None
    exit_code: int = 0


@dataclass
class PrepareReport:
    account: str
    dry_run: bool
    target: str  # the ledger's name, for messages
    items: list[PrepareItem] = field(default_factory=list)
    fatal: InvoiceSyncError | None = None

    @property
    def to_create(self) -> list[PrepareItem]:
        return [i for i in self.items if i.status == "would create"]

    def counts(self) -> dict[str, int]:
        return dict(Counter(x.status for x in self.items))

    @property
    def exit_code(self) -> int:
        if self.fatal is not None:
            return self.fatal.exit_code
        return max((i.exit_code for i in self.items), default=0)


def _item(need: Prerequisite, status: str, **kw: Any) -> PrepareItem:
    return PrepareItem(need.kind, need.name, need.invoices, status, payload=need.payload, **kw)


def planned(need: Prerequisite) -> PrepareItem:
    """A need as the plan shows it, before anything is sent."""
    if need.kind == "tax code":
        return _item(need, "set up by hand", message=need.refused, exit_code=EXIT_PREREQUISITE)
    if not need.creatable:
        return _item(need, "refused", message=need.refused, exit_code=EXIT_PREREQUISITE)
    return _item(need, "would create")


def request_id(account: str, need: Prerequisite, attempt: int) -> str:
    """Deterministic per name and attempt: a re-sent intent is replayed, never duplicated;
    an attempt after a refusal gets a fresh one."""
    key = "\x1f".join((account, need.kind, need.name, str(attempt)))
    return "prep-" + hashlib.sha256(key.encode()).hexdigest()[:27]


@dataclass(frozen=True)
class PreparePlan:
    """The names a batch lacks, read from the target before anything is created."""

    account: str
    target: str  # the ledger's name, for messages
    needs: tuple[Prerequisite, ...] = ()

    @property
    def items(self) -> list[PrepareItem]:
        return [planned(n) for n in self.needs]

    @property
    def to_create(self) -> tuple[Prerequisite, ...]:
        return tuple(n for n in self.needs if n.creatable)


def plan(
    session: Session, invoices: Sequence[LocalInvoice], request: PrepareRequest
) -> PreparePlan:
    """What the chosen invoices lack (reads only)."""
    if bool(request.numbers) == request.all_:
        raise UsageError("name the invoices to prepare for, or use --all (not both)")
    names = _names(session)
    chosen, _ = select_invoices(invoices, request.numbers, request.all_, request.since)
    needs = names.prerequisites(chosen, request.kinds) if chosen else []
    return PreparePlan(session.account, session.ledger.name, tuple(needs))


def prepare(
    session: Session,
    invoices: Sequence[LocalInvoice],
    request: PrepareRequest,
    *,
    confirmed: PreparePlan | None = None,
) -> PrepareReport:
    """Plan, then (unless a dry run) create under the state lock. With `confirmed` (what a
    person was shown and agreed to): only what it listed, if the target still lacks it."""
    if bool(request.numbers) == request.all_:
        raise UsageError("name the invoices to prepare for, or use --all (not both)")
    report = PrepareReport(session.account, request.dry_run, session.ledger.name)
    lock = contextlib.nullcontext() if request.dry_run else session.locked(request.wait)
    with lock:
        try:
            now = plan(session, invoices, request)
            if confirmed is not None:
                agreed = {(n.kind, n.name) for n in confirmed.to_create}
                now = replace(now, needs=tuple(n for n in now.needs if (n.kind, n.name) in agreed))
            report.items = now.items
            if not request.dry_run:
                execute(session, now, report)
        except InvoiceSyncError as exc:
            report.fatal = exc
        except KeyboardInterrupt:
            report.fatal = Interrupted(
                "interrupted; state is consistent, re-run the command to continue"
            )
    return report


def execute(session: Session, plan: PreparePlan, report: PrepareReport) -> None:
    """Create what the plan lists as creatable, each journaled first; each outcome replaces
    its planned item in `report` as it comes, so a stop leaves what was done."""
    failed = _settle_pending(session, plan.needs)
    for index, need in enumerate(plan.needs):
        if need.creatable:
            attempt = failed.get((need.kind, need.name), 0)
            report.items[index] = _create(session, need, attempt)


def _settle_pending(session: Session, needs: Sequence[Prerequisite]) -> dict[tuple[str, str], int]:
    """Close intents an earlier run left pending for names the target now has: that run's
    create went through and only its answer was lost. Returns each name's refused attempts."""
    wanted = {(n.kind, n.name) for n in needs}
    store = session.store
    failed: dict[tuple[str, str], int] = {}
    for entry in store.journals.prepare.entries(session.account):
        key = (entry.kind, entry.name)
        if entry.state == "failed":
            failed[key] = failed.get(key, 0) + 1
        if entry.state == "pending" and key not in wanted:
            need = Prerequisite(entry.kind, entry.name, ())
            found = _names(session).find_prerequisite(need)
            if found:
                store.journals.prepare.done(entry, found)
    return failed


def _create(session: Session, need: Prerequisite, attempt: int) -> PrepareItem:
    realm, ledger = session.account, session.ledger
    if not isinstance(ledger, CreatesPrerequisites):  # its needs are never creatable
        raise lacking(ledger, "creation of names")
    rid = request_id(realm, need, attempt)
    write = Write(
        session.store.journals.prepare,
        record=lambda _, remote_id: remote_id,
        lookup=lambda _: [_look_up(session, need)],
    )
    entry = PrepareEntry(realm, need.kind, need.name, rid, "pending", None, None)
    verdict = write.once(entry, lambda: ledger.create_prerequisite(need, rid))
    if isinstance(verdict, Refused):
        outcome = verdict.refusal
        return _item(need, "failed", message=outcome.message, exit_code=outcome.exit_code)
    if isinstance(verdict, Landed):
        return _item(need, "created", remote_id=verdict.record)
    cause = verdict.cause if isinstance(verdict, Unknown) else str(verdict.clash)
    return _item(
        need,
        "uncertain",
        message=f"the outcome is unknown ({cause}); re-run prepare, which looks the "
        "name up before creating anything",
        exit_code=EXIT_UNAVAILABLE,
    )


def _look_up(session: Session, need: Prerequisite) -> str | None:
    """After an uncertain create: the record, if it exists; None if we cannot tell yet."""
    with contextlib.suppress(InvoiceSyncError):
        return _names(session).find_prerequisite(need)
    return None


def _names(session: Session) -> Prerequisites:
    """The ledger as `Prerequisites`, or the plain refusal of a target without (exit 2)."""
    ledger = session.ledger
    if not isinstance(ledger, Prerequisites):
        raise lacking(ledger, "prerequisites")
    return ledger


def _for_push(push: PushRequest) -> PrepareRequest:
    return PrepareRequest(push.numbers, push.all_, since=push.since, wait=push.wait)


def plan_for_push(
    session: Session, invoices: Sequence[LocalInvoice], push: PushRequest
) -> PreparePlan:
    """What `push --prepare` would create for the invoices this push is about (reads only)."""
    return plan(session, invoices, _for_push(push))


def before_push(
    session: Session,
    invoices: Sequence[LocalInvoice],
    push: PushRequest,
    ask: Callable[[PreparePlan], bool],
) -> PrepareReport | None:
    """`push --prepare`, before the push: plan, let `ask` show the plan and say whether to go
    on (the CLI asks a person, or refuses without a terminal and `--yes`), then create what it
    listed, exactly once like `prepare`. None when there is nothing to create. A fatal error
    of the creates is the report's, for the caller to show what was created before raising."""
    shown = plan_for_push(session, invoices, push)
    if not ask(shown):
        raise UsageError("declined: nothing was created or pushed")
    if not shown.to_create:
        return None
    return prepare(session, invoices, _for_push(push), confirmed=shown)
