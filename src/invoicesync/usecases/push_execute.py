"""Push, second half: journal, then send (docs/architecture.md,
"How a push stays exactly-once").

Only HTTP runs in worker threads. Journal intents are committed on the main thread before a
chunk is submitted, and outcomes are applied on the main thread, so the store's connection
stays on one thread and a crash at any point leaves a journal the next run can resolve.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from invoicesync.errors import EXIT_CONFLICT, EXIT_PARTIAL, EXIT_UNAVAILABLE, InvoiceSyncError
from invoicesync.ledger.base import (
    Checked,
    Created,
    Draft,
    Gone,
    Refusal,
    RemoteInvoice,
    Unanswered,
    Uncertain,
)
from invoicesync.models import DocKind, LocalInvoice
from invoicesync.store import JournalEntry, LinkExists
from invoicesync.usecases.push_plan import Adoption, PushPlan
from invoicesync.usecases.push_report import (
    PushResult,
    check_total,
    copies_note,
    failed,
    link_from,
    linked_result,
    made_by,
)
from invoicesync.usecases.session import Progress, Session

WORKERS = 4  # requests in flight; QuickBooks allows 10 concurrent per company
# Single creates sent while the batch budget is used up: more in flight to use the 500 a minute,
# still under the 10 concurrent (the limiter enforces that across processes).
WORKERS_MIXED = 8

Outcomes = Mapping[str, Created]


class Executor:
    """Carries out one frozen `PushPlan`; what happened goes into the run's own `results`."""

    def __init__(
        self,
        session: Session,
        plan: PushPlan,
        progress: Progress,
        results: dict[str, PushResult],
    ) -> None:
        self.session = session
        self.ledger = session.ledger
        self.store = session.store
        self.plan = plan
        self.realm = plan.realm_id
        self.results = results
        self.progress = progress

    def run(self) -> None:
        for adoption in self.plan.adoptions:
            self.adopt(adoption)
        drafts = self.plan.creates
        if not drafts:
            return
        self.progress.start(len(drafts), "Pushing invoices")
        # Outcomes commit in groups; each intent is committed before its request leaves, so a
        # crash loses only outcomes the next run's lookup recovers (store.contract).
        with self.store.grouped():
            self.create_all(deque(drafts))

    def take(self, queue: deque[Draft], in_flight: Sequence[list[Draft]]) -> list[Draft] | None:
        """The invoices of the next request, or None while enough are in flight. Without
        batching: up to 30 single creates and their one copy check, four such in flight. With
        batching: a batch of up to 30, four in flight, unless the 40 batches a minute are what
        holds it back; then one single create, eight in flight, which uses the rest of
        QuickBooks' 500 requests a minute (1,660 invoices a minute instead of 1,200)."""
        size, limit = self.ledger.batch_size, WORKERS
        if self.plan.batch and len(queue) > 1:
            batches = sum(len(c) > 1 for c in in_flight)
            if self.ledger.batch_held(batches):
                size, limit = 1, WORKERS_MIXED
        if len(in_flight) >= limit:
            return None
        return [queue.popleft() for _ in range(min(size, len(queue)))]

    def adopt(self, a: Adoption) -> None:
        """Link an existing target invoice, closing the journal entry it answers, if any."""
        inv = a.invoice
        link = link_from(inv, self.realm, a.remote, "pushed" if a.ours else "linked")
        try:
            self.store.add_link(
                link,
                request_id=a.request_id,
                event={"qbo_id": link.qbo_id, "adopted": True, "ours": a.ours},
            )
        except LinkExists:
            self._fail(inv, EXIT_CONFLICT, f"{self.ledger.name} {link.ref} is already linked")
            return
        plan, pending = self.plan, a.request_id is not None
        if a.ours:
            why = made_by(a.remote, plan.origin, shared=plan.shared, pending=pending) + "; linked"
        else:
            why = "made outside invoicesync; linked as asked (--adopt-existing)"
        result = linked_result(link, "adopted", why)
        if a.copies:
            note, attention = copies_note(
                self.ledger.name,
                inv,
                a.copies,
                plan.origin,
                shared=plan.shared,
                pending=pending,
            )
            if attention:
                result.message = f"{why}; {note}"
                result.exit_code = EXIT_PARTIAL  # a person must look: not a silent success
            else:
                result.warnings.append(note)
        if a.changes:
            result.warnings.append("differs from the source: " + "; ".join(a.changes))
        if a.remote.voided:
            result.warnings.append(f"{self.ledger.name} {link.ref} is VOIDED: check it there")
        check_total(self.ledger.name, inv, link, result)
        self.results[inv.number] = result

    def create_all(self, queue: deque[Draft]) -> None:
        """Send with bounded concurrency; stop submitting at the first fatal error."""
        in_flight: dict[Future[Outcomes], tuple[list[Draft], dict[str, str]]] = {}
        fatal: BaseException | None = None
        with ThreadPoolExecutor(max_workers=WORKERS_MIXED) as pool:
            while queue or in_flight:
                while queue and fatal is None:
                    taken = self.take(queue, [c for c, _ in in_flight.values()])
                    if taken is None:
                        break
                    chunk = self.still_claimed(taken)
                    if not chunk:
                        continue
                    rids = self.journal(chunk)
                    task = pool.submit(self._create, chunk, rids)
                    in_flight[task] = (chunk, rids)
                if not in_flight:
                    break
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in done:
                    chunk, rids = in_flight.pop(future)
                    try:
                        outcomes = future.result()
                    except Uncertain as exc:
                        # The creates may have happened; the client already retried with the
                        # same requestid. Look the invoices up before saying anything.
                        self.resolve_uncertain(chunk, rids, str(exc))
                    except BaseException as exc:
                        fatal = fatal or exc
                    else:
                        self.apply(chunk, outcomes, rids)
                    self.progress.advance(len(chunk))
        if fatal is not None:
            raise fatal

    def _create(self, chunk: Sequence[Draft], rids: Mapping[str, str]) -> Outcomes:
        return self.ledger.create(chunk, rids, batch=self.plan.batch)

    def still_claimed(self, chunk: list[Draft]) -> list[Draft]:
        """With a shared state: renew this run's claims and send only what it still holds (a
        claim that expired while the run stalled may have been taken over elsewhere)."""
        if self.plan.run_id is None:
            return chunk
        held = self.store.renew_claims(self.realm, self.plan.run_id)
        for d in chunk:
            if d.number not in held:
                message = "its claim expired and another run took it over; re-run to see its link"
                self._fail(d.invoice, EXIT_UNAVAILABLE, message)
        return [d for d in chunk if d.number in held]

    def journal(self, chunk: Sequence[Draft]) -> dict[str, str]:
        """Commit the intents of a chunk before it is sent."""
        entries = []
        for d in chunk:
            gen = self.plan.generations.get(d.number, 0)
            rid = self.plan.request_id(d.number)
            entries.append(
                JournalEntry(
                    self.realm,
                    d.number,
                    gen,
                    rid,
                    "pending",
                    d.doc_number,
                    None,
                    None,
                    kind=DocKind.of(d.invoice),
                )
            )
        self.store.journal_intents(entries)
        return {e.invoice_number: e.request_id for e in entries}

    def apply(self, chunk: Sequence[Draft], outcomes: Outcomes, rids: Mapping[str, str]) -> None:
        open_: list[Draft] = []
        reasons: dict[str, None] = {}
        for d in chunk:
            outcome = outcomes[d.number]
            if isinstance(outcome, Refusal):
                self.refused(d.invoice, outcome, rids[d.number])
            elif isinstance(outcome, Checked):
                self.checked(d.invoice, outcome, rids[d.number])
            elif isinstance(outcome, Unanswered):
                open_.append(d)
                reasons[outcome.reason] = None
            else:
                self.record(d.invoice, outcome, rids[d.number])
        if open_:
            self.resolve_uncertain(open_, rids, "; ".join(reasons))

    def checked(self, inv: LocalInvoice, outcome: Checked, rid: str) -> None:
        """A create the copy check had something to say about: linked with what it said, or,
        when nothing may be linked yet, left pending for the next run to find."""
        if outcome.remote is None:
            self._fail(inv, EXIT_PARTIAL, outcome.note)
            return
        self.record(inv, outcome.remote, rid, outcome.note, attention=outcome.attention)

    def record(
        self,
        inv: LocalInvoice,
        remote: RemoteInvoice,
        rid: str,
        note: str = "",
        *,
        attention: bool = False,
    ) -> None:
        link = link_from(inv, self.realm, remote, "pushed")
        try:
            self.store.add_link(link, request_id=rid)
        except LinkExists:
            message = (
                f"{self.ledger.name} {link.ref} was created but another link exists; "
                "run `invoicesync reconcile`"
            )
            self._fail(inv, EXIT_CONFLICT, message)
            return
        result = linked_result(link, "created", note)
        if attention:
            result.exit_code = EXIT_PARTIAL  # linked, but a person must look (copies)
        check_total(self.ledger.name, inv, link, result)
        self.results[inv.number] = result

    def refused(self, inv: LocalInvoice, refusal: Refusal, rid: str) -> None:
        if refusal.owner_id:
            # Someone took the number between our guard query and the create.
            try:
                owner = None if refusal.owner is None else self.ledger.read(refusal.owner)
            except (Gone, InvoiceSyncError):
                owner = None
            if owner is not None and owner.marker == inv.number:
                self.adopt(Adoption(inv, owner, True, rid))
                return
            message = (
                f"DocNumber {inv.number} is already used by {self.ledger.name} transaction "
                f"{refusal.owner_id}; link it or change the number"
            )
        else:
            message = f"{self.ledger.name} rejected the invoice: {refusal.message}"
        self.store.journal_failed(self.realm, rid, refusal.message)
        self._fail(inv, refusal.exit_code, message)

    def resolve_uncertain(
        self, chunk: Sequence[Draft], rids: Mapping[str, str], cause: str
    ) -> None:
        try:
            found = self.ledger.find_existing(chunk, by_number=self.plan.sends_numbers)
        except InvoiceSyncError:
            found = {}  # leave them pending; the next run resolves them
        plan = self.plan
        for d in chunk:
            seen = found.get(d.number)
            if seen is not None and seen.remote.marker == d.number:
                note, attention = "", False
                if seen.copies:
                    note, attention = copies_note(
                        self.ledger.name,
                        d.invoice,
                        seen.copies,
                        plan.origin,
                        shared=plan.shared,
                        pending=True,
                    )
                self.record(d.invoice, seen.remote, rids[d.number], note, attention=attention)
            else:
                message = (
                    f"outcome unknown ({cause}); re-run push: it will find or create this "
                    "invoice exactly once"
                )
                self._fail(d.invoice, EXIT_UNAVAILABLE, message)

    def _fail(self, inv: LocalInvoice, code: int, message: str) -> None:
        self.results[inv.number] = failed(inv, code, message)


def execute(
    session: Session, plan: PushPlan, progress: Progress, results: dict[str, PushResult]
) -> None:
    """Adopt and create what `plan` says; each invoice's outcome goes into `results`."""
    Executor(session, plan, progress, results).run()
