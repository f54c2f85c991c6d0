"""Copies under attack across machines, with real processes over loopback.

Two homes push the same month at once while QuickBooks numbers the invoices; every answer
comes late, after the work committed, and both hosts are SIGKILLed once each has a create in
QuickBooks: each host's first create may now have a twin the other made, and neither heard
its answer. They re-run. Then someone pastes our memo into an older invoice entered by hand
and QuickBooks' "make a copy" turns one of ours into another job's invoice. Every host runs
`reconcile --remove-copies --yes`. The figures: wrong deletes (a record that was not a proven
copy, or one a host still links), duplicates left, and re-runs that said nothing (all exit 0)
while a copy no host links was left behind.
"""

from __future__ import annotations

import json
import random
import signal
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from invoicesync.marker import marker_of, origin_of
from invoicesync.targets.quickbooks.sandbox import Faults
from tests.helpers import wait_until
from tests.reliability.conftest import SOAK, US, Live, count, month
from tests.reliability.test_many_hosts import Host, different_request_ids, hosts, settle

pytestmark = pytest.mark.loopback
ROUNDS = 8 if SOAK else 2
N = 6


def _content(row: dict[str, Any]) -> tuple[Any, ...]:
    """What makes a record this invoice, for the figures (the product has its own rule)."""
    lines = tuple(
        (
            ln["SalesItemLineDetail"]["ItemRef"]["value"],
            Decimal(str(ln["SalesItemLineDetail"].get("Qty"))),
            Decimal(str(ln["Amount"])),
        )
        for ln in row.get("Line", [])
        if ln.get("DetailType") == "SalesItemLineDetail"
    )
    marker = marker_of(row.get("PrivateNote"))
    return marker, row["CustomerRef"]["value"], row["TxnDate"], Decimal(str(row["TotalAmt"])), lines


def _marked(live: Live) -> dict[str, dict[str, Any]]:
    return {str(i["Id"]): i for i in live.invoices() if marker_of(i.get("PrivateNote"))}


def _linked(all_hosts: list[Host]) -> set[str]:
    return {remote_id for h in all_hosts for remote_id in h.links().values()}


def _hand_entered(live: Live, record: dict[str, Any]) -> str:
    """An older invoice entered by hand for the same customer and date, another amount."""
    with live.sandbox.lock:
        company = live.sandbox.companies[US]
        customer = company.customer_by_fqn(record["customer"]["name"])["Id"]
        item = company.id_by_name("Item", "Proofreading")
        line = {
            "DetailType": "SalesItemLineDetail",
            "Amount": Decimal("420.00"),
            "SalesItemLineDetail": {
                "ItemRef": {"value": item},
                "Qty": Decimal(1),
                "UnitPrice": Decimal(420),
            },
        }
        body = {"CustomerRef": {"value": customer}, "TxnDate": record["issue_date"]}
        return str(company.create("Invoice", {**body, "Line": [line]})["Id"])


def _attack(live: Live, hand: str, forged_number: str, copied_number: str) -> set[str]:
    """Paste our memo (marker and origin) into the hand-entered invoice, and "make a copy" of
    one of ours for another job (another amount, the same memo). Returns the attack Ids."""
    with live.sandbox.lock:
        company = live.sandbox.companies[US]
        rows = company.entities["Invoice"]
        ours = {marker_of(r.get("PrivateNote")): r for r in rows.values()}
        note = ours[forged_number]["PrivateNote"]
        row = rows[hand]
        company.update(
            "Invoice",
            {"Id": hand, "SyncToken": row["SyncToken"], "sparse": True, "PrivateNote": note},
        )
        source = ours[copied_number]
        line = {
            "DetailType": "SalesItemLineDetail",
            "Amount": Decimal("999.00"),
            "SalesItemLineDetail": {
                "ItemRef": {"value": company.id_by_name("Item", "DTP")},
                "Qty": Decimal(1),
                "UnitPrice": Decimal(999),
            },
        }
        body = {k: source[k] for k in ("CustomerRef", "TxnDate", "PrivateNote")}
        other_job = company.create("Invoice", {**body, "Line": [line]})["Id"]
    return {hand, str(other_job)}


def _kill_once_both_created(live: Live, procs: list[Any]) -> None:
    """SIGKILL both pushes once each host's origin is on a record in QuickBooks (its answer
    still held back), or once they have ended."""

    def both_created() -> bool:
        origins = {origin_of(r.get("PrivateNote")) for r in _marked(live).values()}
        return len(origins - {None}) >= 2 or all(p.poll() is not None for p in procs)

    wait_until(both_created, "a create from each host")
    for proc in procs:
        proc.send_signal(signal.SIGKILL)
    for proc in procs:
        proc.communicate(timeout=60)


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_killed_racing_hosts_then_forged_and_copied_records_delete_only_proven_copies(
    live: Live, tmp_path: Path, round_: int
) -> None:
    seed = 2600 + round_
    live.reset_company()
    live.sandbox.companies[US].custom_txn_numbers = False
    records = month(N, seed, prefix=f"C{seed}")
    numbers = [r["number"] for r in records]
    hand = _hand_entered(live, records[0])
    two = hosts(live, tmp_path, 2)
    for host in two:
        host.source.write_text(json.dumps(records), encoding="utf-8")
    different_request_ids(two[1], numbers)  # so QuickBooks' requestid replay cannot merge them

    live.sandbox.set_faults(Faults(slow_rate=1.0, slow_ms=250, seed=seed))
    _kill_once_both_created(live, [h.popen("push", "--all", "--json") for h in two])
    live.sandbox.set_faults(Faults(latency_ms=2, jitter_ms=2, seed=seed))

    codes = settle([h.popen("push", "--all", "--json") for h in two])
    assert all(c in (0, 3) for c in codes), codes
    orphans = set(_marked(live)) - _linked(two)
    count("copies: orphans left by hosts killed before their answer", len(orphans))
    dishonest = bool(orphans) and codes == [0, 0]
    count("copies: re-runs exiting 0 while an orphan was left (dishonest exit 0)", dishonest)

    attacks = _attack(live, hand, numbers[0], numbers[1])
    before = _marked(live)
    random.Random(seed).shuffle(two)
    for host in two:
        done = settle([host.popen("reconcile", "--remove-copies", "--yes", "--json")])
        assert done == [0], done
    after = _marked(live)
    deleted = set(before) - set(after)
    linked = _linked(two)
    kept = {_content(r) for r in after.values()}
    wrong = {
        i
        for i in deleted
        if i in attacks
        or i in linked
        or _content(before[i]) not in kept  # the last record of its content
    }
    count("copies: wrong deletes", len(wrong))
    ours: dict[str, list[str]] = {}
    for i, row in after.items():
        if i not in attacks:
            ours.setdefault(str(marker_of(row.get("PrivateNote"))), []).append(i)
    duplicates = {n: ids for n, ids in ours.items() if len(ids) > 1}
    count("copies: duplicates left after every host's --remove-copies", len(duplicates))
    count("copies: proven copies deleted", len(deleted))
    count("copies: attack rounds (kill, forged marker, make a copy)")
    assert not dishonest, (orphans, codes)
    assert not wrong, (wrong, attacks, linked)
    assert not duplicates, duplicates
    assert set(ours) == set(numbers)
    assert attacks <= set(after)  # neither the forged nor the other job's invoice is deleted
    for host in two:
        for number, remote_id in host.links().items():
            assert ours[number] == [remote_id], (host.home, number, remote_id)
