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
from dataclasses import dataclass

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
from invoicesync.ledger.capabilities import Throughput, batch_size
from invoicesync.models import DocKind, Link, LocalInvoice
from invoicesync.store import JournalEntry, LinkExists
from invoicesync.usecases.journaled import Answer, Landed, Refused, Unrecorded, Write
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


@dataclass(frozen=True)
class Made:
    """A create that landed: the record to link, and what the copy check (or, after an unknown
    outcome, the lookup's copies) said of it; `attention`: a person must look (exit 3)."""

    remote: RemoteInvoice
    note: str = ""
    attention: bool = False


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
        self.realm = plan.account
        self.results = results
        self.progress = progress
        self.drafts = {d.number: d for d in plan.creates}
        self.write = Write(self.store.journals.creates, self.link, self.look_up)

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
        ledger = self.ledger
        size, limit = batch_size(ledger), WORKERS
        if self.plan.batch and len(queue) > 1 and isinstance(ledger, Throughput):
            batches = sum(len(c) > 1 for c in in_flight)
            if ledger.batch_held(batches):
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
                event={"remote_id": link.remote_id, "adopted": True, "ours": a.ours},
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
        in_flight: dict[Future[Outcomes], tuple[list[Draft], list[JournalEntry]]] = {}
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
                    entries = self.journal(chunk)
                    rids = {e.invoice_number: e.request_id for e in entries}
                    in_flight[pool.submit(self._create, chunk, rids)] = (chunk, entries)
                if not in_flight:
                    break
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in done:
                    chunk, entries = in_flight.pop(future)
                    try:
                        outcomes = future.result()
                    except Uncertain as exc:
                        # The creates may have happened; the client already retried with the
                        # same requestid. Look the invoices up before saying anything.
                        self.settle(chunk, entries, exc, str(exc))
                    except BaseException as exc:
                        fatal = fatal or exc
                    else:
                        self.apply(chunk, outcomes, entries)
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

    def journal(self, chunk: Sequence[Draft]) -> list[JournalEntry]:
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
        self.write.intend(entries)
        return entries

    def apply(
        self, chunk: Sequence[Draft], outcomes: Outcomes, entries: Sequence[JournalEntry]
    ) -> None:
        """Settle what the target answered. Two answers are settled here, not by the journal:
        a copy check that says nothing may be linked yet (the intent stays pending for the
        next run), and a number taken by a record of ours (adopted, closing the intent)."""
        drafts: list[Draft] = []
        kept: list[JournalEntry] = []
        answers: list[Answer[Made]] = []
        for d, entry in zip(chunk, entries, strict=True):
            outcome = outcomes[d.number]
            if isinstance(outcome, Checked):
                if outcome.remote is None:
                    self._fail(d.invoice, EXIT_PARTIAL, outcome.note)
                    continue
                answer: Answer[Made] = Made(outcome.remote, outcome.note, outcome.attention)
            elif isinstance(outcome, Refusal):
                owner = self.owner(d.invoice, outcome)
                if owner is not None:
                    self.adopt(Adoption(d.invoice, owner, True, entry.request_id))
                    continue
                answer = outcome
            elif isinstance(outcome, Unanswered):
                answer = outcome
            else:
                answer = Made(outcome)
            drafts.append(d)
            kept.append(entry)
            answers.append(answer)
        reasons = dict.fromkeys(a.reason for a in answers if isinstance(a, Unanswered))
        self.settle(drafts, kept, answers, "; ".join(reasons))

    def owner(self, inv: LocalInvoice, refusal: Refusal) -> RemoteInvoice | None:
        """Someone took the number between our guard query and the create: the record that
        has it, when it is ours (our marker for this invoice)."""
        if not refusal.owner_id:
            return None
        try:
            owner = None if refusal.owner is None else self.ledger.read(refusal.owner)
        except (Gone, InvoiceSyncError):
            owner = None
        return owner if owner is not None and owner.marker == inv.number else None

    def settle(
        self,
        chunk: Sequence[Draft],
        entries: Sequence[JournalEntry],
        answers: Sequence[Answer[Made]] | Uncertain,
        cause: str,
    ) -> None:
        """Close the intents through the journal and say what became of each invoice."""
        for d, verdict in zip(chunk, self.write.settle(entries, answers), strict=True):
            inv = d.invoice
            if isinstance(verdict, Landed):
                result = linked_result(verdict.record, "created", verdict.answer.note)
                if verdict.answer.attention:
                    result.exit_code = EXIT_PARTIAL  # linked, but a person must look (copies)
                check_total(self.ledger.name, inv, verdict.record, result)
                self.results[inv.number] = result
            elif isinstance(verdict, Unrecorded):
                message = (
                    f"{self.ledger.name} {verdict.clash.ref} was created but another link "
                    "exists; run `invoicesync reconcile`"
                )
                self._fail(inv, EXIT_CONFLICT, message)
            elif isinstance(verdict, Refused):
                self.refused(inv, verdict.refusal)
            else:
                message = (
                    f"outcome unknown ({cause}); re-run push: it will find or create this "
                    "invoice exactly once"
                )
                self._fail(inv, EXIT_UNAVAILABLE, message)

    def refused(self, inv: LocalInvoice, refusal: Refusal) -> None:
        if refusal.owner_id:
            message = (
                f"DocNumber {inv.number} is already used by {self.ledger.name} transaction "
                f"{refusal.owner_id}; link it or change the number"
            )
        else:
            message = f"{self.ledger.name} rejected the invoice: {refusal.message}"
        self._fail(inv, refusal.exit_code, message)

    def link(self, entry: JournalEntry, made: Made) -> Link:
        """What a landed create records: its link, made with the journal's outcome."""
        inv = self.drafts[entry.invoice_number].invoice
        return link_from(inv, self.realm, made.remote, "pushed")

    def look_up(self, entries: Sequence[JournalEntry]) -> list[Made | None]:
        """After an unknown outcome: each invoice's record, found by our marker (and its
        DocNumber where we send it), with what its copies say; None leaves it pending."""
        chunk = [self.drafts[e.invoice_number] for e in entries]
        try:
            found = self.ledger.find_existing(chunk, by_number=self.plan.sends_numbers)
        except InvoiceSyncError:
            found = {}  # leave them pending; the next run resolves them
        plan, out = self.plan, list[Made | None]()
        for e in entries:
            d, seen = self.drafts[e.invoice_number], found.get(e.invoice_number)
            if seen is None or seen.remote.marker != d.number:
                out.append(None)
                continue
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
            out.append(Made(seen.remote, note, attention))
        return out

    def _fail(self, inv: LocalInvoice, code: int, message: str) -> None:
        self.results[inv.number] = failed(inv, code, message)


def execute(
    session: Session, plan: PushPlan, progress: Progress, results: dict[str, PushResult]
) -> None:
    """Adopt and create what `plan` says; each invoice's outcome goes into `results`."""
    Executor(session, plan, progress, results).run()
