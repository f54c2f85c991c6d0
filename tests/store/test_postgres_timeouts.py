"""A frozen or stuck shared state becomes exit 7 within a documented bound, never a
wait without end. The server enforces its own timeouts on statements, lock waits and idle
transactions; a server that is frozen enforces nothing, so the client bounds every statement
itself (docs/configuration.md, "Shared state on PostgreSQL")."""

from __future__ import annotations

import threading

import psycopg
import pytest

from invoicesync.errors import EXIT_UNAVAILABLE
from invoicesync.store.postgres import PostgresStore, StateUnavailable
from tests.store.conftest import PgServer, frozen

REALM = "9130350000000001"


def _open(url: str, timeout: float) -> PostgresStore:
    store = PostgresStore.open(url, timeout=timeout)
    assert store is not None
    return store


def test_the_session_carries_the_timeouts_and_keepalives(pg_url: str) -> None:
    store = _open(pg_url, 7)
    try:
        show = {
            name: store.conn.execute(f"SHOW {name}").fetchone()
            for name in (
                "statement_timeout",
                "lock_timeout",
                "idle_in_transaction_session_timeout",
                "tcp_keepalives_idle",
            )
        }
        assert show == {
            "statement_timeout": ("7s",),
            "lock_timeout": ("7s",),
            "idle_in_transaction_session_timeout": ("15min",),
            "tcp_keepalives_idle": ("0",),  # a unix socket has no TCP; on TCP: 60
        }
        params = store.conn.info.get_parameters()
        assert params["keepalives"] == "1"
        assert params["keepalives_idle"] == "30"
        assert params["keepalives_interval"] == "10"
        assert params["keepalives_count"] == "3"
        assert params["tcp_user_timeout"] == "7000"
        assert params["connect_timeout"] == "7"
    finally:
        store.close()


def test_keepalive_settings_in_the_url_are_kept(pg_url: str) -> None:
    store = _open(pg_url + "&keepalives_idle=5&connect_timeout=3", 7)
    try:
        params = store.conn.info.get_parameters()
        assert params["keepalives_idle"] == "5"
        assert params["connect_timeout"] == "3"
    finally:
        store.close()


def test_a_lock_wait_past_the_timeout_is_exit_7_and_the_connection_lives_on(pg_url: str) -> None:
    """A client frozen inside a transaction holds its row locks; the next run's claim of those
    rows waits for them at most the timeout, then says so (exit 7) instead of hanging."""
    a = _open(pg_url, 1)
    a.claim(REALM, ["INV-1"], "run-a")
    b = _open(pg_url, 1)
    with psycopg.connect(pg_url) as stuck:  # not autocommit: the lock is held until the end
        stuck.execute("SELECT invoice_number FROM claims FOR UPDATE")
        with pytest.raises(StateUnavailable) as caught:
            b.claim(REALM, ["INV-1"], "run-b")
    assert caught.value.exit_code == EXIT_UNAVAILABLE == 7
    assert "did not answer within 1 s" in str(caught.value)
    assert "re-run" in str(caught.value)
    assert b.claim(REALM, ["INV-2"], "run-b") == {"INV-2"}  # the session is still usable
    a.close()
    b.close()


def test_a_frozen_server_is_exit_7_within_the_bound(pg_url: str, postgres_server: PgServer) -> None:
    """PostgreSQL frozen for 95 s held a push for 95 s. Frozen, the server enforces
    no timeout of its own, so the client ends the statement: exit 7 after about twice the
    timeout, the connection given up (a later answer can never be mistaken for this one)."""
    store = _open(pg_url, 1)
    store.claim(REALM, ["INV-1"], "run-a")
    outcome: list[object] = []

    def claim_more() -> None:
        try:
            outcome.append(store.claim(REALM, ["INV-2"], "run-a"))
        except StateUnavailable as exc:
            outcome.append(exc)

    worker = threading.Thread(target=claim_more)
    with frozen(postgres_server):
        worker.start()
        worker.join(60)  # a bound for the test only: the client gives up long before
        still_waiting = worker.is_alive()
    worker.join(60)
    assert not still_waiting, "the client waited for the frozen server"
    (exc,) = outcome
    assert isinstance(exc, StateUnavailable), exc
    assert exc.exit_code == 7
    assert "did not answer within 1 s" in str(exc)
    with pytest.raises(StateUnavailable):  # that connection is gone for good
        store.claims(REALM)
    store.close()
    after = _open(pg_url, 1)  # the server is back: nothing was lost
    assert [(c.invoice_number, c.run_id) for c in after.claims(REALM)] == [("INV-1", "run-a")]
    after.close()
