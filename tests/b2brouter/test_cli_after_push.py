"""`payments`, `send` and `pdf` with a B2BRouter profile."""

from __future__ import annotations

import json

from tests.b2brouter.world import B2BWorld


def test_payments_show_what_b2brouter_reports_as_paid(eu: B2BWorld) -> None:
    assert eu.es("push", "--all").exit_code == 0
    linked = {
        r["number"]: r["link"]["qbo_id"]
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
    pdf = eu.es("pdf", "ES-2026-0103")
    assert pdf.exit_code == 2 and "no PDF in invoicesync" in pdf.stderr
