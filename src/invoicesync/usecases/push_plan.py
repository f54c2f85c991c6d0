"""Push, first half: the plan of the creates. Reads only (docs/architecture.md,
"How a push stays exactly-once").

Skips what is linked, pre-flights the rest against the target, and runs the duplicate guard:
an invoice the target already has is adopted (ours from an interrupted run, or with
`--adopt-existing`), refused as a conflict, or left to create. The `PushPlan` is frozen: what
it decided is what `push_execute` carries out and what `--dry-run` shows (`run_plan`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from invoicesync.errors import EXIT_CONFLICT, EXIT_PREREQUISITE
from invoicesync.ledger.base import Draft, Problem, RemoteInvoice
from invoicesync.models import Link, LocalInvoice
from invoicesync.usecases.kinds import owner, owners
from invoicesync.usecases.push_report import Decided, failed, linked_result, request_id
from invoicesync.usecases.session import Session


def _empty() -> Mapping[str, Any]:
    return MappingProxyType({})


@dataclass(frozen=True)
class Adoption:
    """An existing target invoice that will be linked instead of creating one."""

    invoice: LocalInvoice
    remote: RemoteInvoice
    ours: bool  # carries our marker: created by an earlier run of ours
    request_id: str | None  # the pending journal entry this closes, if any
    copies: tuple[RemoteInvoice, ...] = ()  # other live records carrying the same marker
    changes: tuple[str, ...] | None = None  # how it differs from the source (None: unknown)


@dataclass(frozen=True)
class PushPlan:
    """Every create and adoption a push will do, decided before anything is written."""

    account: str
    target: str  # the ledger's name, for messages
    decided: tuple[Decided, ...] = ()  # settled already: skipped, changed, refused
    adoptions: tuple[Adoption, ...] = ()
    creates: tuple[Draft, ...] = ()
    sends_numbers: bool = False
    batch: bool = False  # several invoices per request: only where no second writer can race
    generations: Mapping[str, int] = field(default_factory=_empty)
    attempts: Mapping[str, int] = field(default_factory=_empty)  # refusals, this generation
    links: Mapping[str, Link] = field(default_factory=_empty)
    changed: tuple[tuple[LocalInvoice, Link], ...] = ()  # since last written
    run_id: str | None = None  # with a shared state: the claims this run holds
    origin: str | None = None  # this state's token, which our creates carry (store/origin.py)
    shared: bool = False  # the state is shared (PostgreSQL): "this machine" is any sharing it

    def request_id(self, number: str) -> str:
        gen = self.generations.get(number, 0)
        return request_id(self.account, number, gen, self.attempts.get(number, 0))


@dataclass
class _Draft:
    """The plan while it is built; frozen into a `PushPlan` when done."""

    decided: list[Decided]
    adoptions: list[Adoption]
    creates: list[Draft]
    changed: list[tuple[LocalInvoice, Link]]


def _skip_linked(
    chosen: Sequence[LocalInvoice], linked: Mapping[str, Link], target: str, out: _Draft
) -> list[LocalInvoice]:
    """The unlinked invoices; linked ones are skipped, or `changed` when the source content
    differs from what was last written (sent only with `--update`)."""
    todo = []
    for inv in chosen:
        link = linked.get(inv.number)
        if link is None:
            todo.append(inv)
            continue
        status, message = "skipped", f"already linked to {target} {link.ref}"
        if link.fingerprint is not None and link.fingerprint != inv.fingerprint():
            status = "changed"
            message = "changed in the source since last written; `push --update` sends it"
            out.changed.append((inv, link))
        out.decided.append(Decided.of(linked_result(link, status, message)))
    return todo


def plan(
    session: Session,
    chosen: Sequence[LocalInvoice],
    *,
    adopt_existing: bool,
    run_id: str | None = None,
) -> PushPlan:
    realm, target = session.account, session.ledger.name
    store = session.existing_store()
    linked = {ln.invoice_number: ln for ln in store.links(realm)} if store else {}
    origin = store.origin() if store else None
    shared = session.settings.state_url is not None
    out = _Draft([], [], [], [])
    todo = _skip_linked(chosen, linked, target, out)
    base = PushPlan(
        realm, target, run_id=run_id, origin=origin, shared=shared, links=MappingProxyType(linked)
    )
    if not todo:
        return replace(base, decided=tuple(out.decided), changed=tuple(out.changed))
    prep = session.ledger.prepare(todo, origin)
    for inv in todo:
        problems = prep.problems.get(inv.number)
        if problems:
            texts = [p.text() for p in problems]
            message = f"{prep.heading}: " + "; ".join(texts) + _prepare_hint(inv, problems)
            out.decided.append(Decided.of(failed(inv, EXIT_PREREQUISITE, message, texts)))
    generations = store.generations(realm) if store else {}
    journal = store.journals.creates.entries(realm) if store else []
    pending = {e.invoice_number: e.request_id for e in journal if e.state == "pending"}
    attempts: dict[str, int] = {}
    for e in journal:
        if e.state == "failed" and e.generation == generations.get(e.invoice_number, 0):
            attempts[e.invoice_number] = attempts.get(e.invoice_number, 0) + 1
    _guard(session, out, prep.drafts, linked, pending, adopt_existing, prep.sends_numbers)
    batch = prep.sends_numbers or session.settings.push.writers == "one" or shared
    return replace(
        base,
        decided=tuple(out.decided),
        adoptions=tuple(out.adoptions),
        creates=tuple(out.creates),
        sends_numbers=prep.sends_numbers,
        batch=batch,
        generations=MappingProxyType(dict(generations)),
        attempts=MappingProxyType(attempts),
        changed=tuple(out.changed),
    )


PREPARED = frozenset({"customer", "item", "term"})  # the names `prepare` can create


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
    out: _Draft,
    drafts: list[Draft],
    linked: Mapping[str, Link],
    pending: Mapping[str, str],
    adopt_existing: bool,
    by_number: bool,
) -> None:
    """Find target invoices that already are (or claim) these invoices before creating any."""
    if not drafts:
        return
    found = session.ledger.find_existing(drafts, by_number=by_number)
    owned = owners(linked.values())
    for draft in drafts:
        inv = draft.invoice
        seen = found.get(inv.number)
        if seen is None:
            out.creates.append(draft)
            continue
        hit = seen.remote
        ours = hit.marker == inv.number
        holder = owner(owned, hit.ref)
        if holder is not None:
            message = (
                f"{session.ledger.name} {hit.ref} (DocNumber {hit.doc_number}) is already linked "
                f"to {holder}"
            )
            out.decided.append(Decided.of(failed(inv, EXIT_CONFLICT, message)))
        elif ours or adopt_existing:
            rid = pending.get(inv.number)
            out.adoptions.append(Adoption(inv, hit, ours, rid, seen.copies, seen.changes))
        else:
            message = (
                f"DocNumber {inv.number} already belongs to {session.ledger.name} {hit.ref} "
                "created outside invoicesync; link it with `invoicesync link "
                f"{inv.number} {hit.id}` or re-run push with --adopt-existing"
            )
            out.decided.append(Decided.of(failed(inv, EXIT_CONFLICT, message)))
