"""B2BRouter as a target: the registry's entry for `target = "b2brouter"`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from invoicesync.sources.base import SourceRules
from invoicesync.targets.target import LocalConnection, Pick

if TYPE_CHECKING:
    from pathlib import Path

    from invoicesync.config import Settings
    from invoicesync.ledger import capabilities as cap
    from invoicesync.ledger import tracking
    from invoicesync.ledger.base import Ledger
    from invoicesync.targets.b2brouter.commands import B2BRouterCommands
    from invoicesync.targets.b2brouter.ledger import B2BRouterLedger
    from invoicesync.usecases.session import Session

    def _conforms(
        ledger: B2BRouterLedger,
    ) -> tuple[
        Ledger,
        cap.CountsRequests,
        cap.FollowsUp,
        cap.Prerequisites,
        tracking.TracksRegistrations,
        tracking.ChecksDelivery,
    ]:
        """Never called: mypy checks here that the adapter implements the seam's core and each
        capability it offers, so a member renamed on one side is a type error, not a refusal
        at run time (the use cases test capabilities with isinstance)."""
        return (ledger, ledger, ledger, ledger, ledger, ledger)


class B2BRouter:
    key = "b2brouter"
    name = "B2BRouter"
    config_keys = frozenset({"b2brouter_account", "b2brouter_url"})
    secret_keys = frozenset({"b2brouter_api_key", "api_key"})
    # No length limit on an invoice number is documented (docs/b2brouter.md): a number it
    # will not keep is refused by B2BRouter at create, per invoice, before anything is linked.
    source_rules = SourceRules(target=name)

    def load_settings(
        self,
        pick: Pick,
        env: Mapping[str, str],
        data: Mapping[str, Any],
        path: Path,
        *,
        environment: str | None = None,
    ) -> object:
        from invoicesync.targets.b2brouter import settings

        return settings.load(pick, env, data, path, environment=environment)

    def open_session(self, settings: Settings, **kw: Any) -> Session:
        from invoicesync.targets.b2brouter.session import open_b2b_session

        return open_b2b_session(settings, transport=kw.get("transport"))

    def local_account(self, settings: Settings) -> str | None:
        from invoicesync.targets.b2brouter.session import local_account

        return local_account(settings)

    def local_connection(self, settings: Settings) -> LocalConnection:
        """Connected when both the account id and its API key are at hand (a key store that
        cannot be read counts as no key: `profiles` works offline and never fails on it)."""
        from invoicesync.credentials import StoreUnavailable
        from invoicesync.targets.b2brouter import settings as b2b_settings
        from invoicesync.targets.b2brouter.session import (
            B2BConnection,
            configured_account,
            environment_of,
            key_store,
        )

        b2b = B2BConnection.load(settings.app_dir)
        account = configured_account(settings, b2b)
        key = b2b_settings.of(settings).api_key
        if key is None and account:
            try:
                key = key_store(settings, account).get("api_key")
            except StoreUnavailable:
                key = None
        return LocalConnection(
            connected=bool(account and key),
            account=account,
            company=b2b.account_name if b2b else None,
            environment=environment_of(key) if key else None,
        )

    def commands(self) -> B2BRouterCommands:
        from invoicesync.targets.b2brouter.commands import B2BRouterCommands

        return B2BRouterCommands()


TARGET = B2BRouter()
