"""The fake target as the registry sees it: `target = "fake"` → this module's `TARGET`. The
fixture in conftest.py adds the one registry line; nothing else in the package changes."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from invoicesync.config import Settings
from invoicesync.errors import UsageError
from invoicesync.sources.base import SourceRules
from invoicesync.targets.target import Commands, LocalConnection, Pick
from invoicesync.usecases.session import Session
from tests.fake_target.ledger import NAME, Books, FakeLedger


class Fake:
    key = "fake"
    name = NAME
    source_rules = SourceRules(target=NAME)
    config_keys: frozenset[str] = frozenset()  # its books live in memory: nothing to configure
    secret_keys: frozenset[str] = frozenset()

    def __init__(self) -> None:
        self.books = Books()  # the fixture gives each test fresh books

    def load_settings(
        self,
        pick: Pick,
        env: Mapping[str, str],
        data: Mapping[str, Any],
        path: Path,
        *,
        environment: str | None = None,
    ) -> object:
        """No settings of its own: its books live in memory."""
        return None

    def open_session(self, settings: Settings, **kw: Any) -> Session:
        ledger = FakeLedger(self.books)
        return Session(settings, ledger, ledger.account_id)

    def local_account(self, settings: Settings) -> str | None:
        return FakeLedger.account_id

    def local_connection(self, settings: Settings) -> LocalConnection:
        return LocalConnection(True, FakeLedger.account_id, "Fake Books Ltd", None)

    def commands(self) -> Commands:
        raise UsageError(f"{NAME} is always connected: it has no connection commands")


TARGET = Fake()
