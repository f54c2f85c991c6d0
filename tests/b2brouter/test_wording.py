"""A B2BRouter profile is spoken to in B2BRouter's words: no message, table or prompt of a
push, dry run, link or reconcile names QuickBooks (or QBO), which this profile never uses."""

from __future__ import annotations

import json

from tests.b2brouter.test_cli_link import HAND_MADE
from tests.b2brouter.world import SAMPLES, B2BWorld


def test_a_b2brouter_profile_never_reads_quickbooks(eu: B2BWorld) -> None:
    samples = json.loads((SAMPLES / "es" / "invoices.json").read_text(encoding="utf-8"))
    eu.source([*samples, HAND_MADE])
    numbers = [inv["number"] for inv in samples]

    dry = eu.es("push", "--all", "--dry-run", "--adopt-existing")
    assert dry.exit_code == 0, dry.stderr
    assert "would adopt the existing B2BRouter invoice" in dry.stdout + dry.stderr
    pushed = eu.es("push", *numbers)
    assert pushed.exit_code == 0, pushed.stderr
    again = eu.es("push", *numbers, "--dry-run")
    assert again.exit_code == 0, again.stderr
    assert "already linked to B2BRouter invoice" in again.stdout + again.stderr

    candidates = eu.es("list-candidates", "2026-0007")
    assert candidates.exit_code == 0, candidates.stderr
    assert "Remote id" in candidates.stdout
    linked = eu.es("link", "2026-0007", "100001")
    assert linked.exit_code == 0, linked.stderr
    twice = eu.es("link", HAND_MADE["number"], "100001")
    assert twice.exit_code == 0, twice.stderr
    assert "already linked to B2BRouter invoice 100001" in twice.stderr

    first = min(int(inv["id"]) for inv in eu.invoices() if inv["number"] == numbers[0])
    eu.state(first, "paid", "2026-10-20")
    reconciled = eu.es("reconcile")
    assert reconciled.exit_code == 0, reconciled.stderr
    assert "Linked invoices in B2BRouter" in reconciled.stdout

    said = "\n".join(eu.outputs)
    assert "QuickBooks" not in said
    assert "QBO" not in said
