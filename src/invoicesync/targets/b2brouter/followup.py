"""B2BRouter after the push (a component of `B2BRouterLedger`): delivery and payment state,
send, the legal documents.

B2BRouter delivers through the contact's own channel (Peppol, a public administration, the
e-mail set in B2BRouter) and reports a payment only as the `paid` state, with no payment
records, so `payments` shows paid invoices without payment rows (the ledger reads no payment
records), `send --to` is refused, and the ledger takes no attachments. Before queueing a
delivery, B2BRouter's own validation is asked, so an invoice that cannot be delivered (a
contact without a transport) is reported now rather than found later in state `error`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from invoicesync.errors import EXIT_CONFLICT, EXIT_PREREQUISITE, EXIT_USAGE, Refused
from invoicesync.ledger.base import (
    Company,
    DocumentPending,
    Gone,
    Refusal,
    RemoteInvoice,
    RemoteRecord,
)
from invoicesync.ledger.tracking import Registration
from invoicesync.models import DocKind, DocRef
from invoicesync.targets.b2brouter.api import B2BRouterClient
from invoicesync.targets.b2brouter.api import errors as berr
from invoicesync.targets.b2brouter.api.models import Contact
from invoicesync.targets.b2brouter.errors import translate, translating
from invoicesync.targets.b2brouter.records import B2BInvoice, invoice_id
from invoicesync.targets.b2brouter.setup import SettingCheck, calculation_check

NOT_SENT = frozenset({"new", "error"})
# `pdf --format` → B2BRouter's document type (PHP SDK InvoiceService::downloadAs).
DOCUMENT_TYPES = {
    "pdf": "pdf.invoice",
    "ubl": "xml.ubl.invoice.bis3",
    "facturae": "xml.facturae.3.2.2",
    "original": "original",
}


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
    """What `B2BRouterLedger` offers after the push, reading through the ledger's `read_many`."""

    def __init__(
        self,
        client: B2BRouterClient,
        read_many: Callable[[DocKind, Sequence[str]], Mapping[str, B2BInvoice]],
    ) -> None:
        self.client = client
        self.read_many = read_many

    def billing(self, kind: DocKind, remote_ids: Sequence[str]) -> dict[str, B2BBilling]:
        return {k: B2BBilling(v) for k, v in self.read_many(kind, remote_ids).items()}

    def setup(self) -> tuple[Company, list[SettingCheck]]:
        """The account and its calculation settings against the source's (connect, status)."""
        with translating("reading the account"):
            account = self.client.get_account()
        return Company(account.name, account.country), calculation_check(account)

    def with_registrations(
        self,
        rows: Mapping[str, RemoteInvoice],
        known: Mapping[str, Sequence[Registration]] | None = None,
    ) -> dict[str, RemoteInvoice]:
        """Each invoice with its VeriFactu/TicketBAI reports (`tax_report_ids`, one read
        each; an account that does not report has none, and costs nothing). Reports already
        seen in a final state (`known`, the same ids) are not read again: a final report does
        not change (https://github.com/B2Brouter/b2brouter-php/blob/main/docs/TAX_REPORTS.md),
        and a new submission has a new id, so it is read."""
        out: dict[str, RemoteInvoice] = {}
        for key, row in rows.items():
            if not isinstance(row, B2BInvoice) or not row.invoice.tax_report_ids:
                out[key] = row
                continue
            seen = tuple((known or {}).get(row.id, ()))
            ids = sorted(str(i) for i in row.invoice.tax_report_ids)
            if (
                seen
                and all(r.final for r in seen)
                and sorted(str(r.report_id) for r in seen) == ids
            ):
                out[key] = replace(row, registrations=seen)
                continue
            found = []
            with translating("reading the tax reports"):
                for report_id in row.invoice.tax_report_ids:
                    try:
                        report = self.client.tax_report(report_id)
                    except berr.NotFoundError:
                        gone = f"{report_id} gone"
                        found.append(Registration("tax report", "missing", gone, str(report_id)))
                        continue
                    found.append(
                        Registration(report.kind, report.state, report.reason, str(report_id))
                    )
            out[key] = replace(row, registrations=tuple(found))
        return out

    def undeliverable(self, rows: Mapping[str, RemoteRecord]) -> dict[str, str]:
        """Why each of these invoices cannot be delivered, by id: its contact has no channel
        (`transport_type_code` empty). Each contact is read once per batch; a contact that
        cannot be read is left to B2BRouter's /validate, which `send` still asks."""
        contacts: dict[int, Contact | None] = {}
        out: dict[str, str] = {}
        for key, row in rows.items():
            cid = row.invoice.contact_id if isinstance(row, B2BInvoice) else None
            if cid is None:
                continue
            if cid not in contacts:
                with translating("reading the contact"):
                    try:
                        contacts[cid] = self.client.get_contact(cid)
                    except berr.NotFoundError:
                        contacts[cid] = None
            contact = contacts[cid]
            if contact is not None and contact.no_transport:
                out[key] = (
                    f"its B2BRouter contact '{contact.name}' ({contact.id}) has no delivery "
                    "channel; choose how it receives invoices (Peppol, e-mail, a public "
                    "administration) in B2BRouter → Contacts, then send again"
                )
        return out

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
            verdict = self.client.validate_invoice(number)
            if not verdict.valid:
                said = "; ".join(verdict.errors) or "no reason given"
                return Refusal(
                    f"B2BRouter cannot deliver {ref}: {said}; fix it in B2BRouter, then send again",
                    exit_code=EXIT_PREREQUISITE,
                )
            queued = self.client.send_invoice(number)
            # The answer's shape is undocumented: without an invoice in it, read the invoice.
            return B2BBilling(B2BInvoice(queued or self.client.get_invoice(number)))
        except berr.NotFoundError:
            raise Gone(ref) from None
        except berr.ConflictError as exc:
            return Refusal(str(exc), exit_code=EXIT_CONFLICT, code=exc.code)

    document_formats = tuple(DOCUMENT_TYPES)

    def document(self, ref: DocRef, fmt: str) -> bytes:
        """The invoice as `fmt` (DOCUMENT_TYPES). A 404 is told apart by reading the invoice:
        gone (`Gone`), PDF not generated yet (`DocumentPending`), or a format this invoice
        does not have (refused with the reason)."""
        number = invoice_id(ref)
        if number is None:
            raise Gone(ref)
        try:
            try:
                return self.client.document(number, DOCUMENT_TYPES[fmt])
            except berr.NotFoundError:
                self.client.get_invoice(number)  # NotFoundError: the invoice itself is gone
            if fmt == "pdf":
                raise DocumentPending(ref)
            raise Refused(
                f"B2BRouter has no {fmt} document for {ref} (the account's country or the "
                "contact's channel decides which formats exist); try --format original",
                EXIT_CONFLICT,
            )
        except berr.NotFoundError:
            raise Gone(ref) from None
        except berr.B2BRouterError as exc:
            raise translate(exc, f"downloading the {fmt} document of {ref}") from None
