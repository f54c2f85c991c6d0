"""What B2BRouter cannot do is said in one plain line, per invoice in a batch and up front for a
command it cannot do at all; nothing is sent to it for the refused part."""

from __future__ import annotations

import json

from tests.b2brouter.world import B2BWorld, eu_invoice


def test_push_update_refuses_each_changed_invoice_and_goes_on(eu: B2BWorld) -> None:
    """Two invoices changed in the source: each fails with the plain line (exit 3), the run
    does not stop at the first, and B2BRouter receives no write; an unchanged one is skipped."""
    first, second, third = eu_invoice("EU-A"), eu_invoice("EU-B"), eu_invoice("EU-C")
    eu.source([first, second, third])
    assert eu.es("push", "--all").exit_code == 0
    before = len(eu.writes())
    for changed in (first, second):
        changed["lines"][0]["quantity"] = "3"
    eu.source([first, second, third])
    result = eu.es("push", "--all", "--update", "--json")
    assert result.exit_code == 3, result.stdout + result.stderr
    got = {r["invoice"]: r for r in json.loads(result.stdout)["results"]}
    for number in ("EU-A", "EU-B"):
        assert got[number]["status"] == "failed"
        assert got[number]["message"].startswith("B2BRouter has no edit: "), got[number]
        assert "credit note" in got[number]["message"]
    assert got["EU-C"]["status"] == "skipped"
    assert len(eu.writes()) == before
    assert "Traceback" not in result.stderr


def test_reconcile_remove_copies_is_refused_up_front(eu: B2BWorld) -> None:
    eu.source([eu_invoice("EU-A")])
    assert eu.es("push", "--all").exit_code == 0
    before = len(eu.writes())
    result = eu.es("reconcile", "--remove-copies", "--yes")
    assert result.exit_code == 2, result.stderr
    assert result.stdout == ""
    assert (
        "B2BRouter has no copies: B2BRouter refuses a second invoice with one number, so it "
        "holds no copies"
    ) in result.stderr
    assert len(eu.writes()) == before
