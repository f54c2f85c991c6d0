"""Push, first half: the plan. Reads only (docs/architecture.md,
"How a push stays exactly-once").

Skips what is linked, pre-flights the rest against the target, and runs the duplicate guard:
an invoice the target already has is adopted (ours from an interrupted run, or with
`--adopt-existing`), refused as a conflict, or left to create. `--dry-run` is this plan shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from invoicesync.errors import EXIT_CONFLICT, EXIT_PREREQUISITE
from invoicesync.ledger.base import Draft, Problem, RemoteInvoice
from invoicesync.models import Link, LocalInvoice
from invoicesync.usecases.kinds import owner, owners
from invoicesync.usecases.push_report import PushResult, failed, linked_result, request_id
from invoicesync.usecases.session import Session


@dataclass(frozen=True)
class Adoption:
    """An existing target invoice that will be linked instead of creating one."""

    invoice: LocalInvoice
    remote: RemoteInvoice
    ours: bool  # carries our marker: created by an earlier run of ours
    request_id: str | None  # the pending journal entry this closes, if any
    copies: tuple[RemoteInvoice, ...] = ()  # other live records carrying the same marker
    changes: tuple[str, ...] | None = None  # how it differs from the source (None: unknown)


@dataclass
class PushPlan:
    """Everything a push will do, decided before anything is written."""

    realm_id: str
    results: dict[str, PushResult]  # decided already: skipped, failed
    target: str  # the ledger's name ("QuickBooks", "B2BRouter"), for messages
    adoptions: list[Adoption] = field(default_factory=list)
    creates: list[Draft] = field(default_factory=list)
    sends_numbers: bool = False
    batch: bool = False  # several invoices per request: only where no second writer can race
    generations: dict[str, int] = field(default_factory=dict)
    attempts: dict[str, int] = field(default_factory=dict)  # refusals of the current generation
    links: dict[str, Link] = field(default_factory=dict)
    changed: list[tuple[LocalInvoice, Link]] = field(default_factory=list)  # since last written
    run_id: str | None = None  # with a shared state: the claims this run holds
    origin: str | None = None  # this state's token, which our creates carry (store/origin.py)
    shared: bool = False  # the state is shared (PostgreSQL): "this machine" is any sharing it

    def request_id(self, number: str) -> str:
        gen = self.generations.get(number, 0)
        return request_id(self.realm_id, number, gen, self.attempts.get(number, 0))

    def preview(self) -> None:
        """Fill the results with what would happen (a dry run)."""
        for a in self.adoptions:
            inv, remote = a.invoice, a.remote
            self.results[inv.number] = PushResult(
                inv.number,
                "planned",
                remote.id,
                remote.doc_number,
                inv.total,
                inv.currency,
                message=f"would adopt the existing {self.target} {remote.ref.kind.label}",
                kind=remote.ref.kind,
            )
        for d in self.creates:
            inv = d.invoice
            self.results[inv.number] = PushResult(
                inv.number,
                "planned",
                doc_number=d.doc_number,
                total=inv.total,
                currency=inv.currency,
                payload=d.payload,
                message="would be created",
            )


def _skip_linked(
    chosen: Sequence[LocalInvoice], linked: dict[str, Link], plan: PushPlan
) -> list[LocalInvoice]:
    """The unlinked invoices; linked ones are skipped, or `changed` when the source content
    differs from what was last written (sent only with `--update`)."""
    todo = []
    for inv in chosen:
        link = linked.get(inv.number)
        if link is None:
            todo.append(inv)
            continue
        status, message = "skipped", f"already linked to {plan.target} {link.ref}"
        if link.fingerprint is not None and link.fingerprint != inv.fingerprint():
            status = "changed"
            message = "changed in the source since last written; `push --update` sends it"
            plan.changed.append((inv, link))
        plan.results[inv.number] = linked_result(link, status, message)
    return todo


def plan(
    session: Session,
    chosen: Sequence[LocalInvoice],
    results: dict[str, PushResult],
    *,
    adopt_existing: bool,
) -> PushPlan:
    realm = session.realm_id
    store = session.existing_store()
    linked = {ln.invoice_number: ln for ln in store.links(realm)} if store else {}
    result = PushPlan(realm, results, session.ledger.name, links=linked)
    result.origin = store.origin() if store else None
    result.shared = session.settings.state_url is not None
    todo = _skip_linked(chosen, linked, result)
    if not todo:
        return result
    prep = session.ledger.prepare(todo, result.origin)
    for inv in todo:
        problems = prep.problems.get(inv.number)
        if problems:
            texts = [p.text() for p in problems]
            message = f"{prep.heading}: " + "; ".join(texts) + _prepare_hint(inv, problems)
            results[inv.number] = failed(inv, EXIT_PREREQUISITE, message, texts)
    result.sends_numbers = prep.sends_numbers
    result.batch = prep.sends_numbers or session.settings.push.writers == "one"
    result.generations = store.generations(realm) if store else {}
    journal = store.journals.creates.entries(realm) if store else []
    pending = {e.invoice_number: e.request_id for e in journal if e.state == "pending"}
    for e in journal:
        if e.state == "failed" and e.generation == result.generations.get(e.invoice_number, 0):
            result.attempts[e.invoice_number] = result.attempts.get(e.invoice_number, 0) + 1
    _guard(session, result, prep.drafts, linked, pending, adopt_existing)
    return result


PREPARED = frozenset({"customer", "item", "term"})  # what `prepare` creates in QuickBooks


def _prepare_hint(inv: LocalInvoice, problems: Sequence[Problem]) -> str:
    """The next step when a name is simply absent: `prepare` creates it (a near match may be
    a typo instead, which the diagnostic's alias line covers)."""
    absent = [p for p in problems if p.kind in PREPARED and "not" in p.reason.split()]
    if not absent:
        return ""
    return (
        f"; if they are new, `invoicesync prepare {inv.number}` creates them (or `push --prepare`)"
    )


def _guard(
    session: Session,
    result: PushPlan,
    drafts: list[Draft],
    linked: dict[str, Link],
    pending: dict[str, str],
    adopt_existing: bool,
) -> None:
    """Find target invoices that already are (or claim) these invoices before creating any."""
    if not drafts:
        return
    found = session.ledger.find_existing(drafts, by_number=result.sends_numbers)
    owned = owners(linked.values())
    for draft in drafts:
        inv = draft.invoice
        seen = found.get(inv.number)
        if seen is None:
            result.creates.append(draft)
            continue
        hit = seen.remote
        ours = hit.marker == inv.number
        holder = owner(owned, hit.ref)
        if holder is not None:
            message = (
                f"{session.ledger.name} {hit.ref} (DocNumber {hit.doc_number}) is already linked "
                f"to {holder}"
            )
            result.results[inv.number] = failed(inv, EXIT_CONFLICT, message)
        elif ours or adopt_existing:
            rid = pending.get(inv.number)
            result.adoptions.append(Adoption(inv, hit, ours, rid, seen.copies, seen.changes))
        else:
            message = (
                f"DocNumber {inv.number} already belongs to {session.ledger.name} {hit.ref} "
                "created outside invoicesync; link it with `invoicesync link "
                f"{inv.number} {hit.id}` or re-run push with --adopt-existing"
            )
            result.results[inv.number] = failed(inv, EXIT_CONFLICT, message)
