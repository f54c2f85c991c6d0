"""B2BRouter after the push (a mixin of `B2BRouterLedger`): delivery and payment state, send.

B2BRouter delivers through the contact's own channel (Peppol, a public administration, the
e-mail set in B2BRouter) and reports a payment only as the `paid` state, with no payment
records, so `payments` shows paid invoices without payment rows, `send --to` is refused, and
documents and attachments are not offered for this target (each says so, per invoice).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from invoicesync.b2brouter import B2BRouterClient
from invoicesync.b2brouter import errors as berr
from invoicesync.errors import EXIT_CONFLICT, EXIT_USAGE, UsageError
from invoicesync.ledger.b2b_rows import B2BInvoice, invoice_id
from invoicesync.ledger.base import Attachment, Gone, Payment, Refusal, Upload
from invoicesync.models import DocKind, DocRef

NOT_SENT = frozenset({"new", "error"})
UNSUPPORTED = "B2BRouter profiles do not take attachments in invoicesync"


@dataclass(frozen=True)
class B2BBilling:
    """An invoice's delivery state as `Billing`: sent once B2BRouter queued or delivered it."""

    invoice: B2BInvoice

    @property
    def id(self) -> str:
        return self.invoice.id

    @property
    def sent(self) -> bool:
        return self.invoice.status not in NOT_SENT

    @property
    def delivered_at(self) -> str | None:
        return None

    @property
    def bill_email(self) -> str | None:
        return None

    @property
    def payment_ids(self) -> tuple[str, ...]:
        return ()

    @property
    def updated_at(self) -> str | None:
        return None


class B2BRouterFollowUps:
    """What `B2BRouterLedger` offers after the push; it provides `client` and `read_many`."""

    client: B2BRouterClient
    read_many: Callable[[DocKind, Sequence[str]], Mapping[str, B2BInvoice]]

    def billing(self, kind: DocKind, remote_ids: Sequence[str]) -> dict[str, B2BBilling]:
        return {k: B2BBilling(v) for k, v in self.read_many(kind, remote_ids).items()}

    def payments(self, payment_ids: Sequence[str]) -> dict[str, Payment]:
        return {}  # B2BRouter reports the paid state and its date, never payment records

    def send(self, ref: DocRef, to: str | None, request_id: str) -> B2BBilling | Refusal:
        """Queue delivery (`send_invoice`); possible in states new and error only."""
        if to is not None:
            return Refusal(
                "B2BRouter delivers through the contact's own channel; change it in B2BRouter "
                "instead of --to",
                exit_code=EXIT_USAGE,
            )
        number = invoice_id(ref)
        if number is None:
            raise Gone(ref)
        try:
            return B2BBilling(B2BInvoice(self.client.send_invoice(number)))
        except berr.NotFoundError:
            raise Gone(ref) from None
        except berr.ConflictError as exc:
            return Refusal(str(exc), exit_code=EXIT_CONFLICT, code=exc.code)

    def pdf(self, ref: DocRef) -> bytes:
        raise UsageError("B2BRouter profiles have no PDF in invoicesync; open it in B2BRouter")

    def attachment_problem(self, file_name: str, size: int) -> str | None:
        return UNSUPPORTED

    def attachments(self, ref: DocRef) -> list[Attachment]:
        return []

    def attach(self, ref: DocRef, upload: Upload, request_id: str) -> Attachment | Refusal:
        return Refusal(UNSUPPORTED, exit_code=EXIT_USAGE)
