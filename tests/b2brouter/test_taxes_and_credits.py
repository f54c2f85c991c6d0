"""A Spanish freelance invoice carries 21 % IVA and a 15 % IRPF withholding on one
line, and is corrected by a credit note that references it. Both go to B2BRouter exactly once,
with the totals B2BRouter computes (500.00 + 105.00 - 75.00 = 530.00)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import jsonschema
import pytest

from tests.b2brouter.world import SAMPLES, B2BWorld, eu_invoice

FREELANCE = SAMPLES / "es" / "freelance.json"

IVA_IRPF: dict[str, Any] = {
    "service": "Translation",
    "quantity": "1",
    "unit_price": "500.00",
    "taxes": [
        {"category": "S", "rate": "21", "name": "IVA"},
        {"category": "S", "rate": "-15", "name": "IRPF"},
    ],
}


def freelance() -> list[dict[str, Any]]:
    """The shipped sample docs/b2brouter.md walks through: the invoice and its credit note."""
    records: list[dict[str, Any]] = json.loads(FREELANCE.read_text(encoding="utf-8"))
    return records


def test_the_freelance_sample_follows_the_shipped_schema() -> None:
    schema = json.loads((SAMPLES.parent / "invoice.schema.json").read_text(encoding="utf-8"))
    for record in freelance():
        jsonschema.validate(record, schema)


def test_iva_and_irpf_and_a_credit_note_go_to_b2brouter_once(eu: B2BWorld) -> None:
    eu.source(freelance())
    result = eu.es("push", "--all", "--json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert [(r["invoice"], r["status"]) for r in doc["results"]] == [
        ("F-2026-001", "created"),
        ("R-2026-001", "created"),
    ]
    made = {n: rows[0] for n, rows in eu.by_number().items()}
    inv, note = made["F-2026-001"], made["R-2026-001"]
    assert Decimal(inv["subtotal"]) == Decimal("500.00")
    assert [(t["name"], t["category"], Decimal(t["percent"]), Decimal(t["amount"])) for t in inv["taxes"]] == [
        ("IVA", "S", Decimal(21), Decimal("105.00")),
        ("IRPF", "S", Decimal(-15), Decimal("-75.00")),
    ]  # fmt: skip
    assert Decimal(inv["total"]) == Decimal("530.00")
    assert inv.get("is_credit_note") is False
    assert note["is_credit_note"] is True
    assert note["invoice_references"] == [{"number": "F-2026-001", "date": "2026-10-05"}]
    assert Decimal(note["total"]) == Decimal("-530.00")
    creates = [w for w in eu.writes() if w["method"] == "POST" and w["path"].endswith("/invoices")]
    assert len(creates) == 2
    assert doc["results"][1]["message"] == "credits F-2026-001 by its invoice reference"
    links = {
        r["number"]: r["link"] for r in json.loads(eu.es("invoices", "--json").stdout)["invoices"]
    }
    assert (links["R-2026-001"]["kind"], links["R-2026-001"]["remote_id"]) == (
        "credit_note",
        str(note["id"]),
    )
    assert (links["F-2026-001"]["kind"], links["F-2026-001"]["remote_id"]) == (
        "invoice",
        str(inv["id"]),
    )
    again = eu.es("push", "--all", "--json")
    assert again.exit_code == 0, again.stderr
    assert [r["status"] for r in json.loads(again.stdout)["results"]] == ["skipped"] * 2
    assert len([w for w in eu.writes() if w["method"] == "POST"]) == 2
    assert len(eu.by_number()["R-2026-001"]) == 1


def test_a_lost_answer_to_the_credit_note_is_adopted_not_created_twice(eu: B2BWorld) -> None:
    invoice, credit = freelance()
    eu.source([invoice])
    assert eu.es("push", "--all").exit_code == 0
    eu.source([invoice, credit])
    eu.faults(drop_next_writes=1)
    lost = eu.es("push", "--all", "--json")
    assert [e for e in eu.b2b.log() if e["dropped"]], "the fault cut no connection"
    eu.faults()
    assert lost.exit_code == 0, lost.stderr  # looked up after the lost answer, and adopted
    assert len(eu.by_number()["R-2026-001"]) == 1
    again = eu.es("push", "--all", "--json")
    assert again.exit_code == 0, again.stderr
    assert len(eu.by_number()["R-2026-001"]) == 1
    links = {
        r["number"]: r["link"] for r in json.loads(eu.es("invoices", "--json").stdout)["invoices"]
    }
    assert links["R-2026-001"]["kind"] == "credit_note"


def test_a_credit_note_for_an_invoice_b2brouter_lacks_is_refused_first(eu: B2BWorld) -> None:
    _invoice, credit = freelance()
    eu.source([credit])
    result = eu.es("push", "--all")
    assert result.exit_code == 5, result.stderr
    assert (
        "credit_for 'F-2026-001': the credited invoice is neither in this push nor in B2BRouter; "
        "push it with the credit note or first (a B2BRouter credit note references the invoice "
        "it credits by number and date)"
    ) in " ".join(result.stderr.split())
    assert eu.writes() == []
    credit.pop("credit_for")
    eu.source([credit])
    result = eu.es("push", "--all")
    assert result.exit_code == 5
    assert "a B2BRouter credit note must name the invoice it credits: give `credit_for`" in (
        result.stderr
    )


def test_the_rounding_check_counts_every_tax_of_a_line(eu: B2BWorld) -> None:
    """Three lines of 0.05 with 21 % IVA and -15 % IRPF: taxes per line give 0.03 (three
    0.01) and -0.03; taxes per group give 0.03 and -0.02. The account rounds per group, the
    source states the per-line total: the difference is explained and nothing is sent."""
    line = dict(IVA_IRPF, unit_price="0.05")
    eu.source([eu_invoice("F-ROUND", lines=[line, line, line], totals={"total": "0.15"})])
    result = eu.es("push", "--all")
    assert result.exit_code == 5, result.stderr
    said = " ".join(result.stderr.split())
    assert "B2BRouter would compute subtotal 0.15, tax 0.01, total 0.16" in said
    assert "the source states total 0.15 (subtotal 0.15, tax 0.01 computed)" in said
    assert eu.writes() == []


def test_void_names_the_credit_note_that_b2brouter_now_takes(eu: B2BWorld) -> None:
    """The refusal told users to push a credit note while B2BRouter credit notes were refused;
    now it says how to write one, and pushing it works."""
    invoice, credit = freelance()
    eu.source([invoice])
    assert eu.es("push", "--all").exit_code == 0
    refused = eu.es("void", "F-2026-001", "--json")
    assert refused.exit_code == 3
    message = json.loads(refused.stdout)["results"][0]["message"]
    assert (
        'issue a credit note in the source ("type": "credit_note", "credit_for": "F-2026-001"; '
        "and a new invoice if needed) and push it; it goes to B2BRouter referencing the invoice "
        "it credits"
    ) in message
    eu.source([invoice, credit])
    pushed = eu.es("push", "R-2026-001", "--json")
    assert pushed.exit_code == 0, pushed.stderr
    [note] = eu.by_number()["R-2026-001"]
    assert note["invoice_references"] == [{"number": "F-2026-001", "date": "2026-10-05"}]


def test_a_credit_note_never_references_an_invoice_refused_in_the_same_push(
    eu: B2BWorld,
) -> None:
    """The credited invoice is in the push but cannot go (its stated total is a cent off what
    B2BRouter computes): the credit note is refused too, never sent referencing an invoice
    B2BRouter will not have."""
    invoice, credit = freelance()
    invoice["totals"] = {"total": "530.01"}
    eu.source([invoice, credit])
    result = eu.es("push", "--all", "--json")
    assert result.exit_code == 3, result.stderr  # a batch with refusals
    got = {r["invoice"]: r for r in json.loads(result.stdout)["results"]}
    assert got["F-2026-001"]["status"] == got["R-2026-001"]["status"] == "failed"
    assert (
        "the credited invoice is neither in this push nor in B2BRouter"
        in (got["R-2026-001"]["message"])
    )
    assert eu.writes() == []


def test_the_freelance_run_sends_both_documents_and_fetches_their_pdf_and_ubl(
    eu: B2BWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """docs/b2brouter.md's walk-through, end to end: the invoice with IVA and IRPF and its credit
    note are pushed and sent once each; after the network acts, `reconcile` shows each one's
    delivery and VeriFactu state; the PDF and the UBL of each come back as files."""
    monkeypatch.setattr("invoicesync.usecases.pdf._pause", lambda seconds: None)
    eu.source(freelance())
    pushed = eu.es("push", "--all", "--send", "--json")
    assert pushed.exit_code == 0, pushed.stderr
    results = json.loads(pushed.stdout)["results"]
    assert [(r["invoice"], r["status"], r["kind"]) for r in results] == [
        ("F-2026-001", "created", "invoice"),
        ("R-2026-001", "created", "credit_note"),
    ]
    assert all("sent" in r["message"] for r in results), results
    with eu.b2b.lock:
        eu.b2b.network.deliver_all()
    report = json.loads(eu.es("reconcile", "--json").stdout)
    states = {d["invoice"]: d for d in report["links"]}
    for number in ("F-2026-001", "R-2026-001"):
        assert states[number]["state"] == "ok", states[number]
        assert states[number]["delivery"]["state"] == "sent"
        assert [(r["kind"], r["state"]) for r in states[number]["registrations"]] == [
            ("Verifactu", "registered")
        ]
    folder = eu.home.parent / "legal"
    folder.mkdir()
    for fmt, suffix, start in (("pdf", ".pdf", b"%PDF-"), ("ubl", ".ubl.xml", b"<")):
        got = eu.es("pdf", "F-2026-001", "R-2026-001", "--format", fmt, "-o", str(folder))
        assert got.exit_code == 0, got.stderr
        for number in ("F-2026-001", "R-2026-001"):
            assert (folder / f"{number}{suffix}").read_bytes().lstrip().startswith(start)
    assert b"R-2026-001" in (folder / "R-2026-001.ubl.xml").read_bytes()
    again = eu.es("push", "--all", "--send", "--json")
    assert [r["status"] for r in json.loads(again.stdout)["results"]] == ["skipped"] * 2
    sends = [w for w in eu.writes() if "/invoices/send_invoice/" in w["path"]]
    assert len(sends) == 2  # each document sent once
