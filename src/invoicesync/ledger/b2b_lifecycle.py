"""B2BRouter's answer to the lifecycle operations (issue 17): an e-invoice that went out over
the network is not edited, voided or credited in place; it is corrected with a credit note
issued in the source and pushed as its own document. Each operation is refused with that
reason, per invoice, so a mixed batch goes on."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from invoicesync.errors import EXIT_PARTIAL, Refused
from invoicesync.ledger.base import Draft, Edit, Outcome, Refusal, RemoteInvoice
from invoicesync.models import DocRef

NOT_IN_PLACE = (
    "B2BRouter does not change an e-invoice in place: issue a credit note in the source "
    "(and a new invoice if needed) and push it"
)


class B2BRouterLifecycle:
    """Mixed into `B2BRouterLedger`."""

    def edit(self, draft: Draft, ref: DocRef) -> Edit:
        raise Refused(f"{draft.number}: {NOT_IN_PLACE}", EXIT_PARTIAL)

    def edits(self, wanted: Sequence[tuple[Draft, DocRef]]) -> dict[str, Edit]:
        return {draft.number: self.edit(draft, ref) for draft, ref in wanted}

    def update(self, edits: Sequence[tuple[Edit, str]]) -> Sequence[Outcome]:
        return [Refusal(NOT_IN_PLACE) for _ in edits]

    def void(self, remote: RemoteInvoice, reason: str, request_id: str) -> RemoteInvoice | Refusal:
        return Refusal(NOT_IN_PLACE)

    def apply_credit(
        self, invoice: RemoteInvoice, credit: RemoteInvoice, amount: Decimal, request_id: str
    ) -> str | Refusal:
        return Refusal(NOT_IN_PLACE)
