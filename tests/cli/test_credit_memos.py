"""Credit notes through every follow-up command, against the in-process sandbox.

The sandbox numbers each entity on its own, like QuickBooks: the company's first credit memo is
CreditMemo 1, and the company already has Invoice 1 (Contoso Ltd, DocNumber 1037, entered by
hand). Every command must address the credit memo, never the invoice that shares its Id.
"""

from __future__ import annotations

import copy
import json
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from invoicesync.marker import marker_of
from tests.helpers import US, World

NOTE: dict[str, Any] = {
    "number": "CN-1",
    "type": "credit_note",
    "credit_for": "INV-2026-0106",
    "customer": {"name": "Northwind Traders"},
    "issue_date": "2026-10-16",
    "currency": "USD",
    "lines": [{"service": "Translation", "quantity": "500", "unit_price": "0.10"}],
}
CONTOSO: dict[str, Any] = {  # the source's record of QuickBooks' invoice 1037 (Invoice 1)
    "number": "INV-2026-0111",
    "customer": {"name": "Contoso Ltd"},
    "issue_date": "2026-10-22",
    "currency": "USD",
    "lines": [{"service": "Translation", "quantity": "3500", "unit_price": "0.12"}],
}


def write(path: Path, *records: dict[str, Any]) -> None:
    path.write_text(json.dumps(list(records)), encoding="utf-8")


@pytest.fixture
def src(world: World) -> Path:
    world.connect()
    path = world.home.parent / "month.json"
    world.monkeypatch.setenv("INVOICESYNC_SOURCE", str(path))
    write(path, NOTE, CONTOSO)
    return path


@pytest.fixture
def cn(world: World, src: Path) -> World:
    """CN-1 pushed: CreditMemo 1, while Invoice 1 is Contoso's."""
    result = world.run("push", "CN-1")
    assert result.exit_code == 0, result.stderr
    assert memo(world)["Id"] == "1" == contoso(world)["Id"]
    world.sandbox.requests.clear()
    return world


def entities(world: World, name: str) -> dict[str, dict[str, Any]]:
    return world.sandbox.company(US).entities[name]  # type: ignore[no-any-return]


def memo(world: World) -> dict[str, Any]:
    return entities(world, "CreditMemo")["1"]


def contoso(world: World) -> dict[str, Any]:
    row = entities(world, "Invoice")["1"]
    assert row["DocNumber"] == "1037"
    return row


def paths(world: World, method: str) -> list[str]:
    prefix = f"/v3/company/{US}/"
    return [
        e.path.removeprefix(prefix)
        for e in world.sandbox.requests
        if e.method == method and e.path.startswith(prefix)
    ]


def test_send_emails_the_credit_memo_never_the_invoice_with_its_id(cn: World) -> None:
    before = copy.deepcopy(contoso(cn))
    result = cn.run("send", "CN-1", "--to", "ap@northwind.example", "--json")
    assert result.exit_code == 0, result.stderr
    [sent] = json.loads(result.stdout)["results"]
    assert sent["status"] == "sent" and sent["kind"] == "credit_note" and sent["remote_id"] == "1"
    assert sent["to"] == "ap@northwind.example"
    assert [p for p in paths(cn, "POST") if p.endswith("/send")] == ["creditmemo/1/send"]
    assert memo(cn)["EmailStatus"] == "EmailSent"
    assert memo(cn)["BillEmail"] == {"Address": "ap@northwind.example"}
    assert contoso(cn) == before  # Contoso's invoice neither e-mailed nor re-addressed
    again = cn.run("send", "CN-1")
    assert again.exit_code == 0 and "already sent" in again.stdout
    assert len(cn.sandbox.company(US).sent) == 1


def test_pdf_is_the_credit_memo(cn: World) -> None:
    out = cn.home.parent / "cn.pdf"
    result = cn.run("pdf", "CN-1", "-o", str(out), "--json")
    assert result.exit_code == 0, result.stderr
    [written] = json.loads(result.stdout)["results"]
    assert written["kind"] == "credit_note" and written["remote_id"] == "1"
    assert paths(cn, "GET")[-1] == "creditmemo/1/pdf"
    assert out.read_bytes() == cn.sandbox.company(US).pdf("CreditMemo", "1")
    assert b"Contoso" not in out.read_bytes()


def test_unlink_removes_the_marker_from_the_credit_memo(cn: World) -> None:
    before = copy.deepcopy(contoso(cn))
    assert marker_of(memo(cn).get("PrivateNote")) == "CN-1"
    result = cn.run("unlink", "CN-1")
    assert result.exit_code == 0, result.stderr
    assert "credit memo 1" in result.stderr
    assert marker_of(memo(cn).get("PrivateNote")) is None
    assert contoso(cn) == before
    [again] = cn.json("push", "CN-1", "--dry-run")["results"]
    assert again["status"] == "failed", again  # not adopted again: our marker is gone
    assert "already belongs to QuickBooks credit memo 1 created outside" in again["message"]


def test_link_by_id_reads_the_credit_memo(cn: World) -> None:
    assert cn.run("unlink", "CN-1").exit_code == 0
    linked = cn.json("link", "CN-1", "1")
    assert linked["kind"] == "credit_note" and linked["remote_id"] == "1", linked
    assert linked["total"] == "50.00"  # the credit memo's total, not Contoso's 420.00
    assert marker_of(memo(cn).get("PrivateNote")) == "CN-1"
    assert marker_of(contoso(cn).get("PrivateNote")) is None


def test_a_credit_memo_does_not_own_the_invoice_with_its_id(cn: World) -> None:
    found = cn.json("list-candidates", "INV-2026-0111")
    [best] = [c for c in found["candidates"] if c["remote_id"] == "1"]
    assert best["kind"] == "invoice" and best["linked_to"] is None, best
    linked = cn.run("link", "INV-2026-0111", "--best", "--json")
    assert linked.exit_code == 0, linked.stderr
    doc = json.loads(linked.stdout)
    assert doc["remote_id"] == "1" and doc["kind"] == "invoice"
    assert marker_of(contoso(cn).get("PrivateNote")) == "INV-2026-0111"
    assert marker_of(memo(cn).get("PrivateNote")) == "CN-1"


def test_void_of_a_credit_memo_is_refused_with_the_reason(cn: World) -> None:
    before_memo, before_invoice = copy.deepcopy(memo(cn)), copy.deepcopy(contoso(cn))
    result = cn.run("void", "CN-1")
    assert result.exit_code == 3, result.stderr  # QuickBooks' rule: no void for a credit memo
    said = result.stdout + result.stderr
    assert "QuickBooks has no void for a credit memo (credit memo 1)" in said
    assert memo(cn) == before_memo and contoso(cn) == before_invoice
    assert not [p for p in paths(cn, "POST") if p != "query"]


def test_update_of_a_credit_memo_changed_in_quickbooks_says_credit_memo(
    cn: World, src: Path
) -> None:
    row = memo(cn)
    edit = {"Id": "1", "SyncToken": row["SyncToken"], "sparse": True, "TxnDate": "2026-10-17"}
    cn.sandbox.company(US).update("CreditMemo", edit)
    changed = dict(
        NOTE, lines=[{"service": "Translation", "quantity": "600", "unit_price": "0.10"}]
    )
    write(src, changed, CONTOSO)
    before = copy.deepcopy(contoso(cn))
    refused = cn.run("push", "CN-1", "--update")
    assert refused.exit_code == 6, refused.stderr
    said = refused.stdout + refused.stderr
    assert "the QuickBooks credit memo was changed in QuickBooks" in said
    forced = cn.json("push", "CN-1", "--update", "--force")
    [result] = forced["results"]
    assert result["status"] == "updated" and result["kind"] == "credit_note", result
    assert memo(cn)["TotalAmt"] == Decimal("60.00")
    assert contoso(cn) == before


def test_reconcile_reports_a_deleted_credit_memo_as_a_credit_memo(cn: World) -> None:
    del entities(cn, "CreditMemo")["1"]
    doc = cn.json("reconcile")
    [link] = doc["links"]
    assert link["kind"] == "credit_note" and link["state"] == "deleted"
    assert link["details"] == ["the QuickBooks credit memo was deleted"]


def test_rebuild_finds_the_credit_memo_by_its_marker(cn: World) -> None:
    for f in cn.home.glob("state.db*"):
        f.unlink()
    doc = cn.json("reconcile", "--rebuild")
    rebuilt = {r["invoice"]: r for r in doc["rebuilt"]}
    assert rebuilt["CN-1"]["kind"] == "credit_note" and rebuilt["CN-1"]["remote_id"] == "1"
    assert "INV-2026-0111" not in rebuilt  # Contoso's invoice carries no marker of ours
    listed = {i["number"]: i["link"] for i in cn.json("invoices")["invoices"]}
    assert listed["CN-1"]["kind"] == "credit_note"


def _forget_kind(world: World, number: str) -> None:
    """The link as a version before kinds were recorded left it (store/kinds.py)."""
    db = sqlite3.connect(world.home / "state.db")
    with db:
        db.execute("UPDATE links SET kind = 'unknown' WHERE invoice_number = ?", (number,))
    db.close()


def test_a_link_of_unknown_kind_is_settled_by_our_marker_before_the_send(cn: World) -> None:
    _forget_kind(cn, "CN-1")
    assert cn.json("invoices")["invoices"][0]["link"]["kind"] == "unknown"
    result = cn.run("send", "CN-1", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["results"][0]["kind"] == "credit_note"
    assert [p for p in paths(cn, "POST") if p.endswith("/send")] == ["creditmemo/1/send"]
    reads = [p for p in paths(cn, "GET") if p in {"invoice/1", "creditmemo/1"}]
    assert reads == ["invoice/1", "creditmemo/1"]  # one read per kind, then recorded
    listed = {i["number"]: i["link"] for i in cn.json("invoices")["invoices"]}
    assert listed["CN-1"]["kind"] == "credit_note"


def test_a_link_of_unknown_kind_without_proof_is_refused_never_guessed(cn: World) -> None:
    memo(cn)["PrivateNote"] = ""  # our marker gone: nothing says which document id 1 is
    _forget_kind(cn, "CN-1")
    before = copy.deepcopy(entities(cn, "Invoice"))
    refused = cn.run("send", "CN-1", "--to", "ap@northwind.example")
    assert refused.exit_code == 6, refused.stderr
    said = refused.stdout + refused.stderr
    assert "is an invoice or a credit memo" in said and "nothing was sent" in said
    assert not [p for p in paths(cn, "POST") if p.endswith("/send")]
    assert entities(cn, "Invoice") == before
    for command in (("pdf", "CN-1", "-o", str(cn.home.parent / "x.pdf")), ("void", "CN-1")):
        assert cn.run(*command).exit_code == 6
    drift = {d["invoice"]: d for d in cn.json("reconcile")["links"]}
    assert drift["CN-1"]["state"] == "unknown kind" and drift["CN-1"]["kind"] == "unknown"
    unlinked = cn.run("unlink", "CN-1")
    assert unlinked.exit_code == 0, unlinked.stderr  # the link goes; no document is written
    assert entities(cn, "Invoice") == before


def test_a_credit_notes_attachment_goes_on_the_credit_memo(world: World, src: Path) -> None:
    (src.parent / "cn-1.pdf").write_bytes(b"%PDF-1.4 credit note")
    write(src, dict(NOTE, attachments=["cn-1.pdf"]), CONTOSO)
    result = world.json("push", "CN-1")
    assert "attached cn-1.pdf" in result["results"][0]["message"], result
    [attached] = entities(world, "Attachable").values()
    assert attached["AttachableRef"][0]["EntityRef"] == {"type": "CreditMemo", "value": "1"}
    again = world.json("push", "CN-1")  # found on the credit memo: not attached twice
    assert again["results"][0]["status"] == "skipped"
    assert len(entities(world, "Attachable")) == 1


def test_invoices_marks_a_credit_note_in_the_table(world: World, src: Path) -> None:
    listed = world.run("invoices")
    assert listed.exit_code == 0, listed.stderr
    (note,) = [line for line in listed.stdout.splitlines() if "CN-1" in line]
    assert "credit 50.00 USD" in note
    (invoice,) = [line for line in listed.stdout.splitlines() if "INV-2026-0111" in line]
    assert "credit" not in invoice and "420.00 USD" in invoice
