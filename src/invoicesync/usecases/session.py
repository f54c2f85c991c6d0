"""A connected session: the target (a ledger), the token manager, and the local state.

Opened once per command. The state lock is taken here too (`locked`), so the use cases, not
the CLI, decide which commands write state and therefore hold it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, Protocol

from invoicesync import targets
from invoicesync.config import Settings
from invoicesync.ledger.base import Ledger
from invoicesync.store import StateStore, existing_store, open_store, state_lock


class Progress(Protocol):
    """Where a long use case reports progress (the CLI draws it on a terminal)."""

    def start(self, total: int, description: str) -> None: ...
    def advance(self, n: int = 1) -> None: ...


class NoProgress:
    def start(self, total: int, description: str) -> None:
        return None

    def advance(self, n: int = 1) -> None:
        return None


class Session:
    """A connected target (its ledger) plus local state: what every use case works with.
    `account` names the company or account in local state (a QuickBooks realm id, or
    `b2brouter:<account>`)."""

    def __init__(self, settings: Settings, ledger: Ledger, account: str) -> None:
        self.settings = settings
        self.ledger = ledger
        self.account = account
        self._store: StateStore | None = None

    @property
    def store(self) -> StateStore:
        """The configured state (SQLite in the app dir, or PostgreSQL with `state_url`)."""
        if self._store is None:
            self._store = open_store(self.settings)
        return self._store

    def existing_store(self) -> StateStore | None:
        """The store if it exists already (dry runs and reads must not create one)."""
        if self._store is None:
            self._store = existing_store(self.settings)
        return self._store

    def locked(self, wait: float | None) -> contextlib.AbstractContextManager[None]:
        """The state lock for a command that writes links (exit 9, or wait `wait` seconds):
        the app dir's file lock, or with a shared PostgreSQL state its advisory lock."""
        if self.settings.state_url:
            return self.store.run_lock(wait=wait)
        return state_lock(self.settings.app_dir, wait=wait, root=self.settings.app_root)

    @property
    def warnings(self) -> list[str]:
        return []

    def close(self) -> None:
        if self._store is not None:
            self._store.close()


@contextlib.contextmanager
def session(settings: Settings, **kw: Any) -> Iterator[Session]:
    """The session of the configured target (the profile's `target`, from the registry)."""
    opened = targets.of(settings).open_session(settings, **kw)
    try:
        yield opened
    finally:
        opened.close()


def local_realm(settings: Settings) -> str | None:
    """The key of the configured company or account in local state, read without a network
    call; None when not connected."""
    return targets.of(settings).local_account(settings)
