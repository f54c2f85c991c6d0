"""A QuickBooks refusal is final for its request: the invoice fails with QuickBooks' reason,
no journal entry stays pending, and a later run sends a fresh request, never the old one."""

from __future__ import annotations

import json
from collections.abc import Sequence

from invoicesync.ledger.base import Preparation
from invoicesync.models import LocalInvoice
from invoicesync.store import Store
from invoicesync.targets.quickbooks.ledger import QuickBooksLedger
from tests.helpers import US, World


def _customer(world: World, name: str) -> dict[str, object]:
    company = world.sandbox.company(US)
    return next(c for c in company.entities["Customer"].values() if c["DisplayName"] == name)


def test_refused_then_fixed_sends_a_fresh_request(us: World) -> None:
    number, name = "INV-2026-0101", "Acme Localization Inc."
    prepare = QuickBooksLedger.prepare

    def prepare_then_deactivate(
        self: QuickBooksLedger, invoices: Sequence[LocalInvoice], origin: str | None = None
    ) -> Preparation:
        prep = prepare(self, invoices, origin)
        _customer(us, name)["Active"] = False  # someone deactivates the client meanwhile
        return prep

    us.monkeypatch.setattr(QuickBooksLedger, "prepare", prepare_then_deactivate)
    refused = us.run("push", number, "--json")
    assert refused.exit_code == 5, refused.stderr
    [result] = json.loads(refused.stdout)["results"]
    assert result["status"] == "failed"
    assert "inactive" in result["message"] and "code 610" in result["message"]
    store = Store.open(us.home / "state.db")
    try:
        [entry] = store.journals.creates.entries(US)
        assert entry.state == "failed"
    finally:
        store.close()

    us.monkeypatch.setattr(QuickBooksLedger, "prepare", prepare)
    _customer(us, name)["Active"] = True  # fixed
    created = us.json("push", number)
    assert created["results"][0]["status"] == "created"
    sent = [e.requestid for e in us.sandbox.requests if e.path.endswith("/invoice")]
    assert len(sent) == 2 and sent[0] != sent[1]  # a fresh request, not a replay
