"""Local or shared state: links, the push journal, generations, events, claims, the run lock.

`StateStore` (in `contract`) is the one contract; `SQLiteStore` (the default, `state.db` in the
app dir) and `PostgresStore` (`state_url = "postgresql://…"`) implement it. `open_store` picks
one from the settings. `Store` stays the SQLite store's name for code written before there
were two; psycopg is imported only when PostgreSQL is configured, to keep start-up fast.
"""

from __future__ import annotations

import os

from invoicesync.config import Settings
from invoicesync.files import private_dir
from invoicesync.store.contract import (
    DEFAULT_CLAIM_TTL,
    DEFAULT_GROUP_SIZE,
    Claim,
    JournalEntry,
    LinkExists,
    StateStore,
    now_iso,
)
from invoicesync.store.lifecycle import LifecycleEntry
from invoicesync.store.prepared import PrepareEntry
from invoicesync.store.sql import SqlStore
from invoicesync.store.sqlite import MIGRATIONS, SQLiteStore, state_lock

Store = SQLiteStore

__all__ = [
    "DEFAULT_CLAIM_TTL",
    "DEFAULT_GROUP_SIZE",
    "MIGRATIONS",
    "Claim",
    "JournalEntry",
    "LifecycleEntry",
    "LinkExists",
    "PrepareEntry",
    "SQLiteStore",
    "StateStore",
    "Store",
    "existing_store",
    "now_iso",
    "open_store",
    "state_lock",
]


def open_store(settings: Settings) -> StateStore:
    """The configured state, created and migrated if needed."""
    if settings.state_url:
        from invoicesync.store.postgres import PostgresStore

        store: SqlStore | None = PostgresStore.open(
            settings.state_url, timeout=settings.state_timeout
        )
        assert store is not None  # create=True always returns a store
    else:
        private_dir(settings.app_dir, root=settings.app_root)
        store = SQLiteStore.open(settings.state_db)
    store.keep_days = settings.history_keep_days
    return store


def existing_store(settings: Settings) -> StateStore | None:
    """The configured state if it exists already; None otherwise (dry runs create nothing)."""
    if settings.state_url:
        from invoicesync.store.postgres import PostgresStore

        return PostgresStore.open(settings.state_url, create=False, timeout=settings.state_timeout)
    private_dir(settings.app_dir, root=settings.app_root, create=False)
    if not os.path.lexists(settings.state_db):
        return None
    return SQLiteStore.open(settings.state_db)
