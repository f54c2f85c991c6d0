"""QuickBooks as a ledger, before the push: the customers, services and terms `prepare` creates.

A component of `QuickBooksLedger` (like `followup`), kept apart so the push half stays small.
What a batch lacks and each payload are decided in `prepare`; this sends and settles them.
"""

from __future__ import annotations

from collections.abc import Sequence

from invoicesync.aliases import Aliases
from invoicesync.ledger.base import Prerequisite, Refusal, Uncertain
from invoicesync.models import LocalInvoice
from invoicesync.targets.quickbooks import errors as qb
from invoicesync.targets.quickbooks import preflight
from invoicesync.targets.quickbooks import prepare as qbo_prepare
from invoicesync.targets.quickbooks.api import QBOClient
from invoicesync.targets.quickbooks.api import errors as qerr


class QuickBooksPrerequisites:
    """Names a company must have before its invoices can be pushed: a component the ledger
    holds and delegates `CreatesPrerequisites` to."""

    def __init__(self, client: QBOClient, aliases: Aliases, income_account: str | None) -> None:
        self.client = client
        self.aliases = aliases
        self.income_account = income_account  # settings: [prepare] income_account

    def prerequisites(
        self, invoices: Sequence[LocalInvoice], kinds: Sequence[str]
    ) -> list[Prerequisite]:
        with qb.translating("looking for what the invoices need"):
            catalog = preflight.load_catalog(self.client, invoices, self.aliases)
            planner = qbo_prepare.Planner(self.client, catalog, self.income_account)
            return planner.plan(qbo_prepare.wants(invoices, catalog, kinds))

    def create_prerequisite(self, need: Prerequisite, request_id: str) -> str | Refusal:
        """Create a customer, service or term (`Uncertain`: outcome unknown). A duplicate name
        (6240) after an earlier uncertain attempt is that attempt's record: it is returned."""
        assert need.payload is not None
        try:
            row = self.client.create(
                qbo_prepare.ENTITIES[need.kind], need.payload, requestid=request_id
            )
        except (qerr.QBOConnectionError, qerr.ServerError) as exc:
            raise Uncertain(str(exc)) from None
        except qerr.ValidationError as exc:
            found = self.find_prerequisite(need) if exc.code == "6240" else None
            return found or qb.refusal(exc)
        except qerr.QBOError as exc:
            raise qb.translate(exc, f"creating {need.kind} {need.name!r}") from None
        return str(row["Id"])

    def find_prerequisite(self, need: Prerequisite) -> str | None:
        with qb.translating(f"looking for {need.kind} {need.name!r}"):
            return qbo_prepare.find(self.client, need)
