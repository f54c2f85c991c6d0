"""One journaled write: every write to a target goes through here.

Creates, edits, voids, credit applications, sends, attachments and prerequisites follow one
protocol (docs/architecture.md, "How a push stays exactly-once"):

1. the intent, with the write's deterministic request id, is journaled and committed before the
   request leaves (`Journal.intend`);
2. the request is made;
3. an answer closes the intent: done with what the target answered, failed with its refusal;
4. an outcome the target did not give (`Uncertain`: a dropped connection, a 5xx after the
   client's retries; `Unanswered`: an item of a batch left without an answer) is looked up at
   once by the caller's `lookup`. What it finds closes the intent as done; otherwise the intent
   stays pending, and the next run looks it up before anything is sent again.

A `Write` holds what differs between kinds of write: the journal, what a landed answer is
recorded as, and how to look one up. Callers turn the verdicts into their own messages; what
is journaled, and when, is decided only here. A batch sent from worker threads uses `intend`
before submitting and `settle` on the store's thread after; a single write uses `once`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar, Union

from invoicesync.ledger.base import Refusal, Unanswered, Uncertain
from invoicesync.store import LinkExists
from invoicesync.store.contract import Journal

E = TypeVar("E")  # a journal entry
A = TypeVar("A")  # what landed: the target's answer, or what the lookup found
D = TypeVar("D")  # what the journal records of it

Answer = Union[A, Refusal, Unanswered]  # noqa: UP007 (a generic runtime alias on 3.11)


@dataclass(frozen=True)
class Landed(Generic[A, D]):
    """The write happened: `answer` is what the target said (or, with `found`, what the lookup
    found after an unknown outcome); `record` is what closed the intent."""

    answer: A
    record: D
    found: bool = False


@dataclass(frozen=True)
class Refused:
    """The target refused: the intent is closed as failed with its message."""

    refusal: Refusal


@dataclass(frozen=True)
class Unknown:
    """Nobody can tell yet whether the write happened (`cause`): the intent stays pending."""

    cause: str


@dataclass(frozen=True)
class Unrecorded(Generic[A]):
    """The write happened but its record would overwrite another link (`LinkExists`): the
    intent stays pending for a person (`reconcile`) to settle."""

    answer: A
    clash: LinkExists


Verdict = Union[Landed[A, D], Refused, Unknown, Unrecorded[A]]  # noqa: UP007


@dataclass(frozen=True)
class Write(Generic[E, A, D]):
    """One kind of write: its journal, the record of a landed answer (`record`), and the
    lookup after an unknown outcome (`lookup`: for each entry, what landed, or None when
    nothing shows it did). The lookup's own errors are the caller's to handle."""

    journal: Journal[E, D]
    record: Callable[[E, A], D]
    lookup: Callable[[Sequence[E]], Sequence[A | None]]

    def intend(self, entries: Sequence[E]) -> None:
        """Journal the intents (one durable commit) before their request leaves."""
        self.journal.intend(*entries)

    def once(self, entry: E, call: Callable[[], A | Refusal]) -> Verdict[A, D]:
        """Journal, call, settle: one write made exactly once."""
        self.intend([entry])
        try:
            answer: Answer[A] = call()
        except Uncertain as exc:
            answer = Unanswered(str(exc))
        return self.settle([entry], [answer])[0]

    def settle(
        self, entries: Sequence[E], answers: Sequence[Answer[A]] | Uncertain
    ) -> list[Verdict[A, D]]:
        """Close each intent with its answer, in order; those without one (or all, when the
        whole request's outcome is `Uncertain`) are looked up together, after the rest."""
        if isinstance(answers, Uncertain):
            answers = [Unanswered(str(answers))] * len(entries)
        verdicts: dict[int, Verdict[A, D]] = {}
        open_: dict[int, str] = {}
        for i, (entry, answer) in enumerate(zip(entries, answers, strict=True)):
            if isinstance(answer, Unanswered):
                open_[i] = answer.reason
            elif isinstance(answer, Refusal):
                self.journal.failed(entry, answer.message)
                verdicts[i] = Refused(answer)
            else:
                verdicts[i] = self._close(entry, answer, found=False)
        if open_:
            seen = self.lookup([entries[i] for i in open_])
            for (i, cause), found in zip(open_.items(), seen, strict=True):
                if found is None:
                    verdicts[i] = Unknown(cause)
                else:
                    verdicts[i] = self._close(entries[i], found, found=True)
        return [verdicts[i] for i in range(len(entries))]

    def recorded(self, entry: E, answer: A) -> Landed[A, D]:
        """A write found made already (by an earlier run, or before it was asked): its intent
        and its outcome, so the journal says it is done."""
        self.intend([entry])
        record = self.record(entry, answer)
        self.journal.done(entry, record)
        return Landed(answer, record, found=True)

    def _close(self, entry: E, answer: A, found: bool) -> Verdict[A, D]:
        record = self.record(entry, answer)
        try:
            self.journal.done(entry, record)
        except LinkExists as clash:
            return Unrecorded(answer, clash)
        return Landed(answer, record, found)
