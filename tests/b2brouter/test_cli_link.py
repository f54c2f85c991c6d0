"""`list-candidates`, `link`, `unlink`, `reconcile` with a B2BRouter profile, via the CLI."""

from __future__ import annotations

import json
from typing import Any

from invoicesync.marker import marker_of
from tests.b2brouter.world import B2BWorld, eu_invoice

HAND_MADE = eu_invoice(
    "2026-0007",
    issue_date="2026-03-02",
    lines=[
        {
            "service": "Sworn translation",
            "quantity": "12",
            "unit_price": "35.00",
            "tax": "S",
            "tax_rate": "21",
        }
    ],
)


def doc(result: Any) -> Any:
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def ids(eu: B2BWorld) -> dict[str, str]:
    listed = doc(eu.es("invoices", "--json"))["invoices"]
    return {r["number"]: r["link"]["remote_id"] for r in listed if r["link"]}


def test_candidates_find_the_hand_made_invoice(eu: B2BWorld) -> None:
    eu.source([HAND_MADE])
    found = doc(eu.es("list-candidates", "2026-0007", "--json"))["candidates"]
    assert found[0]["remote_id"] == "100001"
    assert found[0]["customer"] == "Acme Ibérica S.A."
    assert found[0]["has_marker"] is False


def test_link_a_sent_invoice_keeps_the_link_without_a_marker(eu: B2BWorld) -> None:
    eu.source([HAND_MADE])
    result = eu.es("link", "2026-0007", "100001")
    assert result.exit_code == 0, result.stderr
    assert "Linked 2026-0007 to B2BRouter invoice 100001" in result.stderr
    assert "could not write the marker into B2BRouter" in result.stderr
    assert "cannot change" in result.stderr
    assert ids(eu) == {"2026-0007": "100001"}
    assert eu.by_number()["2026-0007"][0]["file_reference"] == "PO-7781"
    out = eu.es("unlink", "2026-0007")
    assert out.exit_code == 0, out.stderr
    assert ids(eu) == {}


def test_unlink_removes_the_marker_and_link_writes_it_back(eu: B2BWorld) -> None:
    assert eu.es("push", "ES-2026-0101").exit_code == 0
    remote = ids(eu)["ES-2026-0101"]
    out = doc(eu.es("unlink", "ES-2026-0101", "--json"))
    assert out["was_linked"] is True and out["marker_removed"] is True
    assert eu.by_number()["ES-2026-0101"][0]["file_reference"] is None
    assert doc(eu.es("unlink", "ES-2026-0101", "--json"))["was_linked"] is False  # idempotent
    # The number is still taken in B2BRouter, by an invoice without our marker: a conflict.
    again = eu.es("push", "ES-2026-0101", "--json")
    assert again.exit_code == 6
    message = json.loads(again.stdout)["results"][0]["message"]
    assert f"link it with `invoicesync link ES-2026-0101 {remote}`" in message
    assert eu.es("link", "ES-2026-0101", remote).exit_code == 0
    assert marker_of(eu.by_number()["ES-2026-0101"][0]["file_reference"]) == "ES-2026-0101"
    assert len(eu.by_number()["ES-2026-0101"]) == 1


def test_link_refusals_exit_6_and_unknown_ids_exit_2(eu: B2BWorld) -> None:
    assert eu.es("push", "--all").exit_code == 0
    linked = ids(eu)
    taken = eu.es("link", "ES-2026-0102", linked["ES-2026-0101"])
    assert taken.exit_code == 6
    assert "already linked" in taken.stderr
    eu.source([*json.loads(eu.source().read_text()), HAND_MADE])
    unknown = eu.es("link", "2026-0007", "999999")
    assert unknown.exit_code == 2
    assert "B2BRouter has no invoice with id 999999" in unknown.stderr
    junk = eu.es("link", "2026-0007", "12x")
    assert junk.exit_code == 2


def test_reconcile_shows_delivery_states_payments_and_deletions(eu: B2BWorld) -> None:
    eu.source([*json.loads(eu.source().read_text()), eu_invoice("EU-DEL")])
    assert eu.es("push", "--all", "--send").exit_code == 0
    linked = ids(eu)
    eu.state(int(linked["ES-2026-0101"]), "paid", "2026-11-01")
    eu.state(int(linked["ES-2026-0102"]), "refused")
    eu.state(int(linked["ES-2026-0103"]), "sent")
    eu.state(int(linked["EU-DEL"]), "error")
    with eu.b2b.lock:
        eu.b2b.network.delete_invoice(eu.b2b.network.invoices[int(linked["EU-DEL"])])
    report = doc(eu.es("reconcile", "--json"))
    got = {d["invoice"]: (d["state"], d["details"]) for d in report["links"]}
    assert got["ES-2026-0101"][0] == "paid"
    assert got["ES-2026-0102"] == (
        "refused",
        ["delivery refused: see the invoice in B2BRouter", "Verifactu processing"],
    )
    assert got["ES-2026-0103"] == ("ok", ["delivery sent", "Verifactu processing"])
    assert got["EU-DEL"][0] == "deleted"
    table = eu.es("reconcile")
    assert table.exit_code == 0 and "1 refused" in table.stderr


def test_rebuild_from_an_empty_database_finds_our_invoices_by_marker(eu: B2BWorld) -> None:
    assert eu.es("push", "--all").exit_code == 0
    before = ids(eu)
    state = eu.home / "profiles" / "es" / "state.db"
    state.unlink()
    for suffix in ("-wal", "-shm"):
        state.with_name(f"state.db{suffix}").unlink(missing_ok=True)
    rebuilt = doc(eu.es("reconcile", "--rebuild", "--json"))["rebuilt"]
    assert {r["invoice"]: r["remote_id"] for r in rebuilt} == before
    assert doc(eu.es("reconcile", "--rebuild", "--json"))["rebuilt"] == []


def test_unlink_says_the_number_stays_taken(eu: B2BWorld) -> None:
    assert eu.es("push", "ES-2026-0102").exit_code == 0
    out = eu.es("unlink", "ES-2026-0102")
    assert out.exit_code == 0
    assert "Unlinked ES-2026-0102 from B2BRouter invoice" in out.stderr
    assert "its number stays taken there" in out.stderr


def test_reconcile_shows_why_delivery_failed_and_the_verifactu_state(eu: B2BWorld) -> None:
    """B2BRouter's reason for `error`, each VeriFactu report's state and reason,
    and `--exit-code` counting delivery and registration errors (exit 10)."""
    juan = eu_invoice("EU-J", customer={"name": "Juan Pérez", "country": "ES"})
    eu.source([eu_invoice("EU-NIF"), eu_invoice("EU-OK"), juan])
    assert eu.es("push", "--all").exit_code == 0
    with eu.b2b.lock:  # queued as B2BRouter would (send refuses Juan: see test_cli_after_push)
        net = eu.b2b.network
        ours = [i for i in net.invoices.values() if i.number.startswith("EU-")]
        # EU-NIF first, whatever order the push created them in: its report is opened first,
        # so it is the one that settles first and fails.
        for invoice in sorted(ours, key=lambda i: (i.number != "EU-NIF", i.number)):
            net.send(invoice)
        net.deliveries.fail_reports.append("NIF del destinatario no identificado")
        net.deliver_all()
    calm = eu.es("reconcile", "--json")
    report = doc(calm)
    got = {d["invoice"]: d for d in report["links"]}
    assert got["EU-J"]["state"] == "error"
    assert got["EU-J"]["delivery"]["state"] == "error"
    assert "the contact has no transport" in got["EU-J"]["delivery"]["reason"]
    assert got["EU-J"]["details"][0].startswith("delivery error: the contact has no transport")
    assert got["EU-NIF"]["state"] == "registration error"
    assert got["EU-NIF"]["registrations"] == [
        {"kind": "Verifactu", "state": "error", "reason": "NIF del destinatario no identificado"}
    ]
    assert got["EU-OK"]["state"] == "ok"
    assert got["EU-OK"]["details"] == ["delivery sent", "Verifactu registered"]
    assert calm.exit_code == 0
    strict = eu.es("reconcile", "--exit-code")
    assert strict.exit_code == 10
    assert "Verifactu error: NIF del destinatario no identificado" in strict.stdout
    status = json.loads(eu.es("status", "--json").stdout)
    assert status["last_states"] == {"error": 1, "ok": 1, "registration error": 1}
    assert any(
        "2 linked invoice(s) had a delivery or registration" in w for w in status["warnings"]
    )
    assert "registration error: 1" in eu.es("status").stdout
    listed = {r["number"]: r for r in json.loads(eu.es("invoices", "--json").stdout)["invoices"]}
    assert listed["EU-J"]["link"]["remote_state"] == "error"


def _failed_and_registered(eu: B2BWorld) -> None:
    """EU-J fails delivery (no transport), EU-NIF's VeriFactu report fails, EU-OK is fine."""
    juan = eu_invoice("EU-J", customer={"name": "Juan Pérez", "country": "ES"})
    eu.source([eu_invoice("EU-NIF"), eu_invoice("EU-OK"), juan])
    assert eu.es("push", "--all").exit_code == 0
    with eu.b2b.lock:  # EU-NIF's report settles alone, so the failure is its own
        net = eu.b2b.network
        invoices = [i for i in net.invoices.values() if i.number.startswith("EU-")]
        for first in (True, False):
            for invoice in invoices:
                if (invoice.number == "EU-NIF") is first:
                    net.send(invoice)
            if first:
                net.deliveries.fail_reports.append("NIF del destinatario no identificado")
            net.deliver_all()


def test_invoices_and_status_show_the_reason_and_the_verifactu_state(eu: B2BWorld) -> None:
    """What reconcile saw (B2BRouter's reason, the VeriFactu state) is stored on the
    link, so `invoices` and `status` show it without asking B2BRouter again; `payments`, which
    does not read it, keeps it."""
    _failed_and_registered(eu)
    assert eu.es("reconcile").exit_code == 0
    assert eu.es("payments").exit_code == 0
    listed = {r["number"]: r for r in json.loads(eu.es("invoices", "--json").stdout)["invoices"]}
    juan = listed["EU-J"]["link"]
    assert juan["delivery"]["state"] == "error"
    assert "the contact has no transport" in juan["delivery"]["reason"]
    assert juan["registrations"] == [{"kind": "Verifactu", "state": "registered", "reason": None}]
    assert listed["EU-NIF"]["link"]["registrations"] == [
        {"kind": "Verifactu", "state": "error", "reason": "NIF del destinatario no identificado"}
    ]
    assert listed["EU-OK"]["link"]["delivery"] == {"state": "sent", "reason": None}
    table = eu.es("invoices").stdout
    assert "the contact has no transport" in table
    assert "Verifactu error: NIF del destinatario no identificado" in " ".join(table.split())
    status = json.loads(eu.es("status", "--json").stdout)
    assert status["deliveries"] == {"error": 1, "sent": 2}
    assert status["registrations"]["Verifactu error"] == 1
    problems = {p["invoice"]: p for p in status["problems"]}
    assert sorted(problems) == ["EU-J", "EU-NIF"]
    assert "the contact has no transport" in problems["EU-J"]["delivery"]["reason"]
    shown = " ".join(eu.es("status").stdout.split())
    assert "EU-NIF" in shown and "Verifactu error: NIF del destinatario no identificado" in shown


def test_reconcile_reads_a_tax_report_again_only_until_it_is_final(eu: B2BWorld) -> None:
    """A report in a final state (registered, error) does not change, so the next reconcile
    takes it from the state; one still `processing` is read again each time."""

    def report_reads() -> int:
        return sum(1 for e in eu.b2b.log() if e["path"].startswith("/tax_reports/"))

    _failed_and_registered(eu)
    assert eu.es("reconcile").exit_code == 0
    first = report_reads()
    assert first == 3  # EU-J, EU-NIF and EU-OK, one report each
    assert eu.es("reconcile").exit_code == 0
    assert report_reads() == first  # all three final: none read again
    listed = {r["number"]: r for r in json.loads(eu.es("invoices", "--json").stdout)["invoices"]}
    assert listed["EU-NIF"]["link"]["registrations"] == [
        {"kind": "Verifactu", "state": "error", "reason": "NIF del destinatario no identificado"}
    ]

    eu.source([eu_invoice("EU-NIF"), eu_invoice("EU-OK"), eu_invoice("EU-P")])
    assert eu.es("push", "--all").exit_code == 0
    with eu.b2b.lock:  # sent, its report still processing: not delivered yet
        net = eu.b2b.network
        net.send(next(i for i in net.invoices.values() if i.number == "EU-P"))
    for _ in range(2):
        before = report_reads()
        assert eu.es("reconcile").exit_code == 0
        assert report_reads() == before + 1  # EU-P's processing report, every time
