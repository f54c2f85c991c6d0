"""The sends and attachments journal on both backends: intent, outcome, the event, and the
link's SyncToken moved only from the token just before."""

from __future__ import annotations

from decimal import Decimal

from invoicesync.models import DocKind, DocRef, Link
from invoicesync.store import StateStore
from invoicesync.store.followups import Delivered, FollowUp, followups

REALM = "9130350000000001"


def test_intent_then_outcome_once(store: StateStore) -> None:
    entry = FollowUp(
        REALM, "send", "INV-1", "7", "is1s-abc", target="a@b.example", doc_kind=DocKind.CREDIT_MEMO
    )
    store.journals.followups.intend(entry)
    store.journals.followups.intend(entry)  # a re-run keeps the one intent
    assert [(f.state, f.target) for f in followups(store, REALM, "send")] == [
        ("pending", "a@b.example")
    ]
    sent = Delivered(to="a@b.example", at="2026-03-02T10:00:00-08:00")
    store.journals.followups.done(entry, sent)
    store.journals.followups.failed(entry, "late")  # only a pending intent is closed
    (done,) = followups(store, REALM, "send", "INV-1")
    assert (done.state, done.result_to, done.error) == ("done", "a@b.example", None)
    assert done.ref == DocRef(DocKind.CREDIT_MEMO, "7")  # the document sent, with its kind
    assert followups(store, REALM, "attach") == []
    events = [(kind, d) for _, number, kind, d in store.events(REALM) if number == "INV-1"]
    assert [(kind, d["remote_id"], d["kind"]) for kind, d in events] == [
        ("send-done", "7", "credit_note")
    ]


def test_attachments_keep_hash_and_size(store: StateStore) -> None:
    entry = FollowUp(
        REALM,
        "attach",
        "INV-1",
        "7",
        "is1a-x",
        target="a.pdf",
        content_hash="ff",
        size=3,
        doc_kind=DocKind.INVOICE,
    )
    store.journals.followups.intend(entry)
    store.journals.followups.failed(entry, "refused")
    (row,) = followups(store, REALM, "attach", "INV-1")
    assert (row.state, row.content_hash, row.size, row.error) == ("failed", "ff", 3, "refused")


def test_sync_token_moves_only_from_the_one_before(store: StateStore) -> None:
    link = Link(REALM, "INV-1", "7", "INV-1", "pushed", "2026-03-01T00:00:00+00:00", "0",
                Decimal("10.00"), "USD", True, kind=DocKind.INVOICE)  # fmt: skip
    store.add_link(link)

    def sent(rid: str, ref: DocRef, token: str) -> None:
        entry = FollowUp(REALM, "send", "INV-1", ref.remote_id, rid, doc_kind=ref.kind)
        store.journals.followups.intend(entry)
        store.journals.followups.done(entry, Delivered(to="a@b.example", token=token))

    sent("s1", DocRef(DocKind.CREDIT_MEMO, "7"), "1")
    assert store.link(REALM, "INV-1").version == "0"  # type: ignore[union-attr]  # not it
    sent("s2", link.ref, "1")
    assert store.link(REALM, "INV-1").version == "1"  # type: ignore[union-attr]
    sent("s3", link.ref, "3")  # someone edited in between
    assert store.link(REALM, "INV-1").version == "1"  # type: ignore[union-attr]
