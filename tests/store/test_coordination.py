"""Claims and the run lock, against SQLite and a real PostgreSQL, from several connections and
several processes: one sender per invoice, one writer per state, and a dead run's hold ends."""

from __future__ import annotations

import multiprocessing
import os
import platform
import random
import signal
import time
from multiprocessing.synchronize import Barrier, Event
from typing import Any

import psycopg
import pytest

from invoicesync.errors import EXIT_LOCKED, LockHeld
from invoicesync.store import StateStore, identity
from tests.store.conftest import Backend
from tests.store.test_contract import intent, link

REALM = "9130350000000001"
FORK = multiprocessing.get_context("fork")


def _claimer(
    name: str, target: str, run: str, numbers: list[str], start: Barrier, out: Any
) -> None:
    store = Backend(name, target, []).open()
    start.wait(60)
    out.put((run, store.claim(REALM, numbers, run, holder=f"host-{run}")))
    start.wait(60)  # alive until every run has claimed: a run that ended holds nothing
    store.close()


def test_concurrent_claims_from_processes_exactly_one_wins(backend: Backend) -> None:
    numbers = [f"INV-{i:03}" for i in range(60)] + ["K]x", "K", "Ünïcødé"]
    runs = [f"run-{i}" for i in range(4)]
    start, out = FORK.Barrier(len(runs)), FORK.Queue()
    procs = []
    for run in runs:
        order = random.Random(run).sample(numbers, len(numbers))  # each run in its own order
        procs.append(
            FORK.Process(
                target=_claimer, args=(backend.name, backend.target, run, order, start, out)
            )
        )
    for p in procs:
        p.start()
    held = dict(out.get(timeout=120) for _ in runs)
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    owners = [run for run in runs for _ in held[run]]
    assert len(owners) == len(numbers)  # no number went to two runs
    assert set().union(*held.values()) == set(numbers)  # and none to nobody
    table = {c.invoice_number: c for c in backend.open().claims(REALM)}
    assert {n: table[n].run_id for n in numbers} == {n: r for r in runs for n in held[r]}
    assert all(table[n].holder == f"host-{table[n].run_id}" for n in numbers)


def test_a_live_claim_stays_with_its_run(backend: Backend) -> None:
    a, b = backend.open(), backend.open()
    assert a.claim(REALM, ["INV-1", "INV-2"], "run-a") == {"INV-1", "INV-2"}
    assert b.claim(REALM, ["INV-2", "INV-3"], "run-b") == {"INV-3"}
    assert a.claim(REALM, ["INV-1", "INV-2"], "run-a") == {"INV-1", "INV-2"}  # re-entrant
    assert b.claim("another-realm", ["INV-1"], "run-b") == {"INV-1"}
    assert {c.invoice_number: c.run_id for c in a.claims(REALM)} == {
        "INV-1": "run-a",
        "INV-2": "run-a",
        "INV-3": "run-b",
    }


def _legacy_claim(store: StateStore, numbers: list[str], run: str, expires_at: int) -> None:
    """Claim rows as a version before leases wrote them: no lease, so nothing tells whether
    their run is alive, and only their lifetime can end them."""
    with store.transaction():  # type: ignore[attr-defined]
        for number in numbers:
            store._exec(  # type: ignore[attr-defined]
                "INSERT INTO claims (account, invoice_number, run_id, holder, expires_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (REALM, number, run, "old-host:4242", expires_at),
            )


def test_an_expired_claim_of_an_older_version_is_taken_over_and_its_run_learns_it(
    backend: Backend,
) -> None:
    a, b = backend.open(), backend.open()
    _legacy_claim(a, ["INV-1", "INV-2"], "run-a", expires_at=0)
    assert b.claim(REALM, ["INV-1"], "run-b") == {"INV-1"}  # run-a stopped renewing
    assert a.renew_claims(REALM, "run-a") == {"INV-2"}  # INV-1 must no longer be sent by a
    assert {c.invoice_number: c.run_id for c in b.claims(REALM)} == {
        "INV-1": "run-b",
        "INV-2": "run-a",
    }
    _legacy_claim(a, ["INV-3"], "run-c", expires_at=int(time.time()) + 900)
    assert b.claim(REALM, ["INV-3"], "run-b") == set()  # not expired: it stays


def test_a_live_runs_claims_are_never_taken_even_when_they_expire(backend: Backend) -> None:
    """A claim held by a run that is provably alive (its database session is open;
    with SQLite, its process is running) stays with it, whatever its lifetime says: a run that
    stalls longer than the lifetime must not find another run sending its invoices."""
    a, b = backend.open(), backend.open()
    assert a.claim(REALM, ["INV-1", "INV-2"], "run-a", ttl=0) == {"INV-1", "INV-2"}
    assert b.claim(REALM, ["INV-1", "INV-3"], "run-b") == {"INV-3"}
    assert a.renew_claims(REALM, "run-a") == {"INV-1", "INV-2"}
    assert {c.invoice_number: c.run_id for c in b.claims(REALM)} == {
        "INV-1": "run-a",
        "INV-2": "run-a",
        "INV-3": "run-b",
    }


def _claims_then_waits(name: str, target: str, numbers: list[str], out: Any) -> None:
    store = Backend(name, target, []).open()
    store.claim(REALM, numbers, "run-dead")
    session = getattr(getattr(store, "conn", None), "info", None)
    out.put(session.backend_pid if session is not None else 0)
    time.sleep(600)


def _session_ended(backend: Backend, backend_pid: int) -> None:
    """Wait until the server has ended a killed client's session (it notices the closed
    socket at once; this waits for that, not for any lifetime)."""
    if backend.name != "postgresql":
        return
    with psycopg.connect(backend.target, autocommit=True) as conn:
        for _ in range(600):
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (backend_pid,)
            ).fetchone()
            if row == (0,):
                return
            time.sleep(0.05)
    pytest.fail(f"the server kept the session of backend {backend_pid}")


def test_a_killed_runs_claims_are_free_at_once(backend: Backend) -> None:
    """A run killed while holding claims kept them for the 15-minute lifetime, and
    every other run skipped its invoices meanwhile (exit 0). Its end is provable at once: its
    database session is gone (PostgreSQL), or its process is (SQLite, one machine)."""
    out = FORK.Queue()
    holder = FORK.Process(
        target=_claims_then_waits, args=(backend.name, backend.target, ["INV-1", "INV-2"], out)
    )
    holder.start()
    backend_pid = out.get(timeout=60)
    store = backend.open()
    assert store.claim(REALM, ["INV-1", "INV-3"], "run-b") == {"INV-3"}  # alive: it keeps them
    os.kill(holder.pid or 0, signal.SIGKILL)
    holder.join(60)
    _session_ended(backend, backend_pid)
    assert store.claim(REALM, ["INV-1", "INV-2", "INV-3"], "run-b") == {"INV-1", "INV-2", "INV-3"}
    assert {c.run_id for c in store.claims(REALM)} == {"run-b"}


def test_renewing_keeps_a_claim_alive(backend: Backend) -> None:
    a, b = backend.open(), backend.open()
    a.claim(REALM, ["INV-1"], "run-a", ttl=0)
    assert a.renew_claims(REALM, "run-a", ttl=900) == {"INV-1"}
    assert b.claim(REALM, ["INV-1"], "run-b") == set()
    (claim,) = b.claims(REALM)
    assert claim.expires_at > int(time.time()) + 600


def test_released_claims_are_free_at_once(backend: Backend) -> None:
    a, b = backend.open(), backend.open()
    a.claim(REALM, ["INV-1", "INV-2", "INV-3"], "run-a")
    a.release_claims(REALM, "run-a", ["INV-1"])
    b.release_claims(REALM, "run-b")  # releasing nothing it holds takes nothing from a
    assert b.claim(REALM, ["INV-1", "INV-2"], "run-b") == {"INV-1"}
    a.release_claims(REALM, "run-a")
    assert b.claim(REALM, ["INV-2", "INV-3"], "run-b") == {"INV-2", "INV-3"}


def test_claims_are_committed_even_inside_a_group(backend: Backend) -> None:
    a, b = backend.open(), backend.open()
    with a.grouped(size=100):
        a.add_link(link("INV-0", "10"))  # an outcome waiting in the group
        assert a.claim(REALM, ["INV-1"], "run-a") == {"INV-1"}
        assert [c.run_id for c in b.claims(REALM)] == ["run-a"]  # committed, with the outcome
        assert [ln.invoice_number for ln in b.links(REALM)] == ["INV-0"]
    assert b.claim(REALM, ["INV-1"], "run-b") == set()


def test_a_second_run_lock_holder_gets_lock_held(backend: Backend) -> None:
    a, b = backend.open(), backend.open()
    with a.run_lock():
        with pytest.raises(LockHeld) as held, b.run_lock():
            pass
        assert held.value.exit_code == EXIT_LOCKED == 9
        assert "another invoicesync run is writing" in str(held.value)
        assert "--wait" in str(held.value)
    with b.run_lock():  # released on exit
        pass


def _lock_holder(name: str, target: str, ready: Event) -> None:
    store = Backend(name, target, []).open()
    with store.run_lock():
        ready.set()
        time.sleep(600)


def test_a_killed_runs_lock_is_released(backend: Backend) -> None:
    ready = FORK.Event()
    holder = FORK.Process(target=_lock_holder, args=(backend.name, backend.target, ready))
    holder.start()
    try:
        assert ready.wait(60)
        store: StateStore = backend.open()
        with pytest.raises(LockHeld), store.run_lock():
            pass
    finally:
        os.kill(holder.pid or 0, signal.SIGKILL)
        holder.join(60)
    with store.run_lock(wait=60):  # the OS or the server ended the dead run's hold
        pass


def _dies_mid_group(name: str, target: str) -> None:
    store = Backend(name, target, []).open()
    store.journals.creates.intend(*[intent(f"INV-{i}", f"r{i}") for i in range(5)])
    with store.grouped(size=2):
        for i in range(3):
            store.add_link(link(f"INV-{i}", str(10 + i)), request_id=f"r{i}")
        os.kill(os.getpid(), signal.SIGKILL)  # the third outcome's group never commits


def test_a_crash_mid_group_loses_outcomes_never_intents(backend: Backend) -> None:
    child = FORK.Process(target=_dies_mid_group, args=(backend.name, backend.target))
    child.start()
    child.join(60)
    assert child.exitcode == -signal.SIGKILL
    store = backend.open()
    journal = {e.invoice_number: e.state for e in store.journals.creates.entries(REALM)}
    assert journal == {
        "INV-0": "done",
        "INV-1": "done",
        "INV-2": "pending",  # sent, outcome lost: the next run's lookup adopts it
        "INV-3": "pending",
        "INV-4": "pending",
    }
    assert [ln.invoice_number for ln in store.links(REALM)] == ["INV-0", "INV-1"]


def test_a_claim_records_its_host_and_process_by_default(backend: Backend) -> None:
    store = backend.open()
    store.claim(REALM, ["INV-1"], "run-a")
    (claim,) = store.claims(REALM)
    # Not "host:pid": a version before leases would read that as a process of its own host.
    assert claim.holder == f"{platform.node()} (pid {os.getpid()})"
    assert claim.lease is not None
    assert identity.parse(claim.lease) == identity.this_process()
    assert (claim.account, claim.invoice_number, claim.run_id) == (REALM, "INV-1", "run-a")


def test_releasing_all_its_claims_ends_a_runs_lease(backend: Backend) -> None:
    """A run that released everything is over: a later claim under the same run id is a new
    lease, and another run's claim of the same numbers is not refused by a stale one."""
    a, b = backend.open(), backend.open()
    a.claim(REALM, ["INV-1"], "run-a")
    a.release_claims(REALM, "run-a")
    assert b.claim(REALM, ["INV-1"], "run-b") == {"INV-1"}
    assert a.claim(REALM, ["INV-1", "INV-2"], "run-a") == {"INV-2"}
    b.release_claims(REALM, "run-b")
    assert a.claim(REALM, ["INV-1"], "run-a") == {"INV-1"}


def _churn(name: str, target: str, run: str, numbers: list[str], start: Barrier, out: Any) -> None:
    """Claim, renew and release the same numbers over and over, as pushes on hosts do."""
    store = Backend(name, target, []).open()
    start.wait(60)
    error = ""
    try:
        for _ in range(25):
            store.claim(REALM, numbers, run)
            store.renew_claims(REALM, run)
            store.release_claims(REALM, run, numbers[::2])
            store.release_claims(REALM, run)
    except Exception as exc:  # reported to the test, which fails on it
        error = f"{type(exc).__name__}: {exc}"
    out.put(error)
    store.close()


def test_runs_claiming_renewing_and_releasing_together_never_deadlock(backend: Backend) -> None:
    """Found by the many-hosts test on PostgreSQL: a release deleting rows in its own order
    while another run's claim locked them in number order deadlocked both."""
    numbers = [f"N-{i:03}" for i in range(40)]
    runs = [f"churn-{i}" for i in range(3)]
    start, out = FORK.Barrier(len(runs)), FORK.Queue()
    procs = [
        FORK.Process(
            target=_churn,
            args=(
                backend.name,
                backend.target,
                run,
                random.Random(run).sample(numbers, 40),
                start,
                out,
            ),
        )
        for run in runs
    ]
    for p in procs:
        p.start()
    errors = [out.get(timeout=180) for _ in runs]
    for p in procs:
        p.join(60)
    assert errors == [""] * len(runs)
    assert backend.open().claims(REALM) == []
