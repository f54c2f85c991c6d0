"""The invoice lifecycle through the CLI against the sandbox: edits, conflicts,
voids and credit notes."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from invoicesync.marker import marker_of
from invoicesync.store import Store
from invoicesync.targets.quickbooks.sandbox import Faults
from tests.helpers import US, World


def record(number: str, qty: str = "1000", **extra: Any) -> dict[str, Any]:
    return {
        "number": number,
        "customer": {"name": "Acme Localization Inc."},
        "issue_date": "2026-10-05",
        "currency": "USD",
        "lines": [{"service": "Translation", "quantity": qty, "unit_price": "0.10"}],
        **extra,
    }


@pytest.fixture
def src(world: World) -> Path:
    world.connect()
    path = world.home.parent / "lifecycle.json"
    world.monkeypatch.setenv("INVOICESYNC_SOURCE", str(path))
    return path


def write(path: Path, *records: dict[str, Any]) -> None:
    path.write_text(json.dumps(list(records)), encoding="utf-8")


def ours(world: World, entity: str = "Invoice") -> dict[str, dict[str, Any]]:
    rows = world.sandbox.company(US).entities[entity].values()
    return {
        str(marker_of(r.get("PrivateNote"))): r for r in rows if marker_of(r.get("PrivateNote"))
    }


def lines(row: dict[str, Any]) -> list[tuple[Decimal, Decimal]]:
    return [
        (ln["SalesItemLineDetail"]["Qty"], ln["Amount"])
        for ln in row["Line"]
        if ln["DetailType"] == "SalesItemLineDetail"
    ]


def pushed(world: World, src: Path, *records: dict[str, Any]) -> None:
    write(src, *records)
    result = world.run("push", "--all")
    assert result.exit_code == 0, result.stderr


def test_edit_is_listed_as_changed_and_sent_only_with_update(world: World, src: Path) -> None:
    pushed(world, src, record("L-1"), record("L-2"))
    write(src, record("L-1", "1200"), record("L-2"))
    plain = world.json("push", "--all")
    status = {r["invoice"]: r["status"] for r in plain["results"]}
    assert status == {"L-1": "changed", "L-2": "skipped"}
    assert lines(ours(world)["L-1"]) == [(Decimal("1000"), Decimal("100.00"))]
    listed = {i["number"]: i["link"]["changed"] for i in world.json("invoices")["invoices"]}
    assert listed == {"L-1": True, "L-2": False}

    preview = world.json("push", "--all", "--update", "--dry-run")
    [planned] = [r for r in preview["results"] if r["invoice"] == "L-1"]
    assert planned["status"] == "planned"
    assert planned["changes"] == ["line 1 quantity: 1000 → 1200", "line 1 amount: 100.00 → 120.00"]
    assert planned["payload"]["sparse"] is True and planned["payload"]["SyncToken"] == "0"
    assert set(planned["payload"]) == {"Id", "SyncToken", "sparse", "Line"}
    assert lines(ours(world)["L-1"]) == [(Decimal("1000"), Decimal("100.00"))]

    sent = world.json("push", "--all", "--update")
    [updated] = [r for r in sent["results"] if r["invoice"] == "L-1"]
    assert updated["status"] == "updated", updated
    row = ours(world)["L-1"]
    assert lines(row) == [(Decimal("1200"), Decimal("120.00"))] and row["SyncToken"] == "1"
    assert marker_of(row["PrivateNote"]) == "L-1"
    again = world.json("push", "--all", "--update")
    assert {r["status"] for r in again["results"]} == {"skipped"}
    assert ours(world)["L-1"]["SyncToken"] == "1"


def test_changed_in_quickbooks_is_a_conflict_unless_force(world: World, src: Path) -> None:
    pushed(world, src, record("L-1"))
    company = world.sandbox.company(US)
    row = ours(world)["L-1"]
    company.update(
        "Invoice", {"Id": row["Id"], "SyncToken": "0", "sparse": True, "TxnDate": "2026-10-06"}
    )
    write(src, record("L-1", "1500"))
    refused = world.run("push", "L-1", "--update")
    assert refused.exit_code == 6, refused.stderr
    assert (
        "changed in QuickBooks since invoicesync last wrote it" in refused.stdout + refused.stderr
    )
    assert "SyncToken 0 → 1" in refused.stderr and "line 1 quantity: 1000 → 1500" in refused.stderr
    assert lines(ours(world)["L-1"]) == [(Decimal("1000"), Decimal("100.00"))]
    forced = world.run("push", "L-1", "--update", "--force")
    assert forced.exit_code == 0, forced.stderr
    row = ours(world)["L-1"]
    assert lines(row) == [(Decimal("1500"), Decimal("150.00"))]
    assert row["TxnDate"] == "2026-10-05"  # the source wins where it says something


def test_paid_invoice_is_not_overwritten_and_never_below_paid(world: World, src: Path) -> None:
    pushed(world, src, record("L-1"))
    company = world.sandbox.company(US)
    company.record_payment(ours(world)["L-1"]["Id"], Decimal("60.00"))
    write(src, record("L-1", "1100"))
    refused = world.run("push", "L-1", "--update")
    assert refused.exit_code == 6 and "60.00 of 100.00 paid or credited" in refused.stderr
    write(src, record("L-1", "500"))
    below = world.run("push", "L-1", "--update", "--force")
    assert below.exit_code == 6
    assert "new total 50.00 would be below the 60.00 already paid" in below.stdout + below.stderr
    write(src, record("L-1", "1100"))
    forced = world.run("push", "L-1", "--update", "--force")
    assert forced.exit_code == 0, forced.stderr
    row = ours(world)["L-1"]
    assert row["TotalAmt"] == Decimal("110.00") and row["Balance"] == Decimal("50.00")


def test_dropped_update_is_applied_once(world: World, src: Path) -> None:
    pushed(world, src, record("L-1"))
    write(src, record("L-1", "2000"))
    world.sandbox.set_faults(Faults(drop_next_writes=1))  # the answer to the update is lost
    dropped = world.json("push", "L-1", "--update")
    world.sandbox.set_faults(Faults())
    assert dropped["results"][0]["status"] == "updated", dropped
    updates = [e for e in world.sandbox.requests if (e.requestid or "").startswith("is1u-")]
    assert [e.dropped for e in updates] == [True, False]
    assert updates[0].requestid == updates[1].requestid  # the retry was QuickBooks' replay
    row = ours(world)["L-1"]
    assert lines(row) == [(Decimal("2000"), Decimal("200.00"))] and row["SyncToken"] == "1"
    assert world.json("push", "L-1")["results"][0]["status"] == "skipped"


def test_crash_after_the_update_landed_is_recorded_not_resent(world: World, src: Path) -> None:
    """The process died after QuickBooks applied the edit and before the journal was closed."""
    pushed(world, src, record("L-1"))
    write(src, record("L-1", "2000"))
    preview = world.json("push", "L-1", "--update", "--dry-run")["results"][0]
    world.sandbox.company(US).update("Invoice", preview["payload"] | {"SyncToken": "0"})
    world.sandbox.requests.clear()
    rerun = world.json("push", "L-1", "--update")["results"][0]
    assert rerun["status"] == "updated" and rerun["message"] == "QuickBooks already matched"
    assert not [e for e in world.sandbox.requests if e.method == "POST" and e.kind != "oauth"]
    assert ours(world)["L-1"]["SyncToken"] == "1"
    assert world.json("push", "L-1", "--update")["results"][0]["status"] == "skipped"


def test_cancelled_invoice_is_voided_with_reason_once(world: World, src: Path) -> None:
    pushed(world, src, record("L-1"), record("L-2"))
    write(src, record("L-1", status="cancelled"), record("L-2"))
    plain = world.json("push", "--all")
    assert [r["invoice"] for r in plain["results"]] == ["L-2"]
    assert ours(world)["L-1"]["TotalAmt"] == Decimal("100.00")
    voided = world.json("push", "--all", "--update")
    assert {r["invoice"]: r["status"] for r in voided["results"]} == {
        "L-2": "skipped",
        "L-1": "voided",
    }
    row = ours(world)["L-1"]
    assert row["TotalAmt"] == Decimal("0.00") and row["PrivateNote"].startswith("Voided")
    assert "[cancelled: cancelled in the source]" in row["PrivateNote"]
    assert row["Id"] in world.sandbox.company(US).entities["Invoice"]  # never deleted
    token = row["SyncToken"]
    again = world.json("push", "--all", "--update")
    assert [r["invoice"] for r in again["results"]] == ["L-2"]
    assert ours(world)["L-1"]["SyncToken"] == token
    drift = {d["invoice"]: d["state"] for d in world.json("reconcile")["links"]}
    assert drift["L-1"] == "voided by us"


def test_void_command_refuses_a_paid_invoice(world: World, src: Path) -> None:
    pushed(world, src, record("L-1"), record("L-2"))
    company = world.sandbox.company(US)
    company.record_payment(ours(world)["L-2"]["Id"])
    paid = world.run("void", "L-2")
    assert paid.exit_code == 6
    assert "not voided: 100.00 of 100.00 is paid" in paid.stdout + paid.stderr
    done = world.run("void", "L-1", "--reason", "duplicate order")
    assert done.exit_code == 0, done.stderr
    assert "[cancelled: duplicate order]" in ours(world)["L-1"]["PrivateNote"]
    unknown = world.run("void", "L-9")
    assert unknown.exit_code == 2


def test_credit_note_becomes_a_credit_memo_applied_once(world: World, src: Path) -> None:
    pushed(world, src, record("L-1"))
    note = record("CN-1", "300", type="credit_note", credit_for="L-1")
    write(src, record("L-1"), note)
    report = world.json("push", "--all")
    [cn] = [r for r in report["results"] if r["invoice"] == "CN-1"]
    assert cn["status"] == "created", cn
    assert cn["credit"]["amount"] == "30.00" and cn["credit"]["open_credit"] == "0.00"
    memo = ours(world, "CreditMemo")["CN-1"]
    assert memo["TotalAmt"] == Decimal("30.00") and memo["RemainingCredit"] == Decimal("0.00")
    assert ours(world)["L-1"]["Balance"] == Decimal("70.00")
    payments = list(world.sandbox.company(US).entities["Payment"].values())
    assert len(payments) == 1 and payments[0]["TotalAmt"] == Decimal("0.00")
    world.json("push", "--all")
    assert len(world.sandbox.company(US).entities["Payment"]) == 1
    assert len(world.sandbox.company(US).entities["CreditMemo"]) == 1
    drift = {d["invoice"]: d["state"] for d in world.json("reconcile")["links"]}
    assert drift["CN-1"] == "credit applied"


def test_credit_larger_than_balance_leaves_open_credit(world: World, src: Path) -> None:
    pushed(world, src, record("L-1"))
    write(src, record("L-1"), record("CN-2", "1500", type="credit_note", credit_for="L-1"))
    report = world.json("push", "--all")
    [cn] = [r for r in report["results"] if r["invoice"] == "CN-2"]
    assert cn["credit"]["amount"] == "100.00" and cn["credit"]["open_credit"] == "50.00"
    assert "50.00 stays open credit" in cn["message"]
    assert ours(world)["L-1"]["Balance"] == Decimal("0.00")
    assert ours(world, "CreditMemo")["CN-2"]["RemainingCredit"] == Decimal("50.00")


def test_store_keeps_fingerprints_and_journal(world: World, src: Path) -> None:
    pushed(world, src, record("L-1"))
    write(src, record("L-1", "1234"))
    world.run("push", "--all", "--update")
    store = Store.open(world.home / "state.db")
    try:
        [link] = store.links(US)
        [entry] = store.journals.lifecycle.entries(US, "update")
    finally:
        store.close()
    assert link.version == "1" and link.total == Decimal("123.40")
    assert entry.state == "done" and entry.base_token == "0"


def test_several_edits_go_in_one_batch(world: World, src: Path) -> None:
    pushed(world, src, record("L-1"), record("L-2"), record("L-3"))
    write(src, record("L-1", "1001"), record("L-2", "1002"), record("L-3", "1003"))
    world.sandbox.requests.clear()
    report = world.json("push", "--all", "--update")
    assert report["summary"] == {"updated": 3}
    kinds = [e.kind for e in world.sandbox.requests if e.method == "POST" and e.kind != "oauth"]
    assert kinds == ["batch"]
    assert [lines(ours(world)[n])[0][0] for n in ("L-1", "L-2", "L-3")] == [1001, 1002, 1003]


def test_many_edits_are_read_together_and_sent_in_batches(world: World, src: Path) -> None:
    numbers = [f"L-{i:02d}" for i in range(65)]
    pushed(world, src, *(record(n) for n in numbers))
    write(src, *(record(n, str(2000 + i)) for i, n in enumerate(numbers)))
    world.sandbox.requests.clear()
    report = world.json("push", "--all", "--update")
    assert report["summary"] == {"updated": 65}
    api = [e for e in world.sandbox.requests if e.kind not in ("oauth", "admin", "other")]
    assert [e.kind for e in api if e.method == "POST" and e.kind != "query"] == ["batch"] * 3
    assert not [e for e in api if e.kind == "invoice"]  # no read of one invoice at a time
    by_id = [e for e in api if e.kind == "query" and "Id IN" in e.query.get("query", e.body)]
    assert len(by_id) == 1
    assert [lines(ours(world)[n])[0][0] for n in numbers] == [2000 + i for i in range(65)]


def test_force_needs_update_and_dry_run_void_writes_nothing(world: World, src: Path) -> None:
    pushed(world, src, record("L-1"))
    assert world.run("push", "--all", "--force").exit_code == 2
    write(src, record("L-1", status="cancelled"))
    preview = world.json("push", "--all", "--update", "--dry-run")
    assert preview["results"] == [{**preview["results"][0], "invoice": "L-1", "status": "planned"}]
    assert "would be voided" in preview["results"][0]["message"]
    assert ours(world)["L-1"]["TotalAmt"] == Decimal("100.00")


def test_credit_for_an_unlinked_invoice_stays_open(world: World, src: Path) -> None:
    write(
        src,
        record("L-1", status="draft"),
        record("CN-1", "100", type="credit_note", credit_for="L-1"),
    )
    report = world.json("push", "--all")
    [cn] = report["results"]
    assert cn["status"] == "created" and cn["credit"] is None
    assert "L-1 is not linked yet: the credit stays open" in cn["message"]
    assert ours(world, "CreditMemo")["CN-1"]["RemainingCredit"] == Decimal("10.00")
    assert world.sandbox.company(US).entities["Payment"] == {}


def test_reconcile_tells_our_update_from_theirs(world: World, src: Path) -> None:
    pushed(world, src, record("L-1"), record("L-2"), record("L-3"))
    note = record("CN-1", "100", type="credit_note", credit_for="L-2")
    write(src, record("L-1", "1100"), record("L-2"), record("L-3", "1100"), note)
    assert world.run("push", "--all", "--update").exit_code == 0
    row = ours(world)["L-1"]
    edit = {"Id": row["Id"], "SyncToken": row["SyncToken"], "sparse": True, "TxnDate": "2026-10-07"}
    world.sandbox.company(US).update("Invoice", edit)
    states = {d["invoice"]: d["state"] for d in world.json("reconcile")["links"]}
    assert states == {
        "CN-1": "credit applied",
        "L-1": "changed",
        "L-2": "credit applied",
        "L-3": "updated",
    }


def test_interrupted_credit_memo_is_adopted_even_when_its_id_is_an_invoices(
    world: World, src: Path
) -> None:
    """Credit memos and invoices have separate Ids: credit memo 2 is not invoice 2."""
    note_a = record("CN-A", "10", type="credit_note")
    note_b = record("CN-B", "20", type="credit_note", credit_for="L-1")
    pushed(world, src, record("L-1"), note_a)
    write(src, record("L-1"), note_a, note_b)
    payload = world.json("push", "CN-B", "--dry-run")["results"][0]["payload"]
    made = world.sandbox.company(US).create("CreditMemo", payload)  # the run died after this
    assert made["Id"] == ours(world)["L-1"]["Id"]
    report = {r["invoice"]: r for r in world.json("push", "--all")["results"]}
    assert report["CN-B"]["status"] == "adopted", report["CN-B"]
    assert report["CN-B"]["credit"]["amount"] == "2.00"
    assert len(world.sandbox.company(US).entities["CreditMemo"]) == 2


def test_change_lines_show_money_with_cents(world: World, src: Path) -> None:
    def priced(price: str) -> dict[str, Any]:
        line = {"service": "Translation", "quantity": "1000", "unit_price": price}
        return {**record("L-1"), "lines": [line]}

    pushed(world, src, priced("0.294"))
    write(src, priced("0.3185"))
    preview = world.json("push", "--all", "--update", "--dry-run")
    (planned,) = preview["results"]
    assert planned["changes"] == [
        "line 1 unit price: 0.294 → 0.3185",
        "line 1 amount: 294.00 → 318.50",
    ]


def test_void_prints_void_results_not_push_results(world: World, src: Path) -> None:
    pushed(world, src, record("L-1"))
    done = world.run("void", "L-1")
    assert done.exit_code == 0, done.stderr
    assert "Void results" in done.stdout and "Push results" not in done.stdout
