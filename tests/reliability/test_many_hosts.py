"""Exactly-once across machines: several homes, each with its own connection to one company,
push overlapping exports (shifted, reordered) at the same time, in both numbering modes, with
and without a SIGKILL, and end with one QuickBooks invoice per source invoice."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from invoicesync.marker import marker_of
from invoicesync.store import StateStore, Store
from invoicesync.store.postgres import PostgresStore
from invoicesync.targets.quickbooks.sandbox import DEFAULT_CLIENT_ID, Faults
from tests.helpers import signal_when
from tests.reliability.conftest import SOAK, US, Live, count, month
from tests.store.conftest import pg_url, postgres_server  # noqa: F401 (fixtures)

pytestmark = pytest.mark.loopback
N = 120 if SOAK else 48


@dataclass
class Host:
    home: Path
    env: dict[str, str]
    source: Path
    state_url: str | None = None

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "invoicesync", *args],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def links(self) -> dict[str, str]:
        store: StateStore | None = (
            PostgresStore.open(self.state_url)
            if self.state_url
            else Store.open(self.home / "state.db")
        )
        assert store is not None
        try:
            assert store.journals.creates.entries(US, "pending") == [], (
                "a journal entry was left pending"
            )
            return {ln.invoice_number: ln.remote_id for ln in store.links(US)}
        finally:
            store.close()


def hosts(live: Live, tmp_path: Path, n: int, state_url: str | None = None) -> list[Host]:
    """`n` machines: separate homes, token files and grants (their own connections), and
    either a state each (SQLite in the home) or one shared PostgreSQL state."""
    out = []
    for i in range(n):
        root = tmp_path / f"host{i}"
        root.mkdir()
        grant = live.sandbox.oauth.issue_grant(DEFAULT_CLIENT_ID, US)
        env = {
            **live.env,
            "INVOICESYNC_HOME": str(root / "home"),
            "INVOICESYNC_TOKEN_FILE": str(root / "tokens.json"),
            "INVOICESYNC_REFRESH_TOKEN": grant.refresh_token,
            "INVOICESYNC_SOURCE": str(root / "export.json"),
        }
        if state_url:
            env["INVOICESYNC_STATE_URL"] = state_url
        out.append(Host(root / "home", env, root / "export.json", state_url))
    return out


def exports(records: list[dict[str, Any]], n: int, rng: random.Random) -> list[list[Any]]:
    """Overlapping exports: each host sees a shifted window of the month, in its own order."""
    out = []
    for i in range(n):
        start = i * len(records) // (2 * n)
        window = records[start : start + len(records) * 3 // 4]
        if i == 0:
            window = records  # someone has the whole month
        window = list(window)
        rng.shuffle(window)
        out.append(window)
    return out


def different_request_ids(host: Host, numbers: list[str]) -> None:
    """Make this home's requestids differ from the others' (as after an unlink here, or a
    refusal seen by one host only), so only the duplicate check can keep invoices single."""
    host.home.mkdir(parents=True, exist_ok=True)
    Store.open(host.home / "state.db").close()
    with sqlite3.connect(host.home / "state.db") as db:
        db.executemany(
            "INSERT INTO generations (account, invoice_number, generation) VALUES (?,?,1)",
            [(US, n) for n in numbers],
        )


def settle(procs: list[subprocess.Popen[str]]) -> list[int]:
    codes = []
    for proc in procs:
        _out, err = proc.communicate(timeout=180)
        assert "Traceback" not in err, err
        assert proc.returncode != 1, err  # 1 is a bug
        codes.append(proc.returncode)
    return codes


def assert_one_each(live: Live, numbers: list[str], all_hosts: list[Host]) -> None:
    ours: dict[str, list[str]] = {}
    for inv in live.invoices():
        mark = marker_of(inv.get("PrivateNote"))
        if mark:
            ours.setdefault(mark, []).append(str(inv["Id"]))
    duplicates = {n: ids for n, ids in ours.items() if len(ids) > 1}
    assert not duplicates, f"duplicated invoices: {duplicates}"
    assert set(ours) == set(numbers)
    for host in all_hosts:
        for number, remote_id in host.links().items():
            assert ours[number] == [remote_id], (host.home, number, remote_id, ours[number])


@pytest.fixture(params=["homes", "postgresql"])
def state_url(request: pytest.FixtureRequest) -> str | None:
    """Each host its own SQLite state, or every host one shared PostgreSQL state."""
    if request.param == "homes":
        return None
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.mark.parametrize("custom_numbers", [True, False], ids=["our-numbers", "qbo-numbers"])
@pytest.mark.parametrize("n_hosts", [2, 3, 4] if SOAK else [2, 4])
@pytest.mark.parametrize("kill", [False, True], ids=["clean", "sigkill"])
def test_overlapping_exports_from_many_hosts_create_each_invoice_once(
    live: Live,
    tmp_path: Path,
    custom_numbers: bool,
    n_hosts: int,
    kill: bool,
    state_url: str | None,
) -> None:
    seed = n_hosts * 10 + custom_numbers * 2 + kill
    rng = random.Random(seed)
    live.reset_company()
    live.sandbox.companies[US].custom_txn_numbers = custom_numbers
    live.sandbox.set_faults(Faults(latency_ms=5, jitter_ms=10, seed=seed))
    records = month(N, seed, prefix=f"H{seed}")
    numbers = [r["number"] for r in records]
    all_hosts = hosts(live, tmp_path, n_hosts, state_url)
    for host, export in zip(all_hosts, exports(records, n_hosts, rng), strict=True):
        host.source.write_text(json.dumps(export), encoding="utf-8")
    if state_url is None:
        different_request_ids(all_hosts[-1], numbers)
    seeded = live.invoice_count()
    target = rng.randint(1, N // 2)
    procs = [h.popen("push", "--all", "--json") for h in all_hosts]
    if kill:  # the first host dies once the hosts together have created `target` invoices
        signal_when(
            procs[0],
            lambda: live.invoice_count() - seeded >= target,
            f"{target} invoices to be created",
        )
    codes = settle(procs)
    # With a shared state, an invoice another live run holds is work not done here: exit 9.
    done = {0, 9} if state_url else {0}
    assert all(c in done for c in codes[1:] if not kill or c != -signal.SIGKILL), codes
    # Every host runs once more (the killed one finishes its work); nothing new is created.
    again = settle([h.popen("push", "--all", "--json") for h in all_hosts])
    assert all(c in done for c in again), again
    if 9 in again:  # what a live run held is linked now: a last round has nothing left to do
        again = settle([h.popen("push", "--all", "--json") for h in all_hosts])
    assert again == [0] * n_hosts, again
    assert_one_each(live, numbers, all_hosts)
    count("multi-host runs" + (" on a shared PostgreSQL state" if state_url else ""))
    count("invoices verified exactly once across hosts", N)


def test_sigterm_stops_like_sigint_and_still_writes_the_json_summary(live: Live) -> None:
    live.reset_company()
    records = month(200, 5)
    live.write_source(records)
    live.sandbox.set_faults(Faults(latency_ms=40, jitter_ms=10, seed=5))
    env = dict(live.env)
    proc = subprocess.Popen(
        [sys.executable, "-m", "invoicesync", "push", "--all", "--json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    signal_when(
        proc,
        lambda: any(e.path.endswith(("/batch", "/invoice")) for e in list(live.sandbox.requests)),
        "the first invoice write",
        signal.SIGTERM,
    )
    out, err = proc.communicate(timeout=60)
    assert proc.returncode in (0, 130), err
    if proc.returncode == 130:
        assert "interrupted" in err
        document = json.loads(out)
        assert document["schema"] == "invoicesync.push/2"
        statuses = {r["status"] for r in document["results"]}
        assert statuses & {"not attempted", "interrupted"}, statuses  # stopped, not failed
        assert "failed" not in statuses, statuses
        count("SIGTERM runs that exited 130")
    rerun = live.run("push", "--all", "--json")
    assert rerun.returncode == 0, rerun.stderr
    ours = [marker_of(i.get("PrivateNote")) for i in live.invoices()]
    assert sorted(n for n in ours if n) == sorted(r["number"] for r in records)
    assert os.path.exists(live.home / "state.db")
