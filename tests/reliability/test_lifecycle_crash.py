"""Crash safety of the lifecycle: SIGKILL a real `push --update` or credit run at
random points, re-run, and count: no edit applied twice or lost, no void lost, no duplicate
credit memo or payment."""

from __future__ import annotations

import random
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from invoicesync.marker import marker_of
from invoicesync.store import Store
from invoicesync.targets.quickbooks.sandbox import Faults
from tests.helpers import kill_point, signal_when
from tests.reliability.conftest import SOAK, US, Live, count, month

SEEDS = 20 if SOAK else 5
N = 120 if SOAK else 40
pytestmark = pytest.mark.loopback


def rows(live: Live, entity: str) -> list[dict[str, Any]]:
    with live.sandbox.lock:
        return [dict(r) for r in live.sandbox.companies[US].entities[entity].values()]


def by_marker(live: Live, entity: str) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for r in rows(live, entity):
        mark = marker_of(r.get("PrivateNote"))
        if mark:
            out.setdefault(mark, []).append(r)
    return out


def pushed(live: Live, records: list[dict[str, Any]]) -> None:
    live.write_source(records)
    first = live.run("push", "--all")
    assert first.returncode == 0, first.stderr


def kill_at_random(
    live: Live, rng: random.Random, total: int, done: Callable[[], int], *args: str
) -> None:
    """SIGKILL the run at a seeded point of its `total` writes (`done()` counts them)."""
    target = kill_point(rng, total)
    proc = live.popen(*args)
    signal_when(proc, live.progress(target, done), f"{target} of {total} writes")
    proc.communicate(timeout=60)


def edited(live: Live) -> int:
    """How many of the company's invoices have been changed since they were created."""
    with live.sandbox.lock:
        invoices = live.sandbox.companies[US].entities["Invoice"].values()
        return sum(r["SyncToken"] != "0" for r in invoices)


def edits(live: Live) -> int:
    """How many changes the company's invoices have had in all (each bumps the SyncToken)."""
    with live.sandbox.lock:
        invoices = live.sandbox.companies[US].entities["Invoice"].values()
        return sum(int(r["SyncToken"]) for r in invoices)


def no_pending(live: Live) -> None:
    store = Store.open(live.home / "state.db")
    try:
        pending = [e for e in store.journals.lifecycle.entries(US) if e.state == "pending"]
    finally:
        store.close()
    assert pending == []


@pytest.mark.parametrize("seed", range(SEEDS))
def test_sigkill_during_updates_applies_each_edit_once(live: Live, seed: int) -> None:
    rng = random.Random(seed)
    live.reset_company()
    records = month(N, seed, prefix="U")
    pushed(live, records)
    for r in records:
        r["lines"][0]["quantity"] = str(int(r["lines"][0]["quantity"]) + 7)
    live.write_source(records)
    live.sandbox.set_faults(Faults(latency_ms=25, jitter_ms=20, seed=seed))
    kill_at_random(live, rng, N, lambda: edited(live), "push", "--all", "--update")
    live.sandbox.set_faults(Faults())
    before = edited(live)
    count("lifecycle: update kills after some but not all edits", int(0 < before < N))
    rerun = live.run("push", "--all", "--update")
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    found = by_marker(live, "Invoice")
    for r in records:
        [row] = found[r["number"]]
        qty = row["Line"][0]["SalesItemLineDetail"]["Qty"]
        assert Decimal(str(qty)) == Decimal(r["lines"][0]["quantity"]), "edit lost"
        assert row["SyncToken"] == "1", "edit applied more than once"
    no_pending(live)
    count("lifecycle: update runs killed and re-run")
    count("lifecycle: edits verified applied exactly once", N)


@pytest.mark.parametrize("seed", range(SEEDS))
def test_sigkill_during_voids_voids_each_once(live: Live, seed: int) -> None:
    rng = random.Random(100 + seed)
    live.reset_company()
    records = month(N, seed, prefix="V")
    pushed(live, records)
    cancelled = {r["number"] for r in records[::2]}
    for r in records:
        if r["number"] in cancelled:
            r["status"] = "cancelled"
    live.write_source(records)
    live.sandbox.set_faults(Faults(latency_ms=25, jitter_ms=20, seed=seed))
    # Each cancelled invoice takes two writes: the memo, then the void.
    kill_at_random(live, rng, 2 * len(cancelled), lambda: edits(live), "push", "--all", "--update")
    live.sandbox.set_faults(Faults())
    before = sum(r["TotalAmt"] == 0 for r in rows(live, "Invoice"))
    count("lifecycle: void kills after some but not all voids", int(0 < before < len(cancelled)))
    rerun = live.run("push", "--all", "--update")
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    found = by_marker(live, "Invoice")
    for r in records:
        [row] = found[r["number"]]
        if r["number"] in cancelled:
            assert row["TotalAmt"] == 0 and row["PrivateNote"].startswith("Voided")
            assert row["PrivateNote"].count("[cancelled:") == 1
            assert row["SyncToken"] == "2"  # the memo, then the void: once each
        else:
            assert row["SyncToken"] == "0" and row["TotalAmt"] > 0
    no_pending(live)
    count("lifecycle: void runs killed and re-run")
    count("lifecycle: voids verified exactly once", len(cancelled))


@pytest.mark.parametrize("seed", range(SEEDS))
def test_sigkill_during_credits_creates_and_applies_each_once(live: Live, seed: int) -> None:
    rng = random.Random(200 + seed)
    live.reset_company()
    invoices = month(N // 2, seed, prefix="C")
    pushed(live, invoices)
    notes = []
    for inv in invoices:
        note = {**inv, "number": f"CN-{inv['number']}", "type": "credit_note"}
        note["credit_for"] = inv["number"]
        note["lines"] = [{"service": "Translation", "quantity": "100", "unit_price": "0.12"}]
        notes.append(note)
    live.write_source(invoices + notes)
    live.sandbox.set_faults(Faults(latency_ms=25, jitter_ms=20, seed=seed))

    # Each credit note takes two writes: the credit memo, then the payment applying it.
    def written() -> int:
        return len(rows(live, "CreditMemo")) + len(rows(live, "Payment"))

    kill_at_random(live, rng, 2 * len(notes), written, "push", "--all")
    live.sandbox.set_faults(Faults())
    before = len(rows(live, "Payment"))
    count("lifecycle: credit kills after some but not all applications", int(0 < before < N // 2))
    count(
        "lifecycle: credit kills with a credit memo created but not yet applied",
        int(len(rows(live, "CreditMemo")) > before),
    )
    rerun = live.run("push", "--all")
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    memos = by_marker(live, "CreditMemo")
    found = by_marker(live, "Invoice")
    payments = rows(live, "Payment")
    per_memo: dict[str, int] = {}
    for p in payments:
        for line in p["Line"]:
            for link in line["LinkedTxn"]:
                if link["TxnType"] == "CreditMemo":
                    per_memo[link["TxnId"]] = per_memo.get(link["TxnId"], 0) + 1
    for note in notes:
        [memo] = memos[note["number"]]  # exactly one credit memo
        assert per_memo.get(memo["Id"]) == 1, "credit applied other than once"
        [invoice] = found[str(note["credit_for"])]
        # At most the invoice's balance is applied; a credit note larger than a tiny invoice
        # keeps the rest as open credit (usecases/credit.py).
        applied = min(invoice["TotalAmt"], memo["TotalAmt"])
        assert memo["RemainingCredit"] == memo["TotalAmt"] - applied
        assert invoice["Balance"] == invoice["TotalAmt"] - applied
    assert len(payments) == len(notes)
    no_pending(live)
    count("lifecycle: credit runs killed and re-run")
    count("lifecycle: credit memos and applications verified exactly once", len(notes))
