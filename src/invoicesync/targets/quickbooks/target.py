"""QuickBooks Online as a target: the registry's entry for `target = "quickbooks"`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from invoicesync.sources.base import SourceRules
from invoicesync.targets.target import LocalConnection

if TYPE_CHECKING:
    from invoicesync.config import Settings
    from invoicesync.targets.quickbooks.commands import QuickBooksCommands
    from invoicesync.usecases.session import Session


class QuickBooks:
    key = "quickbooks"
    name = "QuickBooks"
    # DocNumber holds at most 21 characters (Transaction.DocNumber in Finance.xsd,
    # https://github.com/intuit/QuickBooks-V3-Java-SDK); a longer number would be cut or refused.
    source_rules = SourceRules(target=name, number_max=21)

    def open_session(self, settings: Settings, **kw: Any) -> Session:
        from invoicesync.targets.quickbooks.session import open_session

        return open_session(settings, **kw)

    def local_account(self, settings: Settings) -> str | None:
        from invoicesync.targets.quickbooks.session import local_realm

        return local_realm(settings)

    def local_connection(self, settings: Settings) -> LocalConnection:
        from invoicesync.targets.quickbooks.auth import Connection

        conn = Connection.load(settings.app_dir)
        return LocalConnection(
            connected=conn is not None,
            account=settings.realm_id or (conn.realm_id if conn else None),
            company=conn.company_name if conn else None,
            environment=conn.environment if conn else settings.environment,
        )

    def commands(self) -> QuickBooksCommands:
        from invoicesync.targets.quickbooks.commands import QuickBooksCommands

        return QuickBooksCommands()


TARGET = QuickBooks()
