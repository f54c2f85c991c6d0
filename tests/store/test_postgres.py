"""What only the PostgreSQL backend has: a shared server, a URL that may carry a password, a
schema that may hold someone else's tables, a connection that can drop mid-run."""

from __future__ import annotations

import psycopg
import pytest

from invoicesync.config import load_settings
from invoicesync.errors import (
    EXIT_INVALID_INPUT,
    EXIT_LOCKED,
    EXIT_UNAVAILABLE,
    ConfigError,
    InvalidInput,
    LockHeld,
    redact,
)
from invoicesync.store import existing_store, open_store
from invoicesync.store.postgres import MIGRATIONS, PostgresStore, StateUnavailable, redact_url
from tests.store.conftest import PgServer
from tests.store.test_contract import REALM, link

PASSWORD = "pg-Secret-9f3e"


def opened(url: str) -> PostgresStore:
    store = PostgresStore.open(url)
    assert store is not None
    return store


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "postgresql://ann:pw-1@db.example:5432/books",
            "postgresql://ann:***@db.example:5432/books",
        ),
        (
            "postgres://ann:p%40ss@db/books?sslmode=require",
            "postgres://ann:***@db/books?sslmode=require",
        ),
        (
            "postgresql://db/books?user=ann&password=pw-2&x=1",
            "postgresql://db/books?user=ann&password=***&x=1",
        ),
        (
            "postgresql:///books?host=/run/pg&PASSWORD=pw-3",
            "postgresql:///books?host=/run/pg&PASSWORD=***",
        ),
        ("postgresql://ann@db/books", "postgresql://ann@db/books"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_the_password_never_shows(pg_url: str) -> None:
    url = pg_url + f"&password={PASSWORD}"  # the test server trusts, so any password works
    a, b = opened(url), opened(url)
    assert PASSWORD not in a.describe() and "password=***" in a.describe()
    with a.run_lock(), pytest.raises(LockHeld) as held, b.run_lock():
        pass
    assert held.value.exit_code == EXIT_LOCKED
    assert PASSWORD not in str(held.value) and "password=***" in str(held.value)
    assert redact(f"driver said {PASSWORD}") == "driver said ***"  # registered for redaction
    a.close()
    b.close()


def test_an_unreachable_server_is_a_config_error_without_the_password(
    postgres_server: PgServer,
) -> None:
    url = f"postgresql://ann:{PASSWORD}@/books?host={postgres_server.socket_dir}/absent"
    with pytest.raises(ConfigError) as err:
        PostgresStore.open(url)
    assert err.value.exit_code == EXIT_INVALID_INPUT
    message = str(err.value)
    assert PASSWORD not in message
    assert message.startswith("cannot connect to the state database postgresql://ann:***@/books")
    assert "check state_url / INVOICESYNC_STATE_URL" in message


def test_a_schema_with_someone_elses_tables_is_refused(pg_url: str) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE links (url TEXT)")
    with pytest.raises(InvalidInput) as err:
        PostgresStore.open(pg_url)
    assert err.value.exit_code == EXIT_INVALID_INPUT
    assert "already has tables named links that are not invoicesync's" in str(err.value)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        assert conn.execute("SELECT to_regclass('schema_version')").fetchone() == (None,)


def test_a_newer_schema_is_refused(pg_url: str) -> None:
    opened(pg_url).close()
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("UPDATE schema_version SET version = 99")
    with pytest.raises(Exception, match="written by a newer invoicesync"):
        PostgresStore.open(pg_url)


def test_migrating_twice_keeps_the_data(pg_url: str) -> None:
    store = opened(pg_url)
    store.add_link(link("INV-1", "1"))
    store.close()
    store = opened(pg_url)
    assert [ln.remote_id for ln in store.links(REALM)] == ["1"]
    store.close()
    with psycopg.connect(pg_url, autocommit=True) as conn:
        version = conn.execute("SELECT version FROM schema_version").fetchall()
        assert version == [(len(MIGRATIONS),)] == [(10,)]


def test_settings_select_the_backend(pg_url: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    home = tmp_path_factory.mktemp("home")
    env = {"INVOICESYNC_HOME": str(home), "INVOICESYNC_STATE_URL": pg_url}
    settings = load_settings(env=env)
    assert existing_store(settings) is None  # a dry run creates nothing
    with psycopg.connect(pg_url, autocommit=True) as conn:
        assert conn.execute("SELECT to_regclass('links')").fetchone() == (None,)
    store = open_store(settings)
    assert isinstance(store, PostgresStore)
    store.add_link(link("INV-1", "1"))
    store.close()
    again = existing_store(settings)
    assert again is not None and [ln.remote_id for ln in again.links(REALM)] == ["1"]
    again.close()
    assert not (home / "state.db").exists()
    sqlite_settings = load_settings(env={"INVOICESYNC_HOME": str(home)})
    assert existing_store(sqlite_settings) is None
    local = open_store(sqlite_settings)
    assert local.describe() == str(home / "state.db") and local.links(REALM) == []
    local.close()


def test_a_dropped_connection_is_exit_7_and_nothing_leaks(pg_url: str) -> None:
    url = pg_url + f"&password={PASSWORD}"
    store = opened(url)
    pid = store.conn.info.backend_pid
    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    with pytest.raises(StateUnavailable) as err:
        store.add_link(link("INV-1", "1"))
    assert err.value.exit_code == EXIT_UNAVAILABLE == 7
    assert "lost the connection to the state database" in str(err.value)
    assert PASSWORD not in str(err.value)
    store.close()


def test_text_with_nul_is_refused_with_exit_8_and_the_store_goes_on(pg_url: str) -> None:
    store = opened(pg_url)
    with pytest.raises(InvalidInput) as err:
        store.add_link(link("INV\x00-1", "1"))
    assert err.value.exit_code == EXIT_INVALID_INPUT
    assert "cannot store text containing NUL characters" in str(err.value)
    store.add_link(link("INV-1", "1"))
    assert [ln.invoice_number for ln in store.links(REALM)] == ["INV-1"]
    store.close()


def test_a_percent_encoded_password_is_registered_both_ways(postgres_server: PgServer) -> None:
    url = f"postgresql://ann:pg%40Secret-77@/books?host={postgres_server.socket_dir}/absent"
    with pytest.raises(ConfigError):
        PostgresStore.open(url)
    assert redact("pg%40Secret-77 or pg@Secret-77") == "*** or ***"
