"""B2BRouter's answer to the lifecycle operations: an e-invoice that went out over
the network is not edited, voided or credited in place; it is corrected with a credit note
issued in the source (`type: credit_note`, `credit_for` the invoice) and pushed as its own
document, which B2BRouter takes with `invoice_references` naming the invoice (docs/b2brouter.md).
Each operation is refused with that reason, per invoice, so a mixed batch goes on."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from invoicesync.errors import EXIT_PARTIAL, Refused
from invoicesync.ledger.base import Draft, Edit, Outcome, Refusal, RemoteInvoice
from invoicesync.models import DocRef


def not_in_place(number: str | None) -> str:
    """The refusal, with the credit note that does what was asked."""
    credited = f'"credit_for": "{number}"' if number else '"credit_for" naming the invoice'
    return (
        "B2BRouter does not change an e-invoice in place: issue a credit note in the source "
        f'("type": "credit_note", {credited}; and a new invoice if needed) and push it; it goes '
        "to B2BRouter referencing the invoice it credits"
    )


# A credit note's credit is not applied afterwards on B2BRouter: the document names the invoice.
NOTHING_TO_APPLY = (
    "a B2BRouter credit note names the invoice it credits in the document itself "
    "(invoice_references); there is no credit to apply"
)


class B2BRouterLifecycle:
    """Mixed into `B2BRouterLedger`."""

    def edit(self, draft: Draft, ref: DocRef) -> Edit:
        raise Refused(f"{draft.number}: {not_in_place(draft.number)}", EXIT_PARTIAL)

    def edits(self, wanted: Sequence[tuple[Draft, DocRef]]) -> dict[str, Edit]:
        return {draft.number: self.edit(draft, ref) for draft, ref in wanted}

    def update(self, edits: Sequence[tuple[Edit, str]]) -> Sequence[Outcome]:
        return [Refusal(not_in_place(edit.remote.doc_number)) for edit, _ in edits]

    def void(self, remote: RemoteInvoice, reason: str, request_id: str) -> RemoteInvoice | Refusal:
        return Refusal(not_in_place(remote.doc_number))

    def apply_credit(
        self, invoice: RemoteInvoice, credit: RemoteInvoice, amount: Decimal, request_id: str
    ) -> str | Refusal:
        return Refusal(NOTHING_TO_APPLY)  # never asked: `credits_by_reference`
