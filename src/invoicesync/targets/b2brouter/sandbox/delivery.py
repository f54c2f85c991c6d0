"""What happens to an invoice after it is queued, as B2BRouter documents it: delivery that can
fail with a reason, the legal documents generated asynchronously, and the tax-authority
submissions (VeriFactu, TicketBAI) that move through their states.

Sources: the official PHP SDK's docs (B2Brouter/b2brouter-php): docs/TAX_REPORTS.md (states
processing → registered | registered_with_errors | error | annulled; `errors`, `warnings`;
`tax_report_ids` on the invoice after sending), InvoiceService::downloadAs (document types
pdf.invoice, xml.ubl.invoice.bis3, xml.facturae.3.2.2), InvoiceService::validate (`valid`,
`errors`). Rules the documentation does not state are marked UNVERIFIED here and listed in
docs/b2brouter.md.

Nothing moves on its own: the admin hook `POST /_sandbox/deliver` is the network acting
(tests and the demo decide when), and a PDF is answered 404 for the account's `pdf_delay`
requests before it exists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape

from invoicesync.targets.b2brouter.sandbox.model import Contact, Invoice, not_found

DOCUMENT_TYPES = ("pdf.invoice", "xml.ubl.invoice.bis3", "xml.facturae.3.2.2", "original")
# UNVERIFIED: the contact field naming its delivery channel. Without one, delivery fails.
TRANSPORT_FIELD = "transport_type_code"
NO_TRANSPORT = (
    "the contact has no transport: choose how it receives invoices (Peppol, e-mail, a public "
    "administration) in B2BRouter → Contacts, then send again"
)


@dataclass
class TaxReport:
    id: int
    account_id: int
    invoice_id: int
    kind: str  # Verifactu, TicketBai
    invoice_number: str
    state: str = "processing"
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.kind,
            "state": self.state,
            "label": f"{self.kind} {self.invoice_number}",
            "invoice_id": self.invoice_id,
            "invoice_number": self.invoice_number,
            "errors": list(self.errors),
            "warnings": list(self.warnings),
        }


@dataclass
class Delivery:
    """The per-invoice facts the service keeps after the push, beside `Invoice`."""

    state_reason: str | None = None
    tax_report_ids: list[int] = field(default_factory=list)
    pdf_wait: int = 0  # 404 answers left before the PDF exists


class Deliveries:
    def __init__(self) -> None:
        self.of: dict[int, Delivery] = {}
        self.reports: dict[int, TaxReport] = {}
        self.fail_reports: list[str] = []  # reasons for the next reports that will fail
        self._next_report = 9001

    def created(self, invoice: Invoice, pdf_delay: int) -> None:
        self.of[invoice.id] = Delivery(pdf_wait=pdf_delay)

    def facts(self, invoice: Invoice) -> Delivery:
        return self.of.setdefault(invoice.id, Delivery())

    def extra_json(self, invoice: Invoice) -> dict[str, Any]:
        facts = self.facts(invoice)
        return {"state_reason": facts.state_reason, "tax_report_ids": list(facts.tax_report_ids)}

    def queued(self, invoice: Invoice, tax_report: str | None) -> None:
        """Sending opens a tax report where the account reports (TAX_REPORTS.md: "When you
        create and send an invoice, the response includes tax_report_ids")."""
        facts = self.facts(invoice)
        facts.state_reason = None
        if tax_report and not facts.tax_report_ids:
            report = TaxReport(
                self._next_report, invoice.account_id, invoice.id, tax_report, invoice.number
            )
            self._next_report += 1
            self.reports[report.id] = report
            facts.tax_report_ids.append(report.id)

    def deliver(self, invoice: Invoice, contact: Contact) -> tuple[str, str | None]:
        """The state a queued invoice reaches, and why when it failed."""
        if not contact.fields.get(TRANSPORT_FIELD):
            self.facts(invoice).state_reason = NO_TRANSPORT
            return "error", NO_TRANSPORT
        return "sent", None

    def settle_reports(self) -> list[int]:
        """Every processing report reaches a final state: registered, or error with the
        reason queued by `POST /_sandbox/tax_reports/fail_next`."""
        settled = []
        for report in self.reports.values():
            if report.state != "processing":
                continue
            if self.fail_reports:
                report.state, report.errors = "error", [self.fail_reports.pop(0)]
            else:
                report.state = "registered"
            settled.append(report.id)
        return settled

    def report_for(self, account_ids: set[int], report_id: str) -> TaxReport:
        report = self.reports.get(int(report_id)) if report_id.isdigit() else None
        if report is None or report.account_id not in account_ids:
            raise not_found("tax report")
        return report

    def document(self, invoice: Invoice, contact: Contact, kind: str) -> tuple[bytes, str]:
        """The document bytes and their content type; 404 while the PDF is generated."""
        if kind not in DOCUMENT_TYPES:
            raise not_found(f"document type {kind}")
        facts = self.facts(invoice)
        if kind == "pdf.invoice":
            if facts.pdf_wait > 0:
                facts.pdf_wait -= 1
                raise not_found("document")  # generated asynchronously: ask again
            body = f"%PDF-1.4\n% sandbox invoice {invoice.number} for {contact.fields['name']}\n"
            return body.encode(), "application/pdf"
        root = {"xml.facturae.3.2.2": "fe:Facturae"}.get(kind, "Invoice")
        xml = (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<{root}><ID>{escape(invoice.number)}</ID>'
            f"<Buyer>{escape(str(contact.fields['name']))}</Buyer></{root}>\n"
        )
        return xml.encode(), "application/xml"

    def validation(self, contact: Contact) -> dict[str, Any]:
        """UNVERIFIED: that validation names a contact without a delivery channel."""
        errors = [] if contact.fields.get(TRANSPORT_FIELD) else [NO_TRANSPORT]
        return {"valid": not errors, "errors": errors}
