"""Crash and drop safety of `prepare`: SIGKILL a real `prepare --all` over loopback while
connections drop after commits, then re-run. Every name ends up created once, every create
was journaled before it was sent, and a name is only ever re-sent under its first requestid."""

from __future__ import annotations

import json
import random
import signal
from typing import Any

import pytest

from invoicesync.store import Store
from invoicesync.targets.quickbooks.sandbox import Faults
from tests.helpers import wait_until
from tests.reliability.conftest import SOAK, US, Live, count

SEEDS = 40 if SOAK else 4
CUSTOMERS = 40
SERVICES = 20
pytestmark = pytest.mark.loopback


def records() -> list[dict[str, Any]]:
    """One invoice per new customer, each with one of the new services."""
    return [
        {
            "number": f"P-{i:03d}",
            "customer": {"name": f"Client {i:03d} GmbH", "email": f"c{i}@example.com"},
            "issue_date": "2026-10-01",
            "currency": "USD",
            "lines": [
                {"service": f"Service {i % SERVICES:02d}", "quantity": "1", "unit_price": "10"}
            ],
        }
        for i in range(CUSTOMERS)
    ]


def names(live: Live, entity: str, key: str, prefix: str) -> list[str]:
    with live.sandbox.lock:
        rows = live.sandbox.companies[US].entities[entity].values()
        return [str(r[key]) for r in rows if str(r[key]).startswith(prefix)]


def created_names(live: Live) -> list[str]:
    return names(live, "Customer", "DisplayName", "Client ") + names(
        live, "Item", "Name", "Service "
    )


def journal(live: Live) -> dict[tuple[str, str], list[str]]:
    store = Store.open(live.home / "state.db")
    try:
        out: dict[tuple[str, str], list[str]] = {}
        for e in store.journals.prepare.entries(US):
            out.setdefault((e.kind, e.name), []).append(e.state)
        return out
    finally:
        store.close()


def sent_requestids(live: Live) -> dict[str, set[str | None]]:
    """Each name's create requests (customer and item POSTs) → the requestids they carried."""
    sent: dict[str, set[str | None]] = {}
    for e in list(live.sandbox.requests):
        if e.method == "POST" and e.kind in {"customer", "item"}:
            body = json.loads(e.body)
            sent.setdefault(body.get("DisplayName") or body["Name"], set()).add(e.requestid)
    return sent


@pytest.mark.parametrize("seed", range(SEEDS))
def test_sigkill_and_drops_during_prepare_then_rerun_creates_each_name_once(
    live: Live, seed: int
) -> None:
    rng = random.Random(seed)
    live.reset_company()
    live.home.mkdir(parents=True, exist_ok=True)
    (live.home / "config.toml").write_text('[prepare]\nincome_account = "Services"\n')
    live.write_source(records())
    live.sandbox.set_faults(Faults(latency_ms=20, jitter_ms=15, drop_rate=0.15, seed=seed))
    proc = live.popen("prepare", "--all")
    target = rng.randint(1, CUSTOMERS + SERVICES - 1)
    wait_until(
        lambda: len(created_names(live)) >= target or proc.poll() is not None,
        f"{target} names to be created",
    )
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    created = created_names(live)
    if (live.home / "state.db").exists():
        journaled = {name for _kind, name in journal(live)}
        assert set(created) <= journaled, "created without a journaled intent"
    else:
        assert created == []
    rerun = live.run("prepare", "--all", "--json")
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert "Traceback" not in rerun.stderr
    customers = names(live, "Customer", "DisplayName", "Client ")
    services = names(live, "Item", "Name", "Service ")
    assert sorted(customers) == [f"Client {i:03d} GmbH" for i in range(CUSTOMERS)]
    assert sorted(services) == [f"Service {i:02d}" for i in range(SERVICES)]
    entries = journal(live)
    assert all(states[-1] == "done" for states in entries.values()), entries
    assert [n for n, rids in sent_requestids(live).items() if len(rids) != 1] == []
    count("prepare kill runs")
    count("prepare kills after some names existed", int(0 < len(created) < CUSTOMERS + SERVICES))
    if seed == 0:  # and the invoices go through with what prepare made
        push = live.run("push", "--all")
        assert push.returncode == 0, push.stderr
