"""list-candidates, link, unlink and reconcile against the sandbox, through the CLI."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from invoicesync.marker import marker_of
from invoicesync.store import Store
from invoicesync.usecases.push_report import request_id
from tests.helpers import US, World

CONTOSO_EXTRA = {
    "number": "INV-2026-0111",
    "customer": {"name": "Contoso Ltd"},
    "issue_date": "2026-10-22",
    "currency": "USD",
    "lines": [{"service": "Translation", "quantity": "3500", "unit_price": "0.12"}],
}


def with_extra(world: World, *records: dict[str, Any]) -> None:
    """The US samples plus extra invoices (the one entered by hand in QBO, others)."""
    src = world.source("us")
    data = json.loads(src.read_text(encoding="utf-8"))
    path = world.home.parent / "source-extra.json"
    path.write_text(json.dumps(data + list(records)), encoding="utf-8")
    world.monkeypatch.setenv("INVOICESYNC_SOURCE", str(path))


def store(world: World) -> Store:
    return Store.open(world.home / "state.db")


def qbo(world: World, remote_id: str) -> dict[str, Any]:
    return world.sandbox.company(US).entities["Invoice"][remote_id]


def test_candidates_find_the_hand_entered_invoice(us: World) -> None:
    with_extra(us, CONTOSO_EXTRA)
    data = us.json("list-candidates", "INV-2026-0111")
    top = data["candidates"][0]
    assert (top["remote_id"], top["doc_number"], top["score"]) == ("1", "1037", 80)
    assert top["reasons"] == ["same customer", "same total", "same date"]
    table = us.run("list-candidates", "INV-2026-0111")
    assert table.exit_code == 0 and "1037" in table.stdout and "same customer" in table.stdout


def test_no_candidates_is_a_message_and_exit_0(us: World) -> None:
    result = us.run("list-candidates", "INV-2026-0106")
    assert result.exit_code == 0
    assert "No QuickBooks invoice looks like INV-2026-0106" in result.stderr
    assert us.json("list-candidates", "INV-2026-0106")["candidates"] == []


def test_candidates_use_few_queries(us: World) -> None:
    with_extra(us, CONTOSO_EXTRA)
    us.sandbox.requests.clear()
    us.run("list-candidates", "INV-2026-0111")
    queries = [e for e in us.sandbox.requests if e.kind == "query"]
    assert len(queries) == 3  # customers, same DocNumber, same customer near the date


def test_link_by_id_writes_marker_and_unlink_removes_it(us: World) -> None:
    with_extra(us, CONTOSO_EXTRA)
    result = us.run("link", "INV-2026-0111", "1")
    assert result.exit_code == 0, result.stderr
    assert "Linked INV-2026-0111 to QuickBooks invoice 1" in result.stderr
    assert marker_of(qbo(us, "1")["PrivateNote"]) == "INV-2026-0111"
    s = store(us)
    link = s.link(US, "INV-2026-0111")
    assert link is not None and link.origin == "linked" and link.marker_written
    assert link.total == Decimal("420.00")
    s.close()
    listed = us.json("invoices")
    row = next(r for r in listed["invoices"] if r["number"] == "INV-2026-0111")
    assert row["link"]["remote_id"] == "1"

    out = us.run("unlink", "INV-2026-0111")
    assert out.exit_code == 0
    assert "The QuickBooks invoice itself was not changed or deleted" in out.stderr
    assert "a later push creates a new one." in out.stderr  # QuickBooks reuses no number
    assert "1" in us.sandbox.company(US).entities["Invoice"]
    assert marker_of(qbo(us, "1").get("PrivateNote")) is None
    s = store(us)
    assert s.link(US, "INV-2026-0111") is None
    assert s.generation(US, "INV-2026-0111") == 1
    kinds = [k for _, n, k, _ in s.events(US) if n == "INV-2026-0111"]
    s.close()
    assert kinds == ["linked", "unlinked"]


def test_unlink_is_idempotent(us: World) -> None:
    result = us.run("unlink", "INV-2026-0101")
    assert result.exit_code == 0
    assert "INV-2026-0101 is not linked; nothing to do." in result.stderr
    assert us.json("unlink", "INV-2026-0101")["was_linked"] is False


def test_unlink_then_push_uses_a_fresh_requestid(us: World) -> None:
    assert us.run("push", "INV-2026-0107").exit_code == 0
    first = us.json("push", "INV-2026-0107")["results"][0]
    assert first["status"] == "skipped"
    assert us.run("unlink", "INV-2026-0107").exit_code == 0
    # The old invoice is still in QBO with DocNumber INV-2026-0107 but without our marker now:
    # a new push is a conflict, not a replay of the old requestid that would relink it.
    again = us.run("push", "INV-2026-0107")
    assert again.exit_code == 6
    creates = [
        e.requestid for e in us.sandbox.requests if e.kind == "invoice" and e.method == "POST"
    ]
    assert request_id(US, "INV-2026-0107", 0) in creates


def test_link_refusals_exit_6(us: World) -> None:
    with_extra(us, CONTOSO_EXTRA)
    assert us.run("push", "INV-2026-0107").exit_code == 0
    pushed = us.json("invoices")
    qbo_0107 = next(r for r in pushed["invoices"] if r["number"] == "INV-2026-0107")["link"][
        "remote_id"
    ]
    taken = us.run("link", "INV-2026-0111", qbo_0107)
    assert taken.exit_code == 6
    assert f"QuickBooks invoice {qbo_0107} is already linked to INV-2026-0107" in taken.stderr
    already = us.run("link", "INV-2026-0107", "1")
    assert already.exit_code == 6
    assert f"INV-2026-0107 is already linked to QuickBooks invoice {qbo_0107}" in already.stderr


def test_link_best_and_by_doc_number(us: World) -> None:
    with_extra(us, dict(CONTOSO_EXTRA, issue_date="2026-10-25"))
    weak = us.run("link", "INV-2026-0111", "--best")
    assert weak.exit_code == 6  # 3 days apart: score 72 < 75, not strong enough
    assert "no unambiguous best candidate for INV-2026-0111: 1 (score 72)" in weak.stderr
    assert us.run("link", "INV-2026-0111", "--doc-number", "1037").exit_code == 0
    assert store(us).link(US, "INV-2026-0111").remote_id == "1"  # type: ignore[union-attr]


def test_link_best_takes_a_strong_unambiguous_match(us: World) -> None:
    extra = dict(CONTOSO_EXTRA, number="1037")
    with_extra(us, extra)
    result = us.json("link", "1037", "--best")
    assert result["remote_id"] == "1"


def test_link_warns_when_amounts_disagree(us: World) -> None:
    extra = dict(
        CONTOSO_EXTRA, lines=[{"service": "Translation", "quantity": "3000", "unit_price": "0.12"}]
    )
    with_extra(us, extra)
    result = us.run("link", "INV-2026-0111", "1")
    assert result.exit_code == 0
    assert "total differs: QuickBooks 420.00, source 360.00" in result.stderr


def test_link_unknown_qbo_id_and_no_id_without_terminal(us: World) -> None:
    assert us.run("link", "INV-2026-0101", "999").exit_code == 2
    no_tty = us.run("link", "INV-2026-0101")
    assert no_tty.exit_code == 2
    assert "give the QuickBooks invoice (or credit memo) id" in no_tty.stderr


# --- reconcile ---------------------------------------------------------------------------------


def test_reconcile_detects_each_kind_of_drift(us: World) -> None:
    assert us.run("push", "--all").exit_code == 0
    links = {
        r["number"]: r["link"]["remote_id"] for r in us.json("invoices")["invoices"] if r["link"]
    }
    company = us.sandbox.company(US)
    # Made directly in QuickBooks, as a user would:
    paid, changed, voided, deleted = (
        links["INV-2026-0101"],
        links["INV-2026-0102"],
        links["INV-2026-0103"],
        links["INV-2026-0104"],
    )
    company.record_payment(paid)
    body = dict(company.entities["Invoice"][changed])
    body["Line"] = [ln for ln in body["Line"] if ln["DetailType"] == "SalesItemLineDetail"][:1]
    company.update("Invoice", body)
    company.void({"Id": voided, "SyncToken": company.entities["Invoice"][voided]["SyncToken"]})
    company.delete(
        "Invoice", {"Id": deleted, "SyncToken": company.entities["Invoice"][deleted]["SyncToken"]}
    )
    report = us.json("reconcile")
    states = {d["invoice"]: d["state"] for d in report["links"]}
    assert states["INV-2026-0101"] == "paid"
    assert states["INV-2026-0102"] == "changed"
    assert states["INV-2026-0103"] == "voided"
    assert states["INV-2026-0104"] == "deleted"
    assert states["INV-2026-0105"] == "ok"
    detail = next(d for d in report["links"] if d["invoice"] == "INV-2026-0102")["details"]
    assert "total 1298.00 → 1148.00" in detail
    table = us.run("reconcile")
    assert table.exit_code == 0 and "1 changed" in table.stderr and "1 deleted" in table.stderr
    shown = {
        r["number"]: r["link"]["remote_state"] for r in us.json("invoices")["invoices"] if r["link"]
    }
    assert shown["INV-2026-0101"] == "paid" and shown["INV-2026-0103"] == "voided"
    assert "paid" in us.run("invoices").stdout


def test_reconcile_reads_linked_invoices_in_few_requests(us: World) -> None:
    assert us.run("push", "--all").exit_code == 0
    us.sandbox.requests.clear()
    us.run("reconcile")
    api = [e for e in us.sandbox.requests if e.kind not in {"oauth"}]
    assert [e.kind for e in api] == ["query", "query"]  # the linked invoices, then copies


def test_rebuild_from_empty_database_restores_every_link(us: World) -> None:
    with_extra(us, CONTOSO_EXTRA)
    assert us.run("push", "--all").exit_code == 0
    before = {
        r["number"]: (r["link"] or {}).get("remote_id") for r in us.json("invoices")["invoices"]
    }
    (us.home / "state.db").unlink()
    for suffix in ("-wal", "-shm"):
        (us.home / f"state.db{suffix}").unlink(missing_ok=True)
    result = us.json("reconcile", "--rebuild")
    rebuilt = {r["invoice"]: r["remote_id"] for r in result["rebuilt"]}
    expected = {n: q for n, q in before.items() if q}
    assert rebuilt == expected
    after = {
        r["number"]: (r["link"] or {}).get("remote_id") for r in us.json("invoices")["invoices"]
    }
    assert after == before
    assert us.json("reconcile", "--rebuild")["rebuilt"] == []  # never overwrites


def test_relinking_after_a_crash_never_replays_the_first_marker_write(us: World) -> None:
    """A link wrote its marker, then the process died before storing the link. Linking the
    same invoice to another QBO invoice must update that invoice, not replay the first write."""
    with_extra(us, CONTOSO_EXTRA)
    assert us.run("link", "INV-2026-0111", "1").exit_code == 0
    s = store(us)
    s.db.execute("DELETE FROM links")  # the crash: marker written, link not stored, same generation
    s.close()
    company = us.sandbox.company(US)
    other = company.create(
        "Invoice",
        {
            "CustomerRef": {"value": "7"},
            "TxnDate": "2026-10-23",
            "Line": [
                {
                    "DetailType": "SalesItemLineDetail",
                    "Amount": 420,
                    "SalesItemLineDetail": {"ItemRef": {"value": "1"}},
                }
            ],
        },
    )
    result = us.json("link", "INV-2026-0111", other["Id"])
    assert result["remote_id"] == other["Id"]
    assert marker_of(qbo(us, other["Id"])["PrivateNote"]) == "INV-2026-0111"
    assert store(us).link(US, "INV-2026-0111").remote_id == other["Id"]  # type: ignore[union-attr]


# --- copies: another QuickBooks invoice carrying our marker -----------------------------------


def _copy_of(us: World, remote_id: str) -> str:
    """A second invoice with the same marker, as a second machine could have made it when its
    copy check after the create failed."""
    company = us.sandbox.company(US)
    row = company.entities["Invoice"][remote_id]
    body = {k: row[k] for k in ("CustomerRef", "TxnDate", "DocNumber", "PrivateNote") if k in row}
    body["Line"] = [ln for ln in row["Line"] if ln["DetailType"] == "SalesItemLineDetail"]
    return str(company.create("Invoice", body, allow_duplicate_doc=True)["Id"])


def test_reconcile_reports_a_copy_and_exit_code_is_10(us: World) -> None:
    assert us.run("push", "INV-2026-0101", "INV-2026-0102").exit_code == 0
    links = {
        r["number"]: r["link"]["remote_id"] for r in us.json("invoices")["invoices"] if r["link"]
    }
    copy = _copy_of(us, links["INV-2026-0101"])
    report = us.json("reconcile")
    states = {d["invoice"]: d for d in report["links"]}
    assert states["INV-2026-0101"]["state"] == "copies"
    assert states["INV-2026-0102"]["state"] == "ok"
    first = links["INV-2026-0101"]
    assert states["INV-2026-0101"]["details"][0] == (
        f"QuickBooks invoices {first}, {copy} all carry our marker for INV-2026-0101"
    )
    assert report["copies"] == [
        {
            "invoice": "INV-2026-0101",
            "kind": "invoice",
            "survivor": first,
            "copies": [copy],
            "removed": [],
            "kept": [],
            "failed": [],
            "would_remove": [copy],  # a proven copy: same content, marker and origin
            "held": [],
        }
    ]
    assert copy in us.sandbox.company(US).entities["Invoice"]  # reported, not deleted
    flagged = us.run("reconcile", "--exit-code")
    assert flagged.exit_code == 10
    assert "reconcile --remove-copies" in flagged.stdout + flagged.stderr


def test_remove_copies_keeps_the_lowest_id_and_moves_our_link_to_it(us: World) -> None:
    assert us.run("push", "INV-2026-0101").exit_code == 0
    mine = us.json("invoices")["invoices"]
    first = next(r["link"]["remote_id"] for r in mine if r["number"] == "INV-2026-0101")
    copy = _copy_of(us, first)
    # This machine's link names the copy (its own create), the other machine's the first.
    db = Store.open(us.home / "state.db")
    db.connection.execute(
        "UPDATE links SET remote_id = ? WHERE invoice_number = ?", (copy, "INV-2026-0101")
    )
    db.connection.commit()
    db.close()
    result = us.json("reconcile", "--remove-copies", "--yes")
    [finding] = result["copies"]
    assert (finding["survivor"], finding["removed"]) == (first, [copy])
    [entry] = [d for d in result["links"] if d["invoice"] == "INV-2026-0101"]
    assert (entry["remote_id"], entry["state"]) == (first, "ok")
    assert entry["details"][0] == f"removed the copy {copy}; QuickBooks invoice {first} stays"
    invoices = us.sandbox.company(US).entities["Invoice"]
    assert copy not in invoices and first in invoices
    marked = [i for i in invoices.values() if marker_of(i.get("PrivateNote")) == "INV-2026-0101"]
    assert len(marked) == 1
    events = [e[2] for e in Store.open(us.home / "state.db").events(US)]
    assert events[-3:] == ["moved", "copy removal", "copy removed"]
    again = us.json("reconcile", "--remove-copies", "--yes")
    assert again["copies"] == []


def test_a_paid_copy_is_never_deleted(us: World) -> None:
    assert us.run("push", "INV-2026-0101").exit_code == 0
    first = us.json("invoices")["invoices"][0]["link"]["remote_id"]
    copy = _copy_of(us, first)
    us.sandbox.company(US).record_payment(copy)
    result = us.json("reconcile", "--remove-copies", "--yes")
    [finding] = result["copies"]
    assert (finding["removed"], finding["kept"]) == ([], [copy])
    [entry] = [d for d in result["links"] if d["invoice"] == "INV-2026-0101"]
    assert entry["state"] == "copies"
    assert f"{copy} has a payment: decide in QuickBooks which one stays" in entry["details"][1]
    assert copy in us.sandbox.company(US).entities["Invoice"]
