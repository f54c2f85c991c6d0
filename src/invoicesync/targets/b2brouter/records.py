"""B2BRouter invoices as the use cases see them (`RemoteInvoice`), and its delivery states.

Our marker lives in `file_reference`, which B2BRouter offers for "your own internal
reference ... to make reconciliation easier"; it is written exactly as in a QuickBooks note
(`qbo.marker`), so one number always has one marker whatever the target.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from invoicesync.errors import EXIT_PARTIAL, Refused
from invoicesync.ledger.tracking import Registration
from invoicesync.marker import marker_of, origin_of
from invoicesync.models import DocKind, DocRef
from invoicesync.targets.b2brouter.api import Invoice

# Delivery states after which B2BRouter counts the invoice as settled.
SETTLED = frozenset({"paid", "closed"})


@dataclass(frozen=True)
class B2BInvoice:
    """A B2BRouter invoice behind the `RemoteInvoice` protocol. `status` is the delivery
    state (new, issued, sending, sent, error, refused, accepted, registered, allegedly_paid,
    paid, closed); B2BRouter has no void and no edit counter, so `voided` is False and
    `version` None. `registrations` are filled only where they were read (reconcile)."""

    invoice: Invoice
    registrations: tuple[Registration, ...] = ()

    @property
    def delivery_reason(self) -> str | None:
        """B2BRouter's reason for the state (an `error`, a `refused`)."""
        return self.invoice.state_reason

    @property
    def payments(self) -> tuple[str, ...]:
        """B2BRouter reports a paid state, not the payments behind it."""
        return ()

    @property
    def id(self) -> str:
        return str(self.invoice.id)

    @property
    def ref(self) -> DocRef:
        """A credit note is an invoice B2BRouter flags `is_credit_note`: a credit memo here."""
        kind = DocKind.CREDIT_MEMO if self.invoice.is_credit_note else DocKind.INVOICE
        return DocRef(kind, self.id)

    @property
    def doc_number(self) -> str | None:
        return self.invoice.number or None

    @property
    def customer_id(self) -> str | None:
        cid = self.invoice.contact_id
        return None if cid is None else str(cid)

    @property
    def customer_name(self) -> str | None:
        return self.invoice.contact_name

    @property
    def total(self) -> Decimal | None:
        """A credit note's total as the source writes it, positive (B2BRouter's is negative:
        its lines have negative quantities)."""
        total = self.invoice.total
        return -total if self.invoice.is_credit_note else total

    @property
    def balance(self) -> Decimal | None:
        """B2BRouter reports payment as a state with no amount: settled means paid in full."""
        return Decimal("0.00") if self.invoice.state in SETTLED else self.total

    @property
    def currency(self) -> str | None:
        return self.invoice.currency

    @property
    def version(self) -> str | None:
        return None

    @property
    def txn_date(self) -> str | None:
        return self.invoice.date.isoformat() if self.invoice.date else None

    @property
    def private_note(self) -> str | None:
        return self.invoice.file_reference

    @property
    def marker(self) -> str | None:
        return marker_of(self.invoice.file_reference)

    @property
    def origin(self) -> str | None:
        """Never written (B2BRouter refuses a second number, so there are no copies to judge),
        but read like a QuickBooks note."""
        return origin_of(self.invoice.file_reference)

    @property
    def voided(self) -> bool:
        return False

    @property
    def status(self) -> str:
        return self.invoice.state or "new"


def invoice_id(ref: DocRef) -> int | None:
    """The B2BRouter invoice id `ref` names (None: not a B2BRouter id). B2BRouter holds
    invoices and credit notes (invoices flagged so); a reference of unknown kind is refused."""
    if ref.kind not in (DocKind.INVOICE, DocKind.CREDIT_MEMO):
        raise Refused(
            f"B2BRouter holds invoices and credit notes, not a {ref.kind.label} ({ref})",
            EXIT_PARTIAL,
        )
    return int(ref.remote_id) if ref.remote_id.isdigit() else None
