"""QuickBooks Online as a target: the registry's entry for `target = "quickbooks"`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from invoicesync.sources.base import SourceRules
from invoicesync.targets.target import LocalConnection, Pick

if TYPE_CHECKING:
    from pathlib import Path

    from invoicesync.config import Settings
    from invoicesync.ledger import capabilities as cap
    from invoicesync.ledger.base import Ledger
    from invoicesync.targets.quickbooks.commands import QuickBooksCommands
    from invoicesync.targets.quickbooks.ledger import QuickBooksLedger
    from invoicesync.usecases.session import Session

    def _conforms(
        ledger: QuickBooksLedger,
    ) -> tuple[
        Ledger,
        cap.CountsRequests,
        cap.Throughput,
        cap.Edits,
        cap.Voids,
        cap.AppliesCredit,
        cap.FollowsUp,
        cap.ReadsPayments,
        cap.Attaches,
        cap.CreatesPrerequisites,
        cap.Copies,
    ]:
        """Never called: mypy checks here that the adapter implements the seam's core and each
        capability it offers, so a member renamed on one side is a type error, not a refusal
        at run time (the use cases test capabilities with isinstance)."""
        return (
            ledger,
            ledger,
            ledger,
            ledger,
            ledger,
            ledger,
            ledger,
            ledger,
            ledger,
            ledger,
            ledger,
        )


class QuickBooks:
    key = "quickbooks"
    name = "QuickBooks"
    config_keys = frozenset(
        {
            "environment",
            "realm_id",
            "client_id",
            "api_url",
            "auth_url",
            "token_url",
            "revoke_url",
            "connect",
            "prepare",
        }
    )
    secret_keys = frozenset({"client_secret", "refresh_token", "access_token"})
    # DocNumber holds at most 21 characters (Transaction.DocNumber in Finance.xsd,
    # https://github.com/intuit/QuickBooks-V3-Java-SDK); a longer number would be cut or refused.
    source_rules = SourceRules(target=name, number_max=21)

    def load_settings(
        self,
        pick: Pick,
        env: Mapping[str, str],
        data: Mapping[str, Any],
        path: Path,
        *,
        environment: str | None = None,
    ) -> object:
        from invoicesync.targets.quickbooks import settings

        return settings.load(pick, env, data, path, environment=environment)

    def open_session(self, settings: Settings, **kw: Any) -> Session:
        from invoicesync.targets.quickbooks.session import open_session

        return open_session(settings, **kw)

    def local_account(self, settings: Settings) -> str | None:
        from invoicesync.targets.quickbooks.session import local_realm

        return local_realm(settings)

    def local_connection(self, settings: Settings) -> LocalConnection:
        from invoicesync.targets.quickbooks import settings as qbo
        from invoicesync.targets.quickbooks.auth import Connection

        conn = Connection.load(settings.app_dir)
        section = qbo.of(settings)
        return LocalConnection(
            connected=conn is not None,
            account=section.realm_id or (conn.realm_id if conn else None),
            company=conn.company_name if conn else None,
            environment=conn.environment if conn else section.environment,
        )

    def commands(self) -> QuickBooksCommands:
        from invoicesync.targets.quickbooks.commands import QuickBooksCommands

        return QuickBooksCommands()


TARGET = QuickBooks()
