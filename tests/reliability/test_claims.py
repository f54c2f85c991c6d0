"""Claims across machines that share one PostgreSQL state: a live run's claims are
never taken, not even by a machine with the same host name; a dead run's are free at once; an
invoice left to another run is not success; `--wait` waits for it; a frozen database is exit 7
within the documented bound, and the re-run finishes exactly once.

"Machines" are processes run through `tests/reliability/machine.py`: each its own host name,
machine id and boot id, blind to the other's processes. A gate at the sandbox holds the first
create until the test opens it, so each scenario happens at a known point, without sleeps.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from invoicesync.targets.quickbooks.sandbox.app import Sandbox
from invoicesync.targets.quickbooks.sandbox.wire import Request, Response
from tests.reliability.conftest import SOAK, US, Live, count, month
from tests.reliability.test_many_hosts import Host, assert_one_each, hosts, settle
from tests.store.conftest import PgServer, frozen, pg_url, postgres_server  # noqa: F401 (fixtures)

pytestmark = pytest.mark.loopback
N = 120 if SOAK else 40
ROOT = Path(__file__).parents[2]


class Gate:
    """Holds the first create (`POST …/batch` or `…/invoice`) until `open()`: the run that sent
    it has claimed its invoices and journaled their intents, and is waiting for the answer."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.reached = threading.Event()
        self.done = threading.Event()
        self._opened = threading.Event()
        self._taken = False
        self._lock = threading.Lock()
        self._handle = sandbox.handle

    def handle(self, request: Request) -> Response:
        path = request.path.rstrip("/")
        gated = False
        if request.method == "POST" and path.endswith(("/batch", "/invoice")):
            with self._lock:
                gated, self._taken = not self._taken, True
        if not gated:
            return self._handle(request)
        self.reached.set()
        self._opened.wait(180)
        try:
            return self._handle(request)
        finally:
            self.done.set()

    def open(self) -> None:
        self._opened.set()


@pytest.fixture
def gate(live: Live, monkeypatch: pytest.MonkeyPatch) -> Iterator[Gate]:
    g = Gate(live.sandbox)
    monkeypatch.setattr(live.sandbox, "handle", g.handle)
    yield g
    g.open()


@pytest.fixture
def state_url(request: pytest.FixtureRequest) -> str:
    """A fresh schema on the test PostgreSQL server: the state every machine here shares."""
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
def server(request: pytest.FixtureRequest) -> PgServer:
    pg: PgServer = request.getfixturevalue("postgres_server")
    return pg


class Machine(Host):
    """A host run through `machine.py`: its own host name, machine id and boot id."""

    name: str = ""

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [
                sys.executable,
                *("-m", "tests.reliability.machine", self.name, str(self.home.parent)),
                *args,
            ],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )


def machines(live: Live, tmp_path: Path, url: str, names: list[str]) -> list[Machine]:
    out = []
    for host, name in zip(hosts(live, tmp_path, len(names), url), names, strict=True):
        machine = Machine(host.home, host.env, host.source, host.state_url)
        machine.name = name
        machine.env["PYTHONPATH"] = str(ROOT)
        out.append(machine)
    return out


def month_for(live: Live, all_machines: list[Machine], seed: int) -> list[str]:
    """One export for every machine; QuickBooks numbers the invoices (the mode where two
    senders of one invoice make two invoices: batches carry no DocNumber to refuse)."""
    live.reset_company()
    live.sandbox.companies[US].custom_txn_numbers = False
    records = month(N, seed, prefix=f"C{seed}")
    for machine in all_machines:
        machine.source.write_text(json.dumps(records), encoding="utf-8")
    return [r["number"] for r in records]


def sessions(url: str) -> set[int]:
    """The backend pids of invoicesync's sessions on the server."""
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = 'invoicesync'"
        ).fetchall()
    return {int(r[0]) for r in rows}


def ended(url: str, pids: set[int]) -> None:
    """Wait until the server has ended these sessions (it sees a dead client's socket close;
    this waits for that event, never for a claim's lifetime)."""
    for _ in range(1200):
        if not pids & sessions(url):
            return
        time.sleep(0.05)
    pytest.fail(f"the server kept the sessions {pids & sessions(url)}")


def results(out: str) -> dict[str, dict[str, Any]]:
    return {r["invoice"]: r for r in json.loads(out)["results"]}


@pytest.mark.parametrize("seed", range(3) if SOAK else [0])
def test_two_machines_with_one_host_name_never_push_the_same_invoice(
    live: Live, tmp_path: Path, state_url: str, gate: Gate, seed: int
) -> None:
    """A run on a second machine called `ubuntu` took over the live
    claims of a run on the first (its process id meant nothing there): 30 duplicates of 40,
    both exit 0. Now the holder's database session proves it alive, wherever it runs."""
    a, b = machines(live, tmp_path, state_url, ["ubuntu", "ubuntu"])
    numbers = month_for(live, [a, b], 26 + 10 * seed)
    first = a.popen("push", "--all", "--json")
    try:
        assert gate.reached.wait(120), "the first machine never sent a create"
        second = b.popen("push", "--all", "--json")
        out, err = second.communicate(timeout=120)
    finally:
        gate.open()
    assert settle([first]) == [0]
    assert second.returncode == 9, out + err  # work not done is not success
    held = results(out)
    assert set(held) == set(numbers)
    for result in held.values():
        assert result["status"] == "failed"
        assert result["message"].startswith("another run (ubuntu (pid "), result
    assert settle([b.popen("push", "--all", "--json")]) == [0]  # a is done: all linked
    assert_one_each(live, numbers, [a, b])
    count("same-host-name machines on one state: invoices held by a live run, never taken", N)
    count("invoices verified exactly once in the claims scenarios", N)


@pytest.mark.parametrize("seed", range(3) if SOAK else [0])
def test_a_killed_holder_on_another_machine_is_released_at_once(
    live: Live, tmp_path: Path, state_url: str, gate: Gate, seed: int
) -> None:
    """A run killed on one host held its claims for 15 minutes, and the
    other host's `push --all` said "skipped" for each and exited 0. Its session ended with it,
    so the next run takes its invoices at once and finishes them exactly once."""
    a, b = machines(live, tmp_path, state_url, ["alpha", "beta"])
    numbers = month_for(live, [a, b], 27 + 10 * seed)
    before = sessions(state_url)
    first = a.popen("push", "--all", "--json")
    try:
        assert gate.reached.wait(120), "the first machine never sent a create"
        killed = sessions(state_url) - before
        first.send_signal(signal.SIGKILL)
        first.communicate(timeout=60)
    finally:
        gate.open()
    assert gate.done.wait(60)  # QuickBooks finished the create it had received
    ended(state_url, killed)
    again = b.popen("push", "--all", "--json")
    out, err = again.communicate(timeout=180)
    assert again.returncode == 0, err
    statuses = {r["status"] for r in results(out).values()}
    assert statuses <= {"created", "adopted"}, statuses
    assert_one_each(live, numbers, [b])
    count("killed holders whose claims the next run took at once")
    count("invoices verified exactly once in the claims scenarios", N)


def test_wait_waits_for_the_holder_then_has_nothing_left_to_do(
    live: Live, tmp_path: Path, state_url: str, gate: Gate
) -> None:
    a, b = machines(live, tmp_path, state_url, ["ubuntu", "ubuntu"])
    numbers = month_for(live, [a, b], 28)
    first = a.popen("push", "--all", "--json")
    second: subprocess.Popen[str] | None = None
    said: list[str] = []
    try:
        assert gate.reached.wait(120), "the first machine never sent a create"
        second = b.popen("push", "--all", "--json", "--wait", "120")
        assert second.stderr is not None
        for line in second.stderr:  # until it says it waits (or ends without waiting)
            said.append(line)
            if "waiting up to 120 s for another run" in line:
                break
    finally:
        gate.open()
    assert said and "waiting up to 120 s for another run" in said[-1], said
    assert settle([first]) == [0]
    out, err = second.communicate(timeout=120)
    assert second.returncode == 0, err
    assert {r["status"] for r in results(out).values()} == {"skipped"}  # a linked them all
    assert_one_each(live, numbers, [a, b])
    count("runs that waited for a holder with --wait")
    count("invoices verified exactly once in the claims scenarios", N)


def test_a_frozen_database_is_exit_7_and_the_rerun_finishes_exactly_once(
    live: Live, tmp_path: Path, state_url: str, gate: Gate, server: PgServer
) -> None:
    """PostgreSQL frozen at the first create held the push for as long
    as it was frozen. With `state_timeout = 2` the push gives up within the documented bound
    (exit 7), its intents intact; the re-run after the thaw links every invoice once."""
    (a,) = machines(live, tmp_path, state_url, ["ubuntu"])
    a.env["INVOICESYNC_STATE_TIMEOUT"] = "2"
    numbers = month_for(live, [a], 29)
    before = sessions(state_url)
    first = a.popen("push", "--all", "--json")
    try:
        assert gate.reached.wait(120), "the push never sent a create"
        cut = sessions(state_url) - before
        with frozen(server):
            gate.open()
            out, err = first.communicate(timeout=120)
    finally:
        gate.open()
        if first.poll() is None:
            first.kill()
            first.communicate()
    assert first.returncode == 7, err
    assert "did not answer within 2 s" in " ".join(err.split())
    assert "Traceback" not in err
    document = json.loads(out)
    assert document["error"]["exit_code"] == 7
    ended(state_url, cut)
    assert settle([a.popen("push", "--all", "--json")]) == [0]
    assert_one_each(live, numbers, [a])
    count("pushes cut off by a frozen database, then finished exactly once")
    count("invoices verified exactly once in the claims scenarios", N)
