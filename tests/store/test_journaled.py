"""The one journaled write (usecases/journaled.py) on SQLite and PostgreSQL: the intent is in
the state before the call, an unknown outcome is looked up, and a run that dies between the
intent and the call, or between the call and its outcome, is finished by the next run without
a second write."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import pytest

from invoicesync.errors import EXIT_CONFLICT
from invoicesync.ledger.base import Refusal, Unanswered, Uncertain
from invoicesync.models import DocKind, Link
from invoicesync.store import JournalEntry, LifecycleEntry, StateStore
from invoicesync.store.lifecycle import Closing
from invoicesync.usecases.journaled import Landed, Refused, Unknown, Unrecorded, Write
from tests.store.conftest import Backend

REALM = "9130350000000001"


class Target:
    """A target that applies each request id once and replays it after (as QuickBooks does
    with a `requestid`), and can lose its answer after applying, or before."""

    def __init__(self) -> None:
        self.applied: dict[str, str] = {}
        self.requests = 0

    def void(self, rid: str, *, drop: str = "") -> str:
        self.requests += 1
        if drop == "before":
            raise Uncertain("connection reset before the request arrived")
        voided = self.applied.setdefault(rid, f"V{len(self.applied) + 1}")
        if drop == "after":
            raise Uncertain("connection reset after the void committed")
        return voided

    def look_up(self, entries: Sequence[LifecycleEntry]) -> list[str | None]:
        return [self.applied.get(e.request_id) for e in entries]


def entry(number: str = "INV-1", rid: str = "v1") -> LifecycleEntry:
    return LifecycleEntry(REALM, number, "void", rid, "5", "0", None, doc_kind=DocKind.INVOICE)


def voids(store: StateStore, target: Target) -> Write[LifecycleEntry, str, Closing]:
    return Write(
        store.journals.lifecycle,
        record=lambda _, voided: Closing({"voided": voided}),
        lookup=target.look_up,
    )


def rows(store: StateStore) -> list[tuple[str, str, dict[str, object]]]:
    return [(e.request_id, e.state, e.detail) for e in store.journals.lifecycle.entries(REALM)]


def kinds(store: StateStore) -> list[str]:
    return [kind for _, _, kind, _ in store.events(REALM)]


def test_the_intent_is_in_the_state_before_the_call(backend: Backend) -> None:
    store, other, target = backend.open(), backend.open(), Target()
    seen: list[list[tuple[str, str]]] = []

    def call() -> str:
        # Another connection (another process, after a crash) sees the pending intent.
        seen.append([(e.request_id, e.state) for e in other.journals.lifecycle.open(REALM)])
        return target.void("v1")

    with store.grouped():  # outcomes wait for the group's commit, intents never do
        verdict = voids(store, target).once(entry(), call)
    assert seen == [[("v1", "pending")]]
    assert verdict == Landed("V1", Closing({"voided": "V1"}), found=False)
    assert rows(other) == [("v1", "done", {"voided": "V1"})]
    assert kinds(store) == ["void done"]


def test_an_unknown_outcome_that_landed_is_found_and_closed_as_done(store: StateStore) -> None:
    target = Target()
    verdict = voids(store, target).once(entry(), lambda: target.void("v1", drop="after"))
    assert verdict == Landed("V1", Closing({"voided": "V1"}), found=True)
    assert rows(store) == [("v1", "done", {"voided": "V1"})]
    assert (target.requests, target.applied) == (1, {"v1": "V1"})


def test_an_unknown_outcome_the_lookup_cannot_find_stays_pending(store: StateStore) -> None:
    target = Target()
    write = voids(store, target)
    verdict = write.once(entry(), lambda: target.void("v1", drop="before"))
    assert verdict == Unknown("connection reset before the request arrived")
    assert rows(store) == [("v1", "pending", {})]
    assert kinds(store) == []  # neither done nor failed: nobody knows yet
    # The next run sends it again under the same request id: one void.
    assert write.once(entry(), lambda: target.void("v1")) == Landed("V1", Closing({"voided": "V1"}))
    assert rows(store) == [("v1", "done", {"voided": "V1"})]
    assert target.applied == {"v1": "V1"}


def test_a_refusal_closes_the_intent_as_failed(store: StateStore) -> None:
    refusal = Refusal("6140 stale SyncToken", EXIT_CONFLICT)
    verdict = voids(store, Target()).once(entry(), lambda: refusal)
    assert verdict == Refused(refusal)
    assert rows(store) == [("v1", "failed", {"error": "6140 stale SyncToken"})]
    assert kinds(store) == ["void failed"]


@pytest.mark.parametrize("dies", ["before the call", "after the call"])
def test_a_run_killed_between_intent_and_outcome_is_finished_once(
    backend: Backend, dies: str
) -> None:
    target, first = Target(), backend.open()
    write = voids(first, target)
    write.intend([entry()])
    if dies == "after the call":
        target.void("v1")  # the target applied it; the outcome never reached the state
    first.close()  # the process is gone

    store = backend.open()
    write = voids(store, target)
    pending = store.journals.lifecycle.open(REALM)
    assert [e.request_id for e in pending] == ["v1"]
    verdicts = write.settle(pending, [Unanswered("an earlier run was interrupted")])
    if dies == "after the call":
        assert verdicts == [Landed("V1", Closing({"voided": "V1"}), found=True)]
    else:
        assert verdicts == [Unknown("an earlier run was interrupted")]
        (again,) = pending
        assert isinstance(write.once(again, lambda: target.void(again.request_id)), Landed)
    assert rows(store) == [("v1", "done", {"voided": "V1"})]
    assert target.applied == {"v1": "V1"}  # one void, whenever the first run died


def test_a_batch_settles_in_order_and_looks_up_only_what_went_unanswered(
    store: StateStore,
) -> None:
    target = Target()
    asked: list[list[str]] = []

    def look_up(entries: Sequence[LifecycleEntry]) -> list[str | None]:
        asked.append([e.request_id for e in entries])
        return target.look_up(entries)

    write = Write(store.journals.lifecycle, lambda _, v: Closing({"voided": v}), look_up)
    batch = [entry("INV-1", "v1"), entry("INV-2", "v2"), entry("INV-3", "v3"), entry("INV-4", "v4")]
    write.intend(batch)
    target.void("v3")  # landed, but the batch item came back without an answer
    refusal = Refusal("6240 duplicate", EXIT_CONFLICT)
    answers = [target.void("v1"), refusal, Unanswered("throttled"), Unanswered("5xx")]
    verdicts = write.settle(batch, answers)
    assert asked == [["v3", "v4"]]  # one lookup, of the unanswered only
    assert verdicts == [
        Landed("V2", Closing({"voided": "V2"})),
        Refused(refusal),
        Landed("V1", Closing({"voided": "V1"}), found=True),
        Unknown("5xx"),
    ]
    assert [(rid, state) for rid, state, _ in rows(store)] == [
        ("v1", "done"),
        ("v2", "failed"),
        ("v3", "done"),
        ("v4", "pending"),
    ]


def test_a_create_whose_link_exists_is_left_pending(store: StateStore) -> None:
    """A create that landed but whose link would overwrite another: nothing is closed."""

    def link(number: str, remote_id: str) -> Link:
        return Link(REALM, number, remote_id, number, "pushed", "2026-11-25T03:00:00+00:00", "0",
                    Decimal("10.00"), "USD", True, kind=DocKind.INVOICE)  # fmt: skip

    store.add_link(link("INV-0", "7"))
    creates = Write(
        store.journals.creates,
        record=lambda e, remote_id: link(e.invoice_number, remote_id),
        lookup=lambda entries: [None for _ in entries],
    )
    intent = JournalEntry(REALM, "INV-1", 0, "r1", "pending", "INV-1", None, None,
                          kind=DocKind.INVOICE)  # fmt: skip
    verdict = creates.once(intent, lambda: "7")
    assert isinstance(verdict, Unrecorded)
    assert verdict.answer == "7" and verdict.clash.number == "INV-1"
    assert [(e.request_id, e.state) for e in store.journals.creates.entries(REALM)] == [
        ("r1", "pending")
    ]
