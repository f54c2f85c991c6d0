"""The store contract, run against SQLite and a real PostgreSQL: links, journal, generations,
events and grouped outcomes. Claims and locks are in test_coordination.py."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from invoicesync.models import Delivery, DocKind, DocRef, Link, Registration
from invoicesync.store import JournalEntry, LifecycleEntry, LinkExists, StateStore
from tests.store.conftest import Backend

REALM = "9130350000000001"
OTHER = "9130350000000002"


def link(number: str, remote_id: str, realm: str = REALM) -> Link:
    return Link(
        account=realm,
        invoice_number=number,
        remote_id=remote_id,
        doc_number=number,
        origin="pushed",
        linked_at="2026-11-25T03:00:00+00:00",
        version="0",
        total=Decimal("1148.00"),
        currency="USD",
        marker_written=True,
        kind=DocKind.INVOICE,
    )


def invoice(remote_id: str) -> DocRef:
    return DocRef(DocKind.INVOICE, remote_id)


def intent(number: str, rid: str, generation: int = 0) -> JournalEntry:
    return JournalEntry(
        REALM, number, generation, rid, "pending", number, None, None, kind=DocKind.INVOICE
    )


HOSTILE = ["K]x", "K", "[invoicesync K]", "INV 42 ", "Ünïcødé-№1", "a'b\"c", "x\x7fy"]


def test_links_round_trip_exact_values(store: StateStore) -> None:
    for i, number in enumerate(HOSTILE):
        store.add_link(link(number, str(100 + i)))
    store.add_link(link("INV-1", "1", realm=OTHER))
    got = store.links(REALM)
    assert [ln.invoice_number for ln in got] == sorted(HOSTILE)
    assert store.link(REALM, "K]x") == link("K]x", "100")
    assert store.link(REALM, "K") == link("K", "101")
    assert store.link_for_remote(REALM, invoice("102")) == link("[invoicesync K]", "102")
    assert store.link(REALM, "missing") is None
    assert store.link_for_remote(OTHER, invoice("100")) is None
    assert store.count_links(REALM) == {"pushed": len(HOSTILE)}
    assert store.count_links(OTHER) == {"pushed": 1}
    assert store.links(REALM)[0].total == Decimal("1148.00")


def test_links_unique_per_qbo_id_and_per_number(store: StateStore) -> None:
    store.add_link(link("INV-1", "7"))
    with pytest.raises(LinkExists) as by_qbo:
        store.add_link(link("INV-2", "7"))
    assert (by_qbo.value.number, by_qbo.value.ref) == ("INV-2", invoice("7"))
    with pytest.raises(LinkExists):
        store.add_link(link("INV-1", "8"))
    # The same QuickBooks id in another company is another invoice.
    store.add_link(link("INV-2", "7", realm=OTHER))
    # After a refused write the store still works (PostgreSQL aborts the transaction).
    store.add_link(link("INV-3", "9"))
    assert [(ln.invoice_number, ln.remote_id) for ln in store.links(REALM)] == [
        ("INV-1", "7"),
        ("INV-3", "9"),
    ]
    assert [e[2] for e in store.events(REALM)] == ["pushed", "pushed"]


def test_journal_intent_then_outcome(store: StateStore) -> None:
    store.journals.creates.intend(
        intent("INV-1", "r1"), intent("INV-2", "r2"), intent("INV-3", "r3")
    )
    assert [e.request_id for e in store.journals.creates.entries(REALM, "pending")] == [
        "r1",
        "r2",
        "r3",
    ]
    store.add_link(link("INV-1", "11"), request_id="r1")
    store.journals.creates.refused(REALM, "r2", "QuickBooks rejected it: 6000")
    assert store.journals.creates.entries(REALM) == [
        JournalEntry(REALM, "INV-1", 0, "r1", "done", "INV-1", "11", None, kind=DocKind.INVOICE),
        JournalEntry(
            REALM,
            "INV-2",
            0,
            "r2",
            "failed",
            "INV-2",
            None,
            "QuickBooks rejected it: 6000",
            kind=DocKind.INVOICE,
        ),
        JournalEntry(REALM, "INV-3", 0, "r3", "pending", "INV-3", None, None, kind=DocKind.INVOICE),
    ]
    assert store.journals.creates.entries(REALM)[0].ref == invoice("11")
    # A retried intent reopens a failed entry; done and pending entries are kept as they are.
    store.journals.creates.intend(
        intent("INV-1", "r1"), intent("INV-2", "r2"), intent("INV-3", "r3")
    )
    assert [(e.request_id, e.state, e.error) for e in store.journals.creates.entries(REALM)] == [
        ("r1", "done", None),
        ("r2", "pending", None),
        ("r3", "pending", None),
    ]
    # Failing an entry that is not pending changes nothing.
    store.journals.creates.refused(REALM, "r1", "late")
    assert store.journals.creates.entries(REALM, "done")[0].error is None
    assert store.journals.creates.entries(OTHER) == []


def test_intents_are_visible_to_another_connection_at_once(backend: Backend) -> None:
    writer, reader = backend.open(), backend.open()
    with writer.grouped(size=50):
        writer.journals.creates.intend(intent("INV-1", "r1"))
        assert [e.request_id for e in reader.journals.creates.entries(REALM, "pending")] == ["r1"]


def test_a_state_has_one_origin_for_every_connection_and_ever(backend: Backend) -> None:
    """The token the marker of every record this state creates carries: the same for every
    process sharing the state and across opens, sixteen hex digits (store/origin.py)."""
    first, second = backend.open(), backend.open()
    token = first.origin()
    assert len(token) == 16 and set(token) <= set("0123456789abcdef")
    assert second.origin() == token
    first.close()
    assert backend.open().origin() == token


def test_generations_bump_on_unlink(store: StateStore) -> None:
    assert store.generation(REALM, "INV-1") == 0
    store.add_link(link("INV-1", "5"))
    assert store.remove_link(REALM, "INV-1", {"remote_id": "5", "by": "unlink"}) == 1
    assert store.link(REALM, "INV-1") is None
    store.add_link(link("INV-1", "6"))
    assert store.remove_link(REALM, "INV-1", {"remote_id": "6"}) == 2
    assert store.generation(REALM, "INV-1") == 2
    assert store.generations(REALM) == {"INV-1": 2}
    assert store.generations(OTHER) == {}


def test_events_append_in_order(store: StateStore) -> None:
    store.add_link(link("INV-1", "5"))
    store.add_link(link("INV-2", "6"), event={"remote_id": "6", "adopted": True, "ours": False})
    store.remove_link(REALM, "INV-1", {"remote_id": "5"})
    events = store.events(REALM)
    assert [(e[1], e[2], e[3]) for e in events] == [
        ("INV-1", "pushed", {"remote_id": "5", "kind": "invoice", "doc_number": "INV-1"}),
        ("INV-2", "pushed", {"remote_id": "6", "kind": "invoice", "adopted": True, "ours": False}),
        ("INV-1", "unlinked", {"remote_id": "5", "generation": 1}),
    ]
    assert all(e[0].startswith("20") for e in events)
    assert store.events(OTHER) == []


def test_record_observations(store: StateStore) -> None:
    store.add_link(link("INV-1", "5"))
    store.add_link(link("INV-2", "6"))
    store.record_observations(
        REALM, [("INV-1", "Paid", Decimal("0.00")), ("INV-2", "Voided", None)]
    )
    one, two = store.links(REALM)
    assert (one.last_state, one.last_balance) == ("Paid", Decimal("0.00"))
    assert (two.last_state, two.last_balance) == ("Voided", None)
    assert one.last_checked_at is not None


def test_deliveries_are_kept_with_their_reason_and_registrations(backend: Backend) -> None:
    """What reconcile saw of an e-invoice (delivery state, B2BRouter's reason, the
    VeriFactu registration) survives a reopen, so `invoices`/`status` show it offline; a
    reader that did not ask (payments) keeps it; reconcile seeing nothing clears it."""
    store = backend.open()
    store.add_link(link("INV-1", "5"))
    store.add_link(link("INV-2", "6"))
    refused = Delivery(
        "error",
        'the contact has no transport: "Juan Pérez" [ES] \\ ñ',
        (
            Registration("Verifactu", "error", "NIF no censado"),
            Registration("TicketBai", "registered"),
        ),
    )
    store.record_observations(
        REALM,
        [("INV-1", "error", Decimal("10.00")), ("INV-2", "ok", None)],
        {"INV-1": refused, "INV-2": Delivery("sent")},
    )
    one, two = backend.open().links(REALM)
    assert one.last_delivery == refused
    assert two.last_delivery == Delivery("sent", None, ())
    store.record_observations(REALM, [("INV-1", "paid", Decimal("0.00"))])  # payments
    kept = store.link(REALM, "INV-1")
    assert kept is not None
    assert (kept.last_state, kept.last_delivery) == ("paid", refused)
    store.record_observations(REALM, [("INV-2", "deleted", None)], {})
    assert store.link(REALM, "INV-2").last_delivery is None  # type: ignore[union-attr]
    assert store.link(REALM, "INV-1").last_delivery == refused  # type: ignore[union-attr]


def test_grouped_outcomes_commit_per_group(backend: Backend) -> None:
    writer, reader = backend.open(), backend.open()
    writer.journals.creates.intend(*[intent(f"INV-{i}", f"r{i}") for i in range(5)])
    with writer.grouped(size=2):
        writer.add_link(link("INV-0", "10"), request_id="r0")
        assert reader.links(REALM) == []  # not committed yet: the group is open
        assert writer.link(REALM, "INV-0") is not None  # the writer sees its own outcome
        writer.add_link(link("INV-1", "11"), request_id="r1")
        assert [ln.remote_id for ln in reader.links(REALM)] == ["10", "11"]  # group of 2 committed
        writer.journals.creates.refused(REALM, "r2", "rejected")
        assert reader.journals.creates.entries(REALM, "failed") == []
    assert [e.state for e in reader.journals.creates.entries(REALM)] == [
        "done",
        "done",
        "failed",
        "pending",
        "pending",
    ]


def test_grouped_keeps_outcomes_when_a_link_is_refused(backend: Backend) -> None:
    writer, reader = backend.open(), backend.open()
    with writer.grouped(size=10):
        writer.add_link(link("INV-1", "10"))
        with pytest.raises(LinkExists):
            writer.add_link(link("INV-2", "10"))
        writer.add_link(link("INV-3", "11"))
    assert [ln.invoice_number for ln in reader.links(REALM)] == ["INV-1", "INV-3"]


def test_grouped_commits_recorded_outcomes_when_the_caller_fails(backend: Backend) -> None:
    writer, reader = backend.open(), backend.open()
    with pytest.raises(KeyboardInterrupt), writer.grouped(size=10):
        writer.add_link(link("INV-1", "10"))
        raise KeyboardInterrupt
    assert [ln.invoice_number for ln in reader.links(REALM)] == ["INV-1"]
    writer.add_link(link("INV-2", "11"))  # and the store is usable afterwards
    assert len(reader.links(REALM)) == 2


def test_nested_groups_join_the_outer_one(backend: Backend) -> None:
    writer, reader = backend.open(), backend.open()
    with writer.grouped(size=10):
        with writer.grouped(size=1):
            writer.add_link(link("INV-1", "10"))
        assert reader.links(REALM) == []
    assert len(reader.links(REALM)) == 1


def test_credit_memo_ids_are_their_own_sequence(store: StateStore) -> None:
    store.add_link(link("INV-1", "7"))
    store.add_link(replace(link("CN-1", "7"), kind=DocKind.CREDIT_MEMO, fingerprint="f" * 64))
    assert store.link_for_remote(REALM, invoice("7")) == link("INV-1", "7")
    credit = store.link_for_remote(REALM, DocRef(DocKind.CREDIT_MEMO, "7"))
    assert credit is not None and (credit.invoice_number, credit.fingerprint) == ("CN-1", "f" * 64)
    assert credit.kind is DocKind.CREDIT_MEMO and credit.ref == DocRef(DocKind.CREDIT_MEMO, "7")
    with pytest.raises(LinkExists):
        store.add_link(replace(link("CN-2", "7"), kind=DocKind.CREDIT_MEMO))
    # Every event that names a remote id says which kind of document it is.
    assert [(e[1], e[3]["remote_id"], e[3]["kind"]) for e in store.events(REALM)] == [
        ("INV-1", "7", "invoice"),
        ("CN-1", "7", "credit_note"),
    ]


def test_lifecycle_journal_intent_then_close_moves_the_link(store: StateStore) -> None:
    store.add_link(link("INV-1", "7"))
    entry = LifecycleEntry(
        REALM, "INV-1", "update", "u1", "7", "0", "new", detail={"a": 1}, doc_kind=DocKind.INVOICE
    )
    store.journals.lifecycle.intend(entry)
    store.journals.lifecycle.intend(entry)  # idempotent: a re-run journals the same intent again
    assert [(e.state, e.detail) for e in store.journals.lifecycle.entries(REALM)] == [
        ("pending", {"a": 1})
    ]
    store.journals.lifecycle.close(entry, "done", {"b": 2}, ("1", Decimal("9.50"), "new"))
    [done] = store.journals.lifecycle.entries(REALM, "update")
    assert (done.state, done.detail, done.base_token) == ("done", {"a": 1, "b": 2}, "0")
    moved = store.link(REALM, "INV-1")
    assert moved is not None
    assert (moved.version, moved.total, moved.fingerprint) == ("1", Decimal("9.50"), "new")
    assert store.journals.lifecycle.entries(REALM, "void") == []
    failed = LifecycleEntry(REALM, "INV-1", "void", "v1", "7", "1", None, doc_kind=DocKind.INVOICE)
    store.journals.lifecycle.intend(failed)
    store.journals.lifecycle.close(failed, "failed", {"error": "6000"})
    store.journals.lifecycle.intend(failed)  # a failed intent reopens when it is journaled again
    assert [e.state for e in store.journals.lifecycle.entries(REALM, "void")] == ["pending"]
    assert [e[2] for e in store.events(REALM)] == ["pushed", "update done", "void failed"]


def test_lifecycle_intents_of_a_batch_are_recorded_together(store: StateStore) -> None:
    entries = [
        LifecycleEntry(
            REALM, f"INV-{i}", "update", f"u{i}", str(i), "0", "f", doc_kind=DocKind.CREDIT_MEMO
        )
        for i in (1, 2)
    ]
    with store.grouped():  # in a group too: intents commit before the batch is sent
        store.journals.lifecycle.intend(*entries)
    store.journals.lifecycle.intend(entries[0])  # one of them again: kept, not doubled
    journal = store.journals.lifecycle.entries(REALM, "update")
    assert [(e.invoice_number, e.state, e.ref) for e in journal] == [
        ("INV-1", "pending", DocRef(DocKind.CREDIT_MEMO, "1")),
        ("INV-2", "pending", DocRef(DocKind.CREDIT_MEMO, "2")),
    ]


def test_prepare_journal_intent_then_outcome(store: StateStore) -> None:
    from invoicesync.store import PrepareEntry

    def entry(name: str, rid: str) -> PrepareEntry:
        return PrepareEntry(REALM, "customer", name, rid, "pending", None, None)

    store.journals.prepare.intend(entry("Zeta GmbH", "p1"))
    store.journals.prepare.intend(entry("O'Brien 'x' ü", "p2"))
    store.journals.prepare.intend(entry("Zeta GmbH", "p1"))  # a re-sent intent is kept, not doubled
    store.journals.prepare.outcome(REALM, "p1", remote_id="58")
    store.journals.prepare.outcome(REALM, "p2", error="6240 duplicate name")
    store.journals.prepare.outcome(REALM, "p2", remote_id="59")  # only a pending entry is closed
    assert store.journals.prepare.entries(REALM) == [
        PrepareEntry(REALM, "customer", "Zeta GmbH", "p1", "done", "58", None),
        PrepareEntry(
            REALM, "customer", "O'Brien 'x' ü", "p2", "failed", None, "6240 duplicate name"
        ),
    ]
    assert store.journals.prepare.entries("other realm") == []


def test_move_link_points_it_at_the_survivor_with_its_event(store: StateStore) -> None:
    store.add_link(link("INV-1", "12"))
    moved = replace(link("INV-1", "5"), version="3", total=Decimal("99.95"), doc_number=None)
    store.move_link(moved, {"from": "12", "to": "5", "why": "copy"})
    now = store.link(REALM, "INV-1")
    assert now is not None
    assert (now.remote_id, now.version, now.total, now.doc_number) == (
        "5",
        "3",
        Decimal("99.95"),
        None,
    )
    assert store.link_for_remote(REALM, invoice("12")) is None
    store.record_event(REALM, "INV-1", "copy removal", {"remote_id": "12"})
    assert [e[1:] for e in store.events(REALM)][-2:] == [
        (
            "INV-1",
            "moved",
            {"from": "12", "to": "5", "why": "copy", "remote_id": "5", "kind": "invoice"},
        ),
        ("INV-1", "copy removal", {"remote_id": "12"}),
    ]
