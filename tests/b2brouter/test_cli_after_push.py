"""`payments`, `send` and `pdf` with a B2BRouter profile."""

from __future__ import annotations

import json

import pytest

from invoicesync.targets.b2brouter.followup import B2BRouterFollowUps
from tests.b2brouter.world import B2BWorld, eu_invoice


def test_payments_show_what_b2brouter_reports_as_paid(eu: B2BWorld) -> None:
    assert eu.es("push", "--all").exit_code == 0
    linked = {
        r["number"]: r["link"]["remote_id"]
        for r in json.loads(eu.es("invoices", "--json").stdout)["invoices"]
        if r["link"]
    }
    eu.state(int(linked["ES-2026-0101"]), "paid", "2026-11-01")
    result = eu.es("payments", "--json")
    assert result.exit_code == 0, result.stderr
    got = {i["invoice"]: i for i in json.loads(result.stdout)["invoices"]}
    assert got["ES-2026-0101"]["state"] == "paid"
    assert got["ES-2026-0102"]["state"] != "paid"


def test_send_delivers_once_and_refuses_a_recipient(eu: B2BWorld) -> None:
    assert eu.es("push", "ES-2026-0103").exit_code == 0
    to = eu.es("send", "ES-2026-0103", "--to", "x@example.com")
    assert to.exit_code == 2 and "the contact's own channel" in to.stdout + to.stderr
    sent = eu.es("send", "ES-2026-0103")
    assert sent.exit_code == 0, sent.stderr
    assert eu.by_number()["ES-2026-0103"][0]["state"] == "sending"
    again = eu.es("send", "ES-2026-0103")
    assert again.exit_code == 0 and "already sent" in again.stdout + again.stderr
    assert len([w for w in eu.writes() if "send_invoice" in w["path"]]) == 1


def test_pdf_waits_for_b2brouter_and_fetches_the_e_invoice(
    eu: B2BWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert eu.es("push", "ES-2026-0103").exit_code == 0
    waited: list[float] = []
    monkeypatch.setattr("invoicesync.usecases.pdf._pause", waited.append)
    folder = eu.home.parent / "docs"
    folder.mkdir()
    pdf = eu.es("pdf", "ES-2026-0103", "-o", str(folder), "--json")
    assert pdf.exit_code == 0, pdf.stderr
    assert waited == [1.0]  # the first answer was 404: generated asynchronously
    [row] = json.loads(pdf.stdout)["results"]
    assert (row["status"], row["format"]) == ("written", "pdf")
    assert (folder / "ES-2026-0103.pdf").read_bytes().startswith(b"%PDF-")
    ubl = eu.es("pdf", "ES-2026-0103", "--format", "ubl", "-o", str(folder))
    assert ubl.exit_code == 0, ubl.stderr
    assert b"<ID>ES-2026-0103</ID>" in (folder / "ES-2026-0103.ubl.xml").read_bytes()
    paths = [e["path"] for e in eu.b2b.log() if "/as/" in e["path"]]
    assert paths[-1].endswith("/as/xml.ubl.invoice.bis3")
    original = eu.es("pdf", "ES-2026-0103", "--format", "original", "-o", str(folder))
    assert original.exit_code == 0 and (folder / "ES-2026-0103.original.xml").exists()
    bad = eu.es("pdf", "ES-2026-0103", "--format", "docx")
    assert (
        bad.exit_code == 2 and "--format must be one of pdf, ubl, facturae, original" in bad.stderr
    )


def test_pdf_that_is_never_generated_exits_7_with_what_to_do(
    eu: B2BWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert eu.es("push", "ES-2026-0103").exit_code == 0
    waited: list[float] = []
    monkeypatch.setattr("invoicesync.usecases.pdf._pause", waited.append)
    [pushed] = eu.by_number()["ES-2026-0103"]
    eu.b2b.network.deliveries.of[pushed["id"]].pdf_wait = 1000
    result = eu.es("pdf", "ES-2026-0103", "-o", str(eu.home.parent / "x.pdf"))
    assert result.exit_code == 7
    assert "has not generated the PDF" in result.stdout
    assert "run `invoicesync pdf ES-2026-0103` again in a few minutes" in result.stdout
    assert sum(waited) == 60.0  # the documented bound
    assert not (eu.home.parent / "x.pdf").exists()


def test_send_refuses_an_invoice_b2brouter_cannot_deliver(
    eu: B2BWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """/validate still guards a contact whose channel invoicesync cannot judge (a B2BRouter
    that does not name `transport_type_code`: the field's name is UNVERIFIED)."""
    monkeypatch.setattr(B2BRouterFollowUps, "undeliverable", lambda self, rows: {})
    juan = eu_invoice("EU-J", customer={"name": "Juan Pérez", "country": "ES"})
    eu.source([juan])
    assert eu.es("push", "EU-J").exit_code == 0, eu.es("push", "EU-J").stderr
    sent = eu.es("send", "EU-J")
    assert sent.exit_code == 5
    assert "B2BRouter cannot deliver" in sent.stdout and "no transport" in sent.stdout
    assert [w for w in eu.writes() if "send_invoice" in w["path"]] == []


def test_send_refuses_contacts_without_a_channel_before_queueing_anything(eu: B2BWorld) -> None:
    """The contact's transport is checked for the whole batch first (each contact
    read once, however many invoices it has), and an invoice whose contact has no delivery
    channel is refused with what to do, without asking /validate or queueing it."""
    juan = {"name": "Juan Pérez", "country": "ES"}
    globex_pt = {"name": "Globex", "tax_id": "PT501234567", "country": "PT"}
    eu.source(
        [
            eu_invoice("EU-J1", customer=juan),
            eu_invoice("EU-J2", customer=juan),
            eu_invoice("EU-PT", customer=globex_pt),
            eu_invoice("EU-OK"),
        ]
    )
    assert eu.es("push", "--all").exit_code == 0
    before = len(eu.b2b.log())
    sent = eu.es("send", "EU-J1", "EU-J2", "EU-PT", "EU-OK", "--json")
    assert sent.exit_code == 3, sent.stderr  # some sent, some refused
    got = {r["invoice"]: r for r in json.loads(sent.stdout)["results"]}
    assert got["EU-OK"]["status"] == "sent"
    for number in ("EU-J1", "EU-J2", "EU-PT"):
        assert got[number]["status"] == "failed"
        assert "has no delivery channel" in got[number]["message"]
        assert "B2BRouter → Contacts" in got[number]["message"]
    assert "'Juan Pérez'" in got["EU-J1"]["message"]
    asked = [e["path"] for e in eu.b2b.log()[before:]]
    contact_reads = [p for p in asked if p.startswith("/contacts/")]
    assert len(contact_reads) == len(set(contact_reads)) == 3  # Juan, Globex PT, Acme: once each
    ids = {n: inv[0]["id"] for n, inv in eu.by_number().items() if n.startswith("EU-")}
    assert [p for p in asked if "send_invoice" in p] == [f"/invoices/send_invoice/{ids['EU-OK']}"]
    assert [p for p in asked if p.endswith("/validate")] == [f"/invoices/{ids['EU-OK']}/validate"]
    alone = eu.es("send", "EU-PT")
    assert alone.exit_code == 5 and "has no delivery channel" in alone.stdout + alone.stderr


def test_push_send_leaves_an_invoice_without_a_channel_unsent(eu: B2BWorld) -> None:
    eu.source([eu_invoice("EU-J", customer={"name": "Juan Pérez", "country": "ES"})])
    pushed = eu.es("push", "EU-J", "--send", "--json")
    [result] = json.loads(pushed.stdout)["results"]
    assert result["status"] == "created"
    assert any(
        "has no delivery channel" in w for w in result["warnings"] + [result["message"] or ""]
    )
    assert [w for w in eu.writes() if "send_invoice" in w["path"]] == []
