"""`push` with a B2BRouter profile, through the CLI: fields, exactly-once, refusals."""

from __future__ import annotations

import json
from decimal import Decimal

from invoicesync.marker import marker_of
from tests.b2brouter.world import REALM_KEY, B2BWorld, eu_invoice


def test_connect_stores_the_key_and_status_shows_the_test_environment(eu: B2BWorld) -> None:
    result = eu.es("status", "--json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["schema"] == "invoicesync.b2brouter-status/1"
    assert (doc["account"], doc["account_name"], doc["environment"]) == (
        "211",
        "Traducciones Babel S.L.",
        "test",
    )
    assert doc["key_store"].startswith("OS keyring")
    assert "test_local_es_key" not in result.stdout + result.stderr
    table = eu.es("status")
    assert "Traducciones Babel S.L. (es)" in table.stdout and "test (key test_" in table.stdout


def test_push_creates_each_invoice_once_with_its_contact_taxes_and_marker(eu: B2BWorld) -> None:
    result = eu.es("push", "--all", "--json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["account"] == doc["realm_id"] == REALM_KEY  # schema 1's name kept one release
    assert [r["status"] for r in doc["results"]] == ["created"] * 3
    made = {n: rows[0] for n, rows in eu.by_number().items() if n.startswith("ES-")}
    assert set(made) == {"ES-2026-0101", "ES-2026-0102", "ES-2026-0103"}
    acme = made["ES-2026-0101"]
    assert acme["contact"]["tin_value"] == "ESA28000000"
    assert acme["state"] == "new"
    assert Decimal(acme["total"]) == Decimal("919.60")
    assert marker_of(acme["file_reference"]) == "ES-2026-0101"
    assert acme["extra_info"] == "PO PO-8812"
    assert [(t["category"], Decimal(t["percent"])) for t in acme["taxes"]] == [("S", Decimal(21))]
    assert made["ES-2026-0102"]["contact"]["name"] == "Müller & Söhne GmbH"  # tax id, spaced
    assert made["ES-2026-0102"]["taxes"][0]["category"] == "AE"
    assert made["ES-2026-0103"]["contact"]["name"] == 'Ediciones "El Quijote" [Madrid] S.L.'
    again = eu.es("push", "--all", "--json")
    assert again.exit_code == 0
    assert [r["status"] for r in json.loads(again.stdout)["results"]] == ["skipped"] * 3
    assert sum(len(v) for v in eu.by_number().values()) == len(eu.invoices()) == 4  # + seed


def test_send_queues_delivery_once(eu: B2BWorld) -> None:
    result = eu.es("push", "ES-2026-0101", "--send")
    assert result.exit_code == 0, result.stderr
    assert eu.by_number()["ES-2026-0101"][0]["state"] == "sending"
    sends = [w for w in eu.writes() if w["path"].startswith("/invoices/send_invoice/")]
    assert len(sends) == 1
    assert eu.es("push", "ES-2026-0101", "--send").exit_code == 0  # skipped, not sent again
    assert len([w for w in eu.writes() if "send_invoice" in w["path"]]) == 1


def test_refusals_are_per_invoice_and_nothing_is_sent_for_them(eu: B2BWorld) -> None:
    no_tax = eu_invoice("BAD-NOTAX", lines=[{"service": "X", "quantity": "1", "unit_price": "10"}])
    code = eu_invoice(
        "BAD-CODE",
        lines=[{"service": "X", "quantity": "1", "unit_price": "10", "tax": "TAX"}],
    )
    inclusive = eu_invoice("BAD-INCL", tax_calculation="inclusive")
    globex = eu_invoice("BAD-GLOBEX", customer={"name": "Globex"})
    nobody = eu_invoice("BAD-NOBODY", customer={"name": "Nobody Ltd", "tax_id": "ESX0000000"})
    eu.source([eu_invoice("OK-1"), no_tax, code, inclusive, globex, nobody])
    result = eu.es("push", "--all", "--json")
    assert result.exit_code == 3, result.stderr
    got = {r["invoice"]: r for r in json.loads(result.stdout)["results"]}
    assert got["OK-1"]["status"] == "created"
    assert all(got[n]["status"] == "failed" for n in got if n != "OK-1")
    assert got["BAD-NOTAX"]["message"].startswith("cannot go to B2BRouter: tax 'line 1'")
    assert "no tax: give `tax`" in got["BAD-NOTAX"]["message"]
    assert "'TAX' is not a VAT category" in got["BAD-CODE"]["message"]
    assert "tax-inclusive prices" in got["BAD-INCL"]["message"]
    assert "several B2BRouter contacts match (ids 5004, 5005)" in got["BAD-GLOBEX"]["message"]
    assert "no B2BRouter contact has tax id ESX0000000" in got["BAD-NOBODY"]["message"]
    assert set(eu.by_number()) == {"2026-0007", "OK-1"}


def test_rounding_preflight_explains_a_cent_before_anything_is_sent(eu: B2BWorld) -> None:
    line = {
        "service": "Editing",
        "quantity": "1.5",
        "unit_price": "33.33",
        "tax": "S",
        "tax_rate": "21",
    }
    eu.source([eu_invoice("ROUND-1", lines=[line, line])])
    result = eu.es("push", "ROUND-1")
    assert result.exit_code == 5
    assert "B2BRouter would compute subtotal 99.99" in result.stdout + result.stderr
    assert "the source has subtotal 100.00" in result.stdout + result.stderr
    assert "ROUND-1" not in eu.by_number()
    eu.b2b.network.accounts[211].calc = type(eu.b2b.network.accounts[211].calc)(
        "half_up", True, False
    )
    fixed = eu.es("push", "ROUND-1", "--json")
    assert fixed.exit_code == 0, fixed.stderr
    assert Decimal(eu.by_number()["ROUND-1"][0]["subtotal"]) == Decimal("100.00")


def test_dry_run_writes_nothing(eu: B2BWorld) -> None:
    result = eu.es("push", "--all", "--dry-run")
    assert result.exit_code == 0, result.stderr
    assert '"file_reference": "[invoicesync ES-2026-0101]"' in result.stdout
    assert eu.writes() == []
    assert not (eu.home / "profiles" / "es" / "state.db").exists()


def test_number_taken_outside_invoicesync_is_a_conflict_and_ours_is_adopted(
    eu: B2BWorld,
) -> None:
    eu.source([eu_invoice("2026-0007"), eu_invoice("OURS-1")])
    first = eu.es("push", "OURS-1")
    assert first.exit_code == 0
    (eu.home / "profiles" / "es" / "state.db").unlink()  # a lost state (a CI runner)
    result = eu.es("push", "--all", "--json")
    assert result.exit_code == 3
    got = {r["invoice"]: r for r in json.loads(result.stdout)["results"]}
    assert got["OURS-1"]["status"] == "adopted"
    assert got["2026-0007"]["status"] == "failed"
    assert "created outside invoicesync" in got["2026-0007"]["message"]
    assert len(eu.by_number()["OURS-1"]) == 1


def test_a_dropped_create_is_found_by_number_and_linked_once(eu: B2BWorld) -> None:
    eu.source([eu_invoice("DROP-1")])
    eu.faults(drop_next_writes=1)
    result = eu.es("push", "DROP-1", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["results"][0]["status"] == "created"
    assert len(eu.by_number()["DROP-1"]) == 1
    assert eu.es("push", "DROP-1").exit_code == 0
    assert len(eu.by_number()["DROP-1"]) == 1


def test_a_5xx_on_create_stays_pending_and_the_next_run_resolves_it(eu: B2BWorld) -> None:
    eu.source([eu_invoice("ERR-1")])
    eu.fail_creates[0] = 1
    result = eu.es("push", "ERR-1", "--json")
    # The 503 came before any work: nothing exists, so the lookup finds nothing.
    assert result.exit_code == 7, result.stderr
    assert "outcome unknown" in result.stdout
    assert "ERR-1" not in eu.by_number()
    again = eu.es("push", "ERR-1", "--json")
    assert again.exit_code == 0
    assert len(eu.by_number()["ERR-1"]) == 1


def test_wrong_key_or_account_exits_4_with_the_fix(eu: B2BWorld) -> None:
    eu.monkeypatch.setenv("INVOICESYNC_B2BROUTER_API_KEY", "local_fr_live_key")
    result = eu.es("push", "--all")
    assert result.exit_code == 4
    assert "environment matches the account" in result.stderr
    assert "local_fr_live_key" not in result.stderr
    eu.monkeypatch.setenv("INVOICESYNC_B2BROUTER_API_KEY", "test_local_expired_key")
    expired = eu.es("status")
    assert expired.exit_code == 4 and "run `invoicesync connect`" in expired.stderr


def test_a_number_taken_meanwhile_is_adopted_when_ours_and_a_conflict_when_not(
    eu: B2BWorld,
) -> None:
    eu.source([eu_invoice("RACE-OURS"), eu_invoice("RACE-THEIRS", issue_date="2026-10-06")])
    eu.races["RACE-OURS"] = lambda body: None  # another run of ours made it first

    def by_hand(body: dict[str, object]) -> None:
        body.pop("file_reference")

    eu.races["RACE-THEIRS"] = by_hand  # someone typed the same number into B2BRouter
    result = eu.es("push", "--all", "--json")
    assert result.exit_code == 3, result.stderr
    got = {r["invoice"]: r for r in json.loads(result.stdout)["results"]}
    assert got["RACE-OURS"]["status"] == "adopted"
    assert len(eu.by_number()["RACE-OURS"]) == 1
    assert got["RACE-THEIRS"]["status"] == "failed"
    owner = eu.by_number()["RACE-THEIRS"][0]["id"]
    assert f"is already used by B2BRouter transaction {owner}" in got["RACE-THEIRS"]["message"]


def test_prepare_lists_missing_contacts_with_what_to_do_and_creates_nothing(eu: B2BWorld) -> None:
    globex = eu_invoice("BAD-GLOBEX", customer={"name": "Globex"})
    nobody = eu_invoice("BAD-NOBODY", customer={"name": "Nobody Ltd", "tax_id": "ESX0000000"})
    again = eu_invoice("BAD-NOBODY-2", customer={"name": "Nobody Ltd", "tax_id": "ESX0000000"})
    eu.source([eu_invoice("OK-1"), globex, nobody, again])
    before = len(eu.writes())
    result = eu.es("prepare", "--all", "--json")
    assert result.exit_code == 5, result.stderr
    doc = json.loads(result.stdout)
    got = {i["name"]: i for i in doc["items"]}
    assert set(got) == {"Globex", "Nobody Ltd"}
    assert got["Nobody Ltd"]["invoices"] == ["BAD-NOBODY", "BAD-NOBODY-2"]
    assert all(i["status"] == "refused" and i["payload"] is None for i in got.values())
    assert "several B2BRouter contacts match (ids 5004, 5005)" in got["Globex"]["message"]
    assert "invoicesync does not create B2BRouter contacts" in got["Nobody Ltd"]["message"]
    assert len(eu.writes()) == before  # nothing was written to B2BRouter
    eu.source([eu_invoice("OK-1")])
    fine = eu.es("prepare", "--all")
    assert fine.exit_code == 0, fine.stderr
    assert "Nothing to prepare: B2BRouter has every name the invoices use." in fine.stderr


def test_a_second_tax_beside_the_shorthand_is_refused_exit_8_nothing_sent(eu: B2BWorld) -> None:
    """A line's 15 % IRPF withholding written as `taxes` was dropped with a warning
    and the e-invoice went out at 605.00 EUR instead of 530.00, exit 0. Now a line
    takes `taxes`, but not beside `tax`/`tax_rate` (and with `rate`, not B2BRouter's
    `percent`): still refused, never half read."""
    line = {
        "service": "Translation",
        "quantity": "1",
        "unit_price": "500.00",
        "tax": "S",
        "tax_rate": "21",
        "taxes": [{"name": "IRPF", "category": "S", "percent": "-15"}],
    }
    path = eu.source([eu_invoice("IRPF-1", lines=[line])])
    result = eu.es("push", "--all")
    assert result.exit_code == 8, result.stderr
    assert (
        f"  {path}:1: invoice IRPF-1: lines[1].taxes: give either `tax` and `tax_rate` (one tax) "
        "or `taxes`, not both"
    ) in result.stderr.splitlines()
    assert "nothing was sent" in result.stderr
    assert eu.writes() == []
    assert set(eu.by_number()) == {"2026-0007"}  # the account's own invoice; none of ours
