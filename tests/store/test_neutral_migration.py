"""The neutral column names (store/neutral.py): a state written by the version before, with
`realm_id`, `qbo_id` and `sync_token` columns, keeps every row under the new names, on both
backends, and an event from before still names its document."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from invoicesync.cli.history_views import target
from invoicesync.store import neutral, postgres, sqlite
from invoicesync.store.postgres import PostgresStore
from invoicesync.store.sql import SqlStore
from invoicesync.store.sqlite import SQLiteStore
from tests.store.test_contract import REALM

AT = "2026-03-01T09:00:00+00:00"
OLD_ROWS = [
    "INSERT INTO links (realm_id, invoice_number, qbo_id, doc_number, origin, linked_at, "
    "sync_token, total, currency, kind) VALUES (?, 'INV-1', '42', 'INV-1', 'pushed', ?, '3', "
    "'10.00', 'EUR', 'invoice')",
    "INSERT INTO push_journal (realm_id, invoice_number, generation, request_id, state, "
    "qbo_id, created_at, updated_at, doc_kind) VALUES (?, 'INV-1', 0, 'rq-1', 'done', '42', ?, "
    "?, 'invoice')",
    "INSERT INTO push_journal (realm_id, invoice_number, generation, request_id, state, "
    "created_at, updated_at) VALUES (?, 'INV-2', 0, 'rq-2', 'pending', ?, ?)",
    "INSERT INTO followups (realm_id, kind, invoice_number, qbo_id, request_id, state, "
    "created_at, updated_at, doc_kind) VALUES (?, 'send', 'INV-1', '42', 'rq-3', 'pending', ?, "
    "?, 'invoice')",
    "INSERT INTO lifecycle_journal (realm_id, invoice_number, action, request_id, qbo_id, "
    "base_token, state, created_at, updated_at, doc_kind) VALUES (?, 'INV-1', 'void', 'rq-4', "
    "'42', '3', 'pending', ?, ?, 'invoice')",
    "INSERT INTO events (at, realm_id, invoice_number, kind, detail) VALUES (?, ?, 'INV-1', "
    "'pushed', ?)",
]


def _old_rows(run: Callable[[str, tuple[Any, ...]], Any]) -> None:
    for sql in OLD_ROWS:
        if "INTO events" in sql:
            run(sql, (AT, REALM, json.dumps({"qbo_id": "42", "kind": "invoice"})))
        else:
            run(sql, (REALM, *([AT] * (sql.count("?") - 1))))


def _check(store: SqlStore) -> None:
    (link,) = store.links(REALM)
    assert (link.account, link.remote_id, link.version, link.kind) == (REALM, "42", "3", "invoice")
    creates = store.journals.creates.entries(REALM)
    assert [(e.invoice_number, e.state, e.remote_id) for e in creates] == [
        ("INV-1", "done", "42"),
        ("INV-2", "pending", None),
    ]
    (send,) = store.journals.followups.entries(REALM, "send")
    assert (send.remote_id, send.state) == ("42", "pending")
    (void,) = store.journals.lifecycle.entries(REALM, "void")
    assert (void.remote_id, void.state) == ("42", "pending")
    (event,) = store.history(REALM, ["INV-1"])
    assert target(event) == {"kind": "invoice", "id": "42"}  # written as `qbo_id` before


def test_sqlite_state_of_the_version_before_keeps_every_row(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "state.db"
    with monkeypatch.context() as m:
        before = sqlite.MIGRATIONS.index(neutral.SQLITE_MIGRATION)
        m.setattr(sqlite, "MIGRATIONS", sqlite.MIGRATIONS[:before])
        old = SQLiteStore.open(path)
        _old_rows(lambda sql, params: old.db.execute(sql, params))
        old.db.commit()
        old.close()
    store = SQLiteStore.open(path)
    try:
        _check(store)
        columns = {r[1] for r in store.db.execute("PRAGMA table_info(links)")}
        assert {"account", "remote_id", "version"} <= columns
        assert not {"realm_id", "qbo_id", "sync_token"} & columns
    finally:
        store.close()


def test_postgresql_state_of_the_version_before_keeps_every_row(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = postgres.MIGRATIONS.index(neutral.POSTGRES_MIGRATION)
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
