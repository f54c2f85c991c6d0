"""The SQLite file: only our own database is opened; anything else is refused with exit 8
before a byte is written to it."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest

from invoicesync.errors import EXIT_INVALID_INPUT, InvalidInput
from invoicesync.store import Store
from invoicesync.store.sqlite import APPLICATION_ID, MIGRATIONS
from tests.helpers import US, World
from tests.store.test_contract import REALM, link


def refused(path: Path) -> str:
    with pytest.raises(InvalidInput) as err:
        Store.open(path)
    assert err.value.exit_code == EXIT_INVALID_INPUT == 8
    message = str(err.value)
    assert message.startswith(f"{path} ") and "move it aside" in message
    return message


def test_a_new_file_is_ours_and_private(tmp_path: Path) -> None:
    path = tmp_path / "app" / "state.db"
    Store.open(path).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS) == 12
    db.close()
    Store.open(path).close()  # and it opens again


def test_a_symlinked_state_db_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.db"
    Store.open(target).close()
    before = target.read_bytes()
    path = tmp_path / "state.db"
    path.symlink_to(target)
    assert "is a symbolic link" in refused(path)
    assert target.read_bytes() == before


def test_a_dangling_symlink_is_refused_and_nothing_is_created(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    path.symlink_to(tmp_path / "planted.db")
    assert "is a symbolic link" in refused(path)
    assert not (tmp_path / "planted.db").exists()


def test_a_fifo_is_refused_not_read_forever(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    os.mkfifo(path)
    assert "is not a regular file" in refused(path)


def test_a_file_that_is_not_sqlite_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    path.write_text("invoice,total\nINV-1,10\n")
    assert "is not an SQLite database" in refused(path)
    assert path.read_text() == "invoice,total\nINV-1,10\n"


def test_someone_elses_sqlite_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE links (url TEXT)")
    db.commit()
    db.close()
    before = path.read_bytes()
    assert "holds tables that are not invoicesync's" in refused(path)
    assert path.read_bytes() == before


def test_a_database_marked_by_another_application_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    db = sqlite3.connect(path)
    db.execute("PRAGMA application_id = 1234")
    db.execute("PRAGMA user_version = 1")
    db.commit()
    db.close()
    assert "belongs to another application" in refused(path)


def test_an_empty_file_becomes_our_database(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    path.touch()
    store = Store.open(path)
    store.add_link(link("INV-1", "1"))
    assert store.link(REALM, "INV-1") == link("INV-1", "1")
    store.close()


def test_a_database_of_the_previous_version_is_migrated(tmp_path: Path) -> None:
    """State written before claims existed (schema 2, no application id) keeps its links."""
    path = tmp_path / "state.db"
    db = sqlite3.connect(path)
    db.executescript(MIGRATIONS[0] + MIGRATIONS[1] + "PRAGMA user_version = 2;")
    db.execute(
        "INSERT INTO links (realm_id, invoice_number, qbo_id, origin, linked_at) "
        "VALUES (?, 'INV-1', '7', 'pushed', '2026-01-01T00:00:00+00:00')",
        (REALM,),
    )
    db.commit()
    db.close()
    store = Store.open(path)
    [migrated] = store.links(REALM)
    assert (migrated.remote_id, migrated.kind, migrated.fingerprint) == ("7", "invoice", None)
    assert store.claim(REALM, ["INV-2"], "run") == {"INV-2"}
    store.close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    db.close()


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    Store.open(path).close()
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version = 99")
    db.close()
    with pytest.raises(Exception, match="written by a newer invoicesync"):
        Store.open(path)


def test_push_refuses_a_planted_state_db_with_exit_8(us: World, tmp_path: Path) -> None:
    planted = tmp_path / "attacker.db"
    us.home.mkdir(parents=True, exist_ok=True)
    (us.home / "state.db").symlink_to(planted)
    invoices = dict(us.sandbox.companies[US].entities["Invoice"])
    result = us.run("push", "--all")
    assert result.exit_code == 8, result.stdout + result.stderr
    assert "state.db is a symbolic link" in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr
    assert not planted.exists()
    assert us.sandbox.companies[US].entities["Invoice"] == invoices  # nothing was sent
