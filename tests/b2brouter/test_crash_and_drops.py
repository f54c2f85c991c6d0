"""B2BRouter over loopback: SIGKILL a real `push --all` anywhere, cut connections after
commits, and `sandbox serve --target b2brouter`; each invoice exists exactly once after."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from invoicesync.marker import marker_of
from invoicesync.store import SQLiteStore
from invoicesync.targets.b2brouter.sandbox import B2BRouterSandbox, Faults, start_in_thread
from tests.helpers import kill_point, signal_when

pytestmark = pytest.mark.loopback
N = 60
KEY = "test_local_es_key"


@dataclass
class Live:
    sandbox: B2BRouterSandbox
    url: str
    home: Path

    def env(self) -> dict[str, str]:
        return {**os.environ, "INVOICESYNC_B2BROUTER_API_KEY": KEY, "PYTHONUNBUFFERED": "1"}

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "invoicesync", "--profile", "es", *args],
            env=self.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "invoicesync", "--profile", "es", *args],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=120,
        )

    def invoices(self) -> list[dict[str, Any]]:
        with self.sandbox.lock:
            net = self.sandbox.network
            return [net.invoice_json(i) for i in net.invoices.values() if i.account_id == 211]

    def invoice_count(self) -> int:
        with self.sandbox.lock:
            return sum(i.account_id == 211 for i in self.sandbox.network.invoices.values())

    def answered(self) -> int:
        with self.sandbox.lock:
            return len(self.sandbox.requests)


@pytest.fixture
def live(isolated_env: Path) -> Iterator[Live]:
    sandbox = B2BRouterSandbox(["es"])
    server = start_in_thread(sandbox)
    source = isolated_env.parent / "month.json"
    isolated_env.mkdir(parents=True, exist_ok=True)
    (isolated_env / "config.toml").write_text(
        f'[profiles.es]\ntarget = "b2brouter"\nb2brouter_url = "{server.url}"\n'
        f'b2brouter_account = "211"\nsource = "{source}"\n',
        encoding="utf-8",
    )
    try:
        yield Live(sandbox, server.url, isolated_env)
    finally:
        server.shutdown()
        server.server_close()


def month(live: Live, seed: int) -> list[str]:
    rng = random.Random(seed)
    records = [
        {
            "number": f"C-{i:04d}",
            "customer": {"name": "Acme Ibérica S.A.", "tax_id": "ESA28000000", "country": "ES"},
            "issue_date": f"2026-10-{rng.randint(1, 28):02d}",
            "currency": "EUR",
            "lines": [
                {
                    "service": "Translation",
                    "quantity": str(rng.randint(1, 900)),
                    "unit_price": "0.10",
                    "tax": "S",
                    "tax_rate": "21",
                }
            ],
        }
        for i in range(N)
    ]
    (live.home.parent / "month.json").write_text(json.dumps(records), encoding="utf-8")
    return [r["number"] for r in records]


def assert_exactly_once(live: Live, numbers: list[str]) -> None:
    """Each number is one B2BRouter invoice carrying our marker, and the one it is linked to."""
    made: dict[str, list[dict[str, Any]]] = {}
    for inv in live.invoices():
        made.setdefault(inv["number"], []).append(inv)
    store = SQLiteStore.open(live.home / "profiles" / "es" / "state.db")
    links = {ln.invoice_number: ln.remote_id for ln in store.links("b2brouter:211")}
    store.close()
    for number in numbers:
        assert len(made.get(number, [])) == 1, number
        only = made[number][0]
        assert marker_of(only["file_reference"]) == number
        assert links[number] == str(only["id"])


@pytest.mark.parametrize("seed", range(6))
def test_sigkill_anywhere_then_rerun_creates_each_invoice_once(live: Live, seed: int) -> None:
    numbers = month(live, seed)
    live.sandbox.set_faults(Faults(latency_ms=20, seed=seed))
    target = kill_point(random.Random(seed), N)
    start = live.answered()
    proc = live.popen("push", "--all")
    signal_when(
        proc,
        # 0: once the run has had its first answer, before its first invoice lands
        lambda: live.invoice_count() >= target if target else live.answered() > start,
        f"{target} invoices to be created",
    )
    proc.communicate(timeout=60)
    rerun = live.run("push", "--all", "--json")
    assert rerun.returncode == 0, rerun.stderr
    assert "Traceback" not in rerun.stderr
    assert_exactly_once(live, numbers)


@pytest.mark.parametrize("seed", range(3))
def test_connections_cut_after_commits_never_duplicate(live: Live, seed: int) -> None:
    numbers = month(live, 100 + seed)
    live.sandbox.set_faults(Faults(drop_rate=0.25, seed=seed))
    first = live.run("push", "--all", "--json")
    assert first.returncode in {0, 3, 7}, first.stderr
    assert "Traceback" not in first.stderr
    live.sandbox.set_faults(Faults())
    again = live.run("push", "--all", "--json")
    assert again.returncode == 0, again.stderr
    assert_exactly_once(live, numbers)
    dropped = [e for e in live.sandbox.log() if e["dropped"]]
    assert dropped, "the faults cut no connection"
    before = len(live.sandbox.log())
    reconciled = live.run("reconcile", "--json")
    assert reconciled.returncode == 0, reconciled.stderr
    states = {d["state"] for d in json.loads(reconciled.stdout)["links"]}
    assert states == {"ok"} and len(json.loads(reconciled.stdout)["links"]) == N
    # 60 links are read with one listing, not one request each.
    assert len(live.sandbox.log()) - before == 1


def test_serve_prints_a_working_connection(isolated_env: Path) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "invoicesync",
            "sandbox",
            "serve",
            "--target",
            "b2brouter",
            "--port",
            "0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline().strip() for _ in range(8)]
        env = dict(ln.removeprefix("export ").split("=", 1) for ln in lines[:3])
        assert env["INVOICESYNC_B2BROUTER_API_KEY"] == KEY
        assert env["INVOICESYNC_B2BROUTER_ACCOUNT"] == "211"
        url = env["INVOICESYNC_B2BROUTER_URL"]
        assert url.startswith("http://127.0.0.1:")
        assert lines[4:6] == ["#   [profiles.b2b]", '#   target = "b2brouter"']
        answer = httpx.get(
            f"{url}/accounts/211",
            headers={"X-B2B-API-Key": KEY, "X-B2B-API-Version": "2026-04-20"},
            timeout=5,
        )
        assert answer.json()["account"]["name"] == "Traducciones Babel S.L."
        isolated_env.mkdir(parents=True, exist_ok=True)
        (isolated_env / "config.toml").write_text(
            "\n".join(ln.removeprefix("#   ") for ln in lines[4:]) + "\n", encoding="utf-8"
        )
        status = subprocess.run(
            [sys.executable, "-m", "invoicesync", "--profile", "b2b", "connect"],
            env={**os.environ, **env, "INVOICESYNC_TOKEN_FILE": str(isolated_env / "t.json")},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert status.returncode == 0, status.stderr
        assert KEY in (isolated_env / "t.json").read_text(encoding="utf-8")  # the token file
        assert "Connected to B2BRouter account Traducciones Babel S.L. (211, test key)" in (
            status.stderr
        )
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def freelance_month(live: Live, seed: int) -> list[str]:
    """Invoices with 21 % IVA and a -15 % IRPF withholding, each followed by a credit
    note crediting it (referenced by number and date)."""
    rng = random.Random(seed)
    taxes = [
        {"category": "S", "rate": "21", "name": "IVA"},
        {"category": "S", "rate": "-15", "name": "IRPF"},
    ]
    records: list[dict[str, Any]] = []
    for i in range(N // 2):
        day = f"2026-10-{rng.randint(1, 20):02d}"
        for kind in ("invoice", "credit_note"):
            record: dict[str, Any] = {
                "number": f"{'F' if kind == 'invoice' else 'R'}-{i:04d}",
                "customer": {"name": "Acme Ibérica S.A.", "tax_id": "ESA28000000"},
                "issue_date": day,
                "currency": "EUR",
                "lines": [
                    {"service": "Translation", "quantity": "1", "unit_price": f"{rng.randint(1, 900)}.00", "taxes": taxes}
                ],
            }  # fmt: skip
            if kind == "credit_note":
                record |= {"type": "credit_note", "credit_for": f"F-{i:04d}"}
            records.append(record)
    (live.home.parent / "month.json").write_text(json.dumps(records), encoding="utf-8")
    return [r["number"] for r in records]


@pytest.mark.parametrize("seed", range(2))
def test_sigkill_amid_credit_notes_then_rerun_creates_each_once(live: Live, seed: int) -> None:
    numbers = freelance_month(live, seed)
    live.sandbox.set_faults(Faults(latency_ms=20, seed=seed))
    proc = live.popen("push", "--all")
    wanted = random.Random(seed).randint(5, N - 10)  # creates to wait for before the kill
    while len(live.invoices()) < wanted + 1 and proc.poll() is None:  # + the seeded invoice
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL, "the push ended before the kill"
    live.sandbox.set_faults(Faults())
    rerun = live.run("push", "--all", "--json")
    assert rerun.returncode == 0, rerun.stderr
    assert_exactly_once(live, numbers)
    made = {i["number"]: i for i in live.invoices()}
    for number in numbers:
        credit = number.startswith("R-")
        assert made[number]["is_credit_note"] is credit
        total = Decimal(made[number]["total"])
        assert total == (-1 if credit else 1) * Decimal(
            made[number]["subtotal"]
        ).copy_abs() * Decimal("1.06")
        if credit:
            ref = made["F-" + number[2:]]
            assert made[number]["invoice_references"] == [
                {"number": ref["number"], "date": ref["date"]}
            ]
    store = SQLiteStore.open(live.home / "profiles" / "es" / "state.db")
    kinds = {ln.invoice_number: str(ln.kind) for ln in store.links("b2brouter:211")}
    store.close()
    assert kinds == {n: "credit_note" if n.startswith("R-") else "invoice" for n in numbers}
