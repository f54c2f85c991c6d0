"""A third target is one folder and one registry line: the fake target (the core seam only,
in memory) driven through the real CLI, without HTTP. What it lacks, it says plainly."""

from __future__ import annotations

import json
from decimal import Decimal

from invoicesync.config import load_settings
from invoicesync.models import DocKind, DocRef, Link
from invoicesync.store import existing_store
from tests.fake_target.conftest import FakeWorld
from tests.fake_target.ledger import FakeDoc

PUSHED = [f"INV-2026-010{i}" for i in range(1, 8)] + ["INV-2026-0110"]  # not the draft, cancelled


def links() -> dict[str, Link]:
    store = existing_store(load_settings())
    assert store is not None
    try:
        return {ln.invoice_number: ln for ln in store.links("fake:books")}
    finally:
        store.close()


def by_hand(fake: FakeWorld, remote_id: str = "900") -> FakeDoc:
    """A document someone typed into the fake books: the sample's first invoice, no marker."""
    return fake.books.add(
        FakeDoc(
            DocRef(DocKind.INVOICE, remote_id),
            "INV-2026-0101",
            fake.books.customers["Acme Localization Inc."],
            "Acme Localization Inc.",
            Decimal("1740.00"),
            "USD",
            "2026-10-01",
            "typed by hand",
        )
    )


def test_push_creates_each_invoice_once_and_links_it(fake: FakeWorld) -> None:
    first = fake.run("push", "--all", "--json")
    assert first.exit_code == 0, first.stderr
    results = json.loads(first.stdout)["results"]
    assert [(r["invoice"], r["status"]) for r in results] == [(n, "created") for n in PUSHED]
    docs = {d.marker: d for d in fake.books.docs.values()}
    assert sorted(docs) == sorted(PUSHED)
    assert docs["INV-2026-0101"].total == Decimal("1740.00")
    stored = links()
    assert sorted(stored) == sorted(PUSHED)
    assert all(stored[n].ref == docs[n].ref for n in PUSHED)
    assert all(stored[n].marker_written for n in PUSHED)

    again = fake.run("push", "--all", "--json")
    assert again.exit_code == 0, again.stderr
    assert {r["status"] for r in json.loads(again.stdout)["results"]} == {"skipped"}
    assert len(fake.books.docs) == len(PUSHED)
    assert [op for op, _ in fake.books.writes] == ["create"] * len(PUSHED)


def test_list_candidates_link_and_unlink_a_hand_made_document(fake: FakeWorld) -> None:
    by_hand(fake)
    found = fake.json("list-candidates", "INV-2026-0101")["candidates"]
    assert isinstance(found, list)
    assert [(c["remote_id"], c["score"]) for c in found] == [("900", 100)]

    linked = fake.json("link", "INV-2026-0101", "900")
    assert (linked["remote_id"], linked["marker_written"]) == ("900", True)
    assert fake.books.docs[DocRef(DocKind.INVOICE, "900")].marker == "INV-2026-0101"
    assert links()["INV-2026-0101"].ref == DocRef(DocKind.INVOICE, "900")
    pushed = fake.run("push", "INV-2026-0101")
    assert pushed.exit_code == 0, pushed.stderr
    assert len(fake.books.docs) == 1  # linked: nothing created

    unlinked = fake.run("unlink", "INV-2026-0101")
    assert unlinked.exit_code == 0, unlinked.stderr
    assert "Unlinked INV-2026-0101 from FakeBooks invoice 900" in unlinked.stderr
    assert "a later push creates a new one" in unlinked.stderr
    doc = fake.books.docs[DocRef(DocKind.INVOICE, "900")]
    assert (doc.marker, doc.private_note) == (None, "typed by hand")
    assert "INV-2026-0101" not in links()


def test_reconcile_finds_drift_and_rebuilds_lost_links(fake: FakeWorld) -> None:
    assert fake.run("push", "INV-2026-0101", "INV-2026-0102").exit_code == 0
    clean = fake.json("reconcile")["links"]
    assert isinstance(clean, list)
    assert {(d["invoice"], d["state"]) for d in clean} == {
        ("INV-2026-0101", "ok"),
        ("INV-2026-0102", "ok"),
    }
    doc = next(d for d in fake.books.docs.values() if d.marker == "INV-2026-0102")
    fake.books.add(FakeDoc(**{**doc.__dict__, "total": Decimal("1.00"), "edits": 7}))
    drift = fake.run("reconcile", "--exit-code", "--json")
    assert drift.exit_code == 10, drift.stderr
    states = {d["invoice"]: d["state"] for d in json.loads(drift.stdout)["links"]}
    assert states["INV-2026-0101"] == "ok"
    assert states["INV-2026-0102"] != "ok"

    load_settings().app_dir.joinpath("state.db").unlink()  # the state is lost
    rebuilt = fake.json("reconcile", "--rebuild")["rebuilt"]
    assert isinstance(rebuilt, list)
    assert sorted(r["invoice"] for r in rebuilt) == ["INV-2026-0101", "INV-2026-0102"]
    assert sorted(links()) == ["INV-2026-0101", "INV-2026-0102"]


def test_what_the_target_lacks_is_refused_in_one_plain_line(fake: FakeWorld) -> None:
    assert fake.run("push", "INV-2026-0101").exit_code == 0
    before = list(fake.books.writes)
    send = fake.run("send", "INV-2026-0101")
    assert send.exit_code == 2
    assert send.stderr.strip() == (
        "error: FakeBooks has no send: send the document from FakeBooks itself"
    )
    void = fake.run("void", "INV-2026-0101", "--json")
    assert void.exit_code == 3
    [result] = json.loads(void.stdout)["results"]
    assert (result["status"], result["message"]) == (
        "failed",
        "FakeBooks has no void: void the document in FakeBooks itself",
    )
    for args, what in [
        (("payments",), "payments"),
        (("pdf", "INV-2026-0101"), "PDF"),
        (("prepare", "--all"), "prerequisites"),
        (("reconcile", "--remove-copies"), "copies"),
    ]:
        refused = fake.run(*args)
        assert refused.exit_code == 2, (args, refused.stderr)
        assert f"FakeBooks has no {what}: " in refused.stderr
        assert "Traceback" not in refused.stderr
    assert fake.books.writes == before  # nothing was written for any of them
