"""The audit trail in the store, on SQLite and on a real PostgreSQL: runs recorded
before their first write and finished with counts, events stamped with run, host and user,
history of one invoice in order, interrupted runs, retention that never touches a journal."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest

from invoicesync.models import DocKind
from invoicesync.store import (
    JournalEntry,
    LifecycleEntry,
    StateStore,
    identity,
    postgres,
    runs,
    sqlite,
)
from invoicesync.store.followups import Delivered, FollowUp
from invoicesync.store.postgres import PostgresStore
from invoicesync.store.sql import SqlStore
from invoicesync.store.sqlite import SQLiteStore
from tests.store.conftest import Backend
from tests.store.test_contract import REALM, link


@pytest.fixture(autouse=True)
def no_run_left() -> Iterator[None]:
    """Each test begins its runs itself; none may leak into the next test."""
    yield
    while (run := runs.current()) is not None:
        runs.finish(run, 0)


def intent(number: str, rid: str) -> JournalEntry:
    return JournalEntry(REALM, number, 0, rid, "pending", number, None, None, kind=DocKind.INVOICE)


def one_of_each(store: StateStore) -> None:
    """A run's worth of events: a create, an adoption, an edit, a refusal, a send, a credit."""
    store.journals.creates.intend(intent("INV-1", "r1"), intent("INV-3", "r3"))
    store.add_link(link("INV-1", "5"), request_id="r1")
    store.add_link(link("INV-2", "6"), event={"remote_id": "6", "adopted": True, "ours": True})
    store.journals.creates.refused(REALM, "r3", "6240 Duplicate Name Exists Error")
    edit = LifecycleEntry(REALM, "INV-1", "update", "u1", "5", "0", "f", doc_kind=DocKind.INVOICE)
    store.journals.lifecycle.intend(edit)
    store.journals.lifecycle.close(edit, "done", {"changes": ["line 1 quantity: 1 → 2"]})
    send = FollowUp(REALM, "send", "INV-1", "5", "s1", doc_kind=DocKind.INVOICE)
    store.journals.followups.intend(send)
    store.journals.followups.done(send, Delivered(to="ap@example.com"))
    store.add_link(replace(link("CN-1", "7"), kind=DocKind.CREDIT_MEMO))
    credit = LifecycleEntry(
        REALM, "CN-1", "apply", "a1", "7", None, None, detail={"invoice": "INV-1"},
        doc_kind=DocKind.CREDIT_MEMO,
    )  # fmt: skip
    store.journals.lifecycle.intend(credit)
    store.journals.lifecycle.close(credit, "done", {"amount": "55.00"})


def test_a_run_is_recorded_before_its_first_write_and_finished_with_counts(
    backend: Backend,
) -> None:
    store, other = backend.open(), backend.open()
    run = runs.begin("push --all")
    assert other.runs() == []  # begun, but nothing written yet: no run to list
    store.journals.creates.intend(intent("INV-9", "r9"))
    (started,) = other.runs()  # the start row was committed before the intent
    assert (started.run_id, started.command, started.status) == (
        run.run_id,
        "push --all",
        "running",
    )
    assert started.finished_at is None and started.exit_code is None
    one_of_each(store)
    runs.finish(run, 3)
    (done,) = other.runs()
    assert (done.status, done.exit_code, done.host, done.user) == ("failed", 3, run.host, run.user)
    assert {k: done.counts[k] for k in runs.COUNTED} == {
        "created": 2,
        "adopted": 1,
        "updated": 1,
        "failed": 1,
        "sent": 1,
    }  # fmt: skip (INV-1 and the credit note CN-1 were created)
    assert done.counts["credit applied"] == 1 and done.counts["credited"] == 1
    stamped = other.run_events(run.run_id)
    assert {(e.run_id, e.host, e.user) for e in stamped} == {(run.run_id, run.host, run.user)}


def test_history_of_an_invoice_is_its_events_in_order_with_target_and_reason(
    store: StateStore,
) -> None:
    run = runs.begin("push")
    one_of_each(store)
    runs.finish(run, 0)
    story = [
        (e.kind, e.detail.get("kind"), e.detail.get("remote_id"))
        for e in store.history(REALM, ["INV-1"])
    ]
    assert story == [
        ("pushed", "invoice", "5"),
        ("update done", "invoice", "5"),
        ("send-done", "invoice", "5"),
        ("credited", "credit_note", "7"),  # the credit note's application, on the invoice
    ]
    pushed, *_, credited = store.history(REALM, ["INV-1"])
    assert pushed.detail["request_id"] == "r1" and credited.detail["credit_note"] == "CN-1"
    (refused,) = store.history(REALM, ["INV-3"])
    assert (refused.kind, refused.detail["error"], refused.detail["request_id"]) == (
        "refused",
        "6240 Duplicate Name Exists Error",
        "r3",
    )
    assert store.history("another realm", ["INV-1"]) == []
    assert [e.invoice_number for e in store.history(None, ["INV-3", "INV-2"])] == ["INV-2", "INV-3"]


def test_events_written_before_runs_were_recorded_show_nothing_invented(
    store: StateStore,
) -> None:
    assert isinstance(store, SqlStore)
    with store.transaction():  # a row as the versions before runs wrote it
        store._exec(
            "INSERT INTO events (at, account, invoice_number, kind, detail) VALUES (?,?,?,?,?)",
            ("2025-01-02T03:04:05+00:00", REALM, "INV-1", "pushed", json.dumps({"remote_id": "5"})),
        )
    (old,) = store.history(REALM, ["INV-1"])
    assert (old.run_id, old.host, old.user, old.detail) == (None, None, None, {"remote_id": "5"})


def _dead_lease() -> str:
    """The identity of a process of this machine that has ended."""
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)  # fmt: skip
    me = identity.this_process()
    return replace(me, pid=int(child.stdout), start="1").lease()


def test_a_run_that_never_finished_is_interrupted_once_its_process_is_gone(
    backend: Backend,
) -> None:
    store, reader = backend.open(), backend.open()
    run = runs.begin("push --all")
    run.lease = _dead_lease()
    store.journals.creates.intend(intent("INV-1", "r1"))
    runs._current.set(())  # the process "dies": no finish row is ever written
    assert isinstance(store, SqlStore)
    store._close()  # and so does its connection (PostgreSQL: its session)
    # PostgreSQL drops the session's locks when its backend has exited, a moment after the
    # client closed: wait for that (bounded), not for a fixed time.
    deadline = time.monotonic() + 30
    while (record := reader.runs()[0]).status == "running" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert (record.run_id, record.status, record.exit_code) == (run.run_id, "interrupted", None)
    assert [e.state for e in reader.journals.creates.entries(REALM)] == [
        "pending"
    ]  # the intent stays


def test_closing_the_store_mid_run_keeps_it_until_the_finish_row(backend: Backend) -> None:
    store = backend.open()
    run = runs.begin("send")
    store.add_link(link("INV-1", "5"))
    store.close()  # the session closes its store before the CLI knows the exit code
    runs.finish(run, 0)  # the finish row goes through the same connection, which then closes
    (record,) = backend.open().runs()
    assert (record.status, record.counts["created"]) == ("finished", 1)


def test_retention_deletes_old_events_and_runs_but_never_a_journal_row(store: StateStore) -> None:
    assert isinstance(store, SqlStore)
    old = "2000-01-01T00:00:00+00:00"
    store.journals.creates.intend(intent("INV-1", "r1"))
    with store.transaction():
        store._exec(
            "INSERT INTO events (at, account, invoice_number, kind, detail) VALUES (?,?,?,?,?)",
            (old, REALM, "INV-1", "pushed", "{}"),
        )
        store._exec(
            "INSERT INTO runs (run_id, command, started_at, host, username, finished_at, "
            "exit_code) VALUES (?,?,?,?,?,?,?)",
            ("0" * 32, "push", old, "h", "u", old, 0),
        )
    store.keep_days = 30
    run = runs.begin("push")
    store.add_link(link("INV-2", "6"))
    runs.finish(run, 0)
    assert [e.at for e in store.history(REALM, ["INV-1", "INV-2"])] != [old]
    assert [e.invoice_number for e in store.history(REALM, ["INV-1", "INV-2"])] == ["INV-2"]
    assert [r.run_id for r in store.runs()] == [run.run_id]
    assert [(e.invoice_number, e.state) for e in store.journals.creates.entries(REALM)] == [
        ("INV-1", "pending")
    ]


def test_runs_list_newest_last_since_a_day_and_by_prefix(store: StateStore) -> None:
    ids = []
    for n in range(3):
        run = runs.begin(f"push {n}")
        store.add_link(link(f"INV-{n}", str(n)))
        runs.finish(run, 0)
        ids.append(run.run_id)
    assert [r.run_id for r in store.runs()] == ids
    assert [r.run_id for r in store.runs(limit=2)] == ids[1:]
    assert store.runs(since="2999-01-01") == []
    assert [r.run_id for r in store.run_record(ids[1][:10])] == [ids[1]]
    assert store.run_record(ids[1][:3]) == []  # too short to name a run
    assert [e.invoice_number for e in store.run_events(ids[2])] == ["INV-2"]


def test_events_outside_a_run_still_say_host_and_user(store: StateStore) -> None:
    store.add_link(link("INV-1", "5"))
    (event,) = store.history(REALM, ["INV-1"])
    assert event.run_id is None and event.host and event.user
    assert store.runs() == []


def test_totals_stay_exact_in_counts(store: StateStore) -> None:
    """Counting never touches amounts: a run's counts are whole numbers of events."""
    run = runs.begin("push")
    store.add_link(replace(link("INV-1", "5"), total=Decimal("0.10")))
    runs.finish(run, 0)
    (record,) = store.runs()
    assert all(type(v) is int for v in record.counts.values())


OLD_AT = "2026-03-01T00:00:00+00:00"


def _old_event(run: Any) -> None:
    """An event as the version before runs wrote it (no run, host or user columns)."""
    run(
        "INSERT INTO events (at, realm_id, invoice_number, kind, detail) VALUES (?,?,?,?,?)",
        (OLD_AT, REALM, "INV-1", "pushed", json.dumps({"qbo_id": "5", "kind": "invoice"})),
    )


def _check_upgraded(store: StateStore) -> None:
    (old,) = store.history(REALM, ["INV-1"])
    assert (old.at, old.run_id, old.host, old.user) == (OLD_AT, None, None, None)
    assert store.runs() == []
    run = runs.begin("push")
    store.add_link(link("INV-1", "5"))
    runs.finish(run, 0)
    assert [e.run_id for e in store.history(REALM, ["INV-1"])] == [None, run.run_id]


def test_sqlite_state_of_the_previous_version_upgrades(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "state.db"
    with monkeypatch.context() as m:
        m.setattr(
            sqlite,
            "MIGRATIONS",
            sqlite.MIGRATIONS[: sqlite.MIGRATIONS.index(runs.SQLITE_MIGRATION)],
        )
        old = SQLiteStore.open(path)
        _old_event(lambda sql, params: old.db.execute(sql, params))
        old.close()
    store = SQLiteStore.open(path)
    try:
        _check_upgraded(store)
    finally:
        store.close()


def test_postgresql_state_of_the_previous_version_upgrades(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = postgres.MIGRATIONS.index(runs.POSTGRES_MIGRATION)
    with monkeypatch.context() as m:
        m.setattr(postgres, "MIGRATIONS", postgres.MIGRATIONS[:before])
        PostgresStore.open(pg_url).close()  # type: ignore[union-attr]
    with psycopg.connect(pg_url, autocommit=True) as conn:
        _old_event(lambda sql, params: conn.execute(sql.replace("?", "%s"), params))
    store = PostgresStore.open(pg_url)
    assert store is not None
    try:
        _check_upgraded(store)
    finally:
        store.close()
