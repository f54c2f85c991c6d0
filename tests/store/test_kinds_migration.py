"""The migration that puts a kind beside every stored remote id (store/kinds.py), on a state
written by the version before it, for SQLite and PostgreSQL: what is known is filled, what is
not is `unknown`, and nothing is guessed to be an invoice."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psycopg
import pytest

from invoicesync.models import DocKind
from invoicesync.store import StateStore, kinds, postgres, sqlite
from invoicesync.store.followups import followups
from invoicesync.store.postgres import PostgresStore
from invoicesync.store.sqlite import SQLiteStore

R = "9130350000000001"
T = "2026-03-01T00:00:00+00:00"
# (number, qbo_id, origin, kind) as the previous version stored them.
LINKS = [
    ("INV-1", "1", "pushed", "invoice"),
    ("CN-P", "1", "pushed", "credit_note"),  # pushed: created as a credit memo
    ("CN-L", "2", "linked", "credit_note"),  # `link CN-L 2` read invoice 2
    ("CN-A", "3", "linked", "credit_note"),  # adopted by a push among credit memos
    ("CN-R", "4", "rebuilt", "credit_note"),  # `reconcile --rebuild` searched invoices
]
EVENTS = [
    ("CN-L", "linked", {"qbo_id": "2", "warnings": []}),
    ("CN-A", "linked", {"adopted": True, "ours": False, "qbo_id": "3"}),
]
JOURNAL = [  # (number, request id, state, qbo_id)
    ("INV-1", "r1", "done", "1"),
    ("CN-P", "r2", "done", "1"),
    ("INV-9", "r3", "pending", None),
    ("INV-8", "r4", "done", "7"),  # unlinked since
]
LIFECYCLE = [  # (number, action, request id, qbo_id)
    ("INV-1", "void", "v1", "1"),
    ("CN-P", "apply", "a1", "1"),
    ("CN-P", "update", "u1", "1"),
    ("CN-L", "update", "u2", "2"),  # sent to CreditMemo 2, whatever invoice 2 is
    ("GONE", "update", "u3", "9"),
]


def _old_rows(run: Any) -> None:
    """The rows, through `run(sql, params)` with `?` placeholders, in the old columns only."""
    for number, qbo_id, origin, kind in LINKS:
        run(
            "INSERT INTO links (realm_id, invoice_number, qbo_id, doc_number, origin, linked_at, "
            "sync_token, total, currency, marker_written, kind) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (R, number, qbo_id, number, origin, T, "0", "10.00", "USD", 1, kind),
        )
    for number, kind, detail in EVENTS:
        run(
            "INSERT INTO events (at, realm_id, invoice_number, kind, detail) VALUES (?,?,?,?,?)",
            (T, R, number, kind, json.dumps(detail, sort_keys=True)),
        )
    for number, rid, state, qbo_id in JOURNAL:
        run(
            "INSERT INTO push_journal (realm_id, invoice_number, generation, request_id, state, "
            "doc_number, qbo_id, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?)",
            (R, number, 0, rid, state, number, qbo_id, T, T),
        )
    run(
        "INSERT INTO followups (realm_id, kind, invoice_number, qbo_id, request_id, state, "
        "created_at, updated_at) VALUES (?,?,?,?,?,?,?,?)",
        (R, "send", "CN-P", "1", "s1", "done", T, T),
    )
    for number, action, rid, qbo_id in LIFECYCLE:
        run(
            "INSERT INTO lifecycle_journal (realm_id, invoice_number, action, request_id, "
            "qbo_id, state, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?)",
            (R, number, action, rid, qbo_id, "done", T, T),
        )


def _check(store: StateStore) -> None:
    assert {ln.invoice_number: ln.kind for ln in store.links(R)} == {
        "INV-1": DocKind.INVOICE,
        "CN-P": DocKind.CREDIT_MEMO,
        "CN-L": DocKind.UNKNOWN,
        "CN-A": DocKind.CREDIT_MEMO,
        "CN-R": DocKind.UNKNOWN,
    }
    assert {e.request_id: e.kind for e in store.journals.creates.entries(R)} == {
        "r1": DocKind.INVOICE,
        "r2": DocKind.CREDIT_MEMO,
        "r3": DocKind.UNKNOWN,
        "r4": DocKind.UNKNOWN,
    }
    [sent] = followups(store, R, "send")
    assert sent.doc_kind is DocKind.INVOICE  # what the old send e-mailed: invoice/1/send
    assert {e.request_id: e.doc_kind for e in store.journals.lifecycle.entries(R)} == {
        "v1": DocKind.INVOICE,
        "a1": DocKind.CREDIT_MEMO,
        "u1": DocKind.CREDIT_MEMO,
        "u2": DocKind.CREDIT_MEMO,
        "u3": DocKind.UNKNOWN,
    }
    assert [e[3] for e in store.events(R)] == [d for _, _, d in EVENTS]  # the log is not rewritten


def test_sqlite_state_of_the_previous_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "state.db"
    before = sqlite.MIGRATIONS.index(kinds.SQLITE_MIGRATION)
    with monkeypatch.context() as m:
        m.setattr(sqlite, "MIGRATIONS", sqlite.MIGRATIONS[:before])
        old = SQLiteStore.open(path)
        _old_rows(lambda sql, params: old.db.execute(sql, params))
        old.close()
    store = SQLiteStore.open(path)
    try:
        _check(store)
    finally:
        store.close()


def test_postgresql_state_of_the_previous_version(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = postgres.MIGRATIONS.index(kinds.POSTGRES_MIGRATION)
    with monkeypatch.context() as m:
        m.setattr(postgres, "MIGRATIONS", postgres.MIGRATIONS[:before])
        PostgresStore.open(pg_url).close()  # type: ignore[union-attr]
    with psycopg.connect(pg_url, autocommit=True) as conn:
        _old_rows(lambda sql, params: conn.execute(sql.replace("?", "%s"), params))
    store = PostgresStore.open(pg_url)
    assert store is not None
    try:
        _check(store)
    finally:
        store.close()
