"""The sandbox's state and the operations on it; the HTTP layer (app.py) only routes to these.

Every operation raises `ApiError` with the documented code. Rules the documentation does not
state are marked UNVERIFIED where they are applied, and listed in docs/b2brouter.md.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

from invoicesync.targets.b2brouter.sandbox import rules
from invoicesync.targets.b2brouter.sandbox.delivery import Deliveries
from invoicesync.targets.b2brouter.sandbox.model import (
    API_VERSIONS,
    EDITABLE_STATES,
    MARK_AS_STATES,
    SENDABLE_STATES,
    STATES,
    Account,
    ApiError,
    ApiKey,
    Contact,
    Invoice,
    account_from_seed,
    is_id,
    not_found,
)

PAGE_DEFAULT = 25
PAGE_MAX = 500  # "limit (max: 500)", PHP SDK InvoiceService::all and ContactService::all
INVOICE_HEADER = ("number", "date", "due_date", "currency", "extra_info", "file_reference")


class Network:
    def __init__(self, now: Callable[[], datetime]) -> None:
        self.now = now
        self.accounts: dict[int, Account] = {}
        self.keys: dict[str, ApiKey] = {}
        self.contacts: dict[int, Contact] = {}
        self.invoices: dict[int, Invoice] = {}
        self.deliveries = Deliveries()
        # Per account: the tax authority it reports to (None: none) and the PDF's delay.
        self.reporting: dict[int, tuple[str | None, int]] = {}
        self._next_contact = 5001
        self._next_invoice = 100001

    # --- seeds ----------------------------------------------------------------------------------

    def add_seed(self, seed: Mapping[str, Any]) -> Account:
        account = account_from_seed(seed)
        if account.id in self.accounts:
            raise ValueError(f"account {account.id} is seeded twice")
        self.accounts[account.id] = account
        acc = seed["account"]
        report = acc.get("tax_report")
        self.reporting[account.id] = (str(report) if report else None, int(acc.get("pdf_delay", 1)))
        for spec in seed.get("api_keys", []):
            key = self.keys.setdefault(
                str(spec["key"]),
                ApiKey(str(spec["key"]), set(), spec.get("api_version"), bool(spec.get("expired"))),
            )
            if key.environment != account.environment:
                raise ValueError(
                    f"a {key.environment} key cannot open a {account.environment} account"
                )
            if key.api_version is not None and key.api_version not in API_VERSIONS:
                raise ValueError(f"unknown api_version {key.api_version!r}")
            if not spec.get("no_group"):
                key.accounts.add(account.id)
        by_tin: dict[str, Contact] = {}
        for spec in seed.get("contacts", []):
            contact = self.create_contact(account, {"contact": dict(spec)})
            by_tin[str(spec.get("tin_value") or spec["name"])] = contact
        for spec in seed.get("invoices", []):
            body = {k: v for k, v in spec.items() if k not in {"contact", "state", "paid_date"}}
            body["contact_id"] = by_tin[str(spec["contact"])].id
            invoice = self.create_invoice(account, {"invoice": body}, API_VERSIONS[-1])
            invoice.state = str(spec.get("state", "new"))
            if spec.get("paid_date"):
                invoice.paid_date = date.fromisoformat(str(spec["paid_date"]))
        return account

    # --- access ---------------------------------------------------------------------------------

    def account_for(self, key: ApiKey, account_id: str) -> Account:
        account = self.accounts.get(int(account_id)) if is_id(account_id) else None
        if account is not None and account.environment != key.environment:
            # Test and production are separate environments: the key is unknown in the
            # account's (docs/b2brouter.md, "Set-up"; error-codes page: invalid_api_key).
            raise ApiError(401, "invalid_api_key", "Invalid API Key provided")
        if account is None or account.id not in key.accounts:
            raise not_found("account")
        return account

    def contact_for(self, key: ApiKey, contact_id: str) -> Contact:
        contact = self.contacts.get(int(contact_id)) if is_id(contact_id) else None
        if contact is None or contact.account_id not in key.accounts:
            raise not_found("contact")
        return contact

    def invoice_for(self, key: ApiKey, invoice_id: str) -> Invoice:
        invoice = self.invoices.get(int(invoice_id)) if is_id(invoice_id) else None
        if invoice is None or invoice.account_id not in key.accounts:
            raise not_found("invoice")
        return invoice

    def invoice_json(self, invoice: Invoice) -> dict[str, Any]:
        account = self.accounts[invoice.account_id]
        doc = invoice.to_json(account.calc, self.contacts[invoice.contact_id])
        return doc | self.deliveries.extra_json(invoice)

    # --- paging ---------------------------------------------------------------------------------

    @staticmethod
    def page(items: list[Any], query: Mapping[str, str]) -> tuple[list[Any], dict[str, int]]:
        """offset/limit paging with a `meta` object (API 2025-10-13 changelog: "All list
        responses now use consistent meta object"; fields total_count, offset, limit)."""
        try:
            offset = int(query.get("offset", "0"))
            limit = int(query.get("limit", str(PAGE_DEFAULT)))
        except ValueError:
            raise rules.bad("offset and limit must be integers") from None
        if offset < 0 or not 1 <= limit <= PAGE_MAX:
            raise rules.bad(f"offset must be >= 0 and limit between 1 and {PAGE_MAX}")
        meta = {"total_count": len(items), "offset": offset, "limit": limit}
        return items[offset : offset + limit], meta

    # --- contacts -------------------------------------------------------------------------------

    def list_contacts(self, account: Account, query: Mapping[str, str]) -> list[Contact]:
        found = [c for c in self.contacts.values() if c.account_id == account.id]
        if query.get("name"):
            found = [c for c in found if c.matches(query["name"])]
        if query.get("integration_code"):
            found = [
                c for c in found if c.fields.get("integration_code") == query["integration_code"]
            ]
        if query.get("is_client") in {"true", "false"}:
            found = [c for c in found if c.is_client == (query["is_client"] == "true")]
        return found

    def create_contact(self, account: Account, body: Mapping[str, Any]) -> Contact:
        raw = rules.wrapped(dict(body), "contact")
        fields = rules.contact_fields(raw, "contact", require_email=True)
        contact = Contact(self._next_contact, account.id, fields)
        self._next_contact += 1
        self.contacts[contact.id] = contact
        return contact

    def update_contact(self, contact: Contact, body: Mapping[str, Any]) -> Contact:
        raw = rules.wrapped(dict(body), "contact")
        merged = {**contact.fields, **raw}
        contact.fields = rules.contact_fields(merged, "contact", require_email=True)
        return contact

    def delete_contact(self, contact: Contact) -> Contact:
        if any(inv.contact_id == contact.id for inv in self.invoices.values()):
            # UNVERIFIED: a contact with invoices cannot be deleted.
            raise ApiError(409, "conflict", "the contact has invoices and cannot be deleted")
        del self.contacts[contact.id]
        return contact

    # --- invoices -------------------------------------------------------------------------------

    def list_invoices(self, account: Account, query: Mapping[str, str]) -> list[Invoice]:
        found = [i for i in self.invoices.values() if i.account_id == account.id]
        if "number" in query:
            found = [i for i in found if i.number == query["number"]]  # UNVERIFIED: exact
        # date_from/date_to filter by the date the invoice was submitted to B2BRouter, not
        # its own date (the listing's reference; docs/b2brouter.md).
        low = rules.iso_date(query.get("date_from"), "date_from")
        high = rules.iso_date(query.get("date_to"), "date_to")
        if low is not None:
            found = [i for i in found if date.fromisoformat(i.created_at[:10]) >= low]
        if high is not None:
            found = [i for i in found if date.fromisoformat(i.created_at[:10]) <= high]
        # State flags are documented as 1/0 (PHP SDK InvoiceService::all); `true` is no flag.
        wanted = {s for s in STATES if query.get(s) == "1"}
        if wanted:
            found = [i for i in found if i.state in wanted]
        return sorted(found, key=lambda i: i.id)

    def _contact_of(self, account: Account, raw: Mapping[str, Any], version: str) -> Contact:
        if raw.get("contact_id") is not None:
            cid = raw["contact_id"]
            contact = self.contacts.get(cid) if isinstance(cid, int) else None
            if contact is None or contact.account_id != account.id:
                raise ApiError(422, "parameter_inclusion", "invoice.contact_id does not exist")
            return contact
        inline = raw.get("contact")
        if not isinstance(inline, dict):
            raise rules.blank("invoice.contact")
        fields = rules.contact_fields(inline, "invoice.contact", require_email=False)
        if version >= "2026-04-20" and not (fields["tin_value"] or fields["cin_value"]):
            # Migration guide v2026-03-02 -> v2026-04-20: "ensure tin_value or cin_value is
            # always included" for an inline contact.
            raise rules.blank("invoice.contact.tin_value")
        for contact in self.contacts.values():
            # UNVERIFIED: an inline contact is matched on country and tax id, else created.
            same_tin = (
                fields["tin_value"] and contact.fields.get("tin_value") == fields["tin_value"]
            )
            if (
                contact.account_id == account.id
                and same_tin
                and (contact.fields.get("country") == fields["country"])
            ):
                return contact
        contact = Contact(self._next_contact, account.id, fields)
        self._next_contact += 1
        self.contacts[contact.id] = contact
        return contact

    def _check_number(self, account: Account, number: str, own_id: int | None) -> None:
        for other in self.invoices.values():
            if other.account_id == account.id and other.number == number and other.id != own_id:
                raise ApiError(422, "parameter_taken", "invoice.number has already been taken")

    def create_invoice(self, account: Account, body: Mapping[str, Any], version: str) -> Invoice:
        raw = rules.wrapped(dict(body), "invoice")
        number = rules.text(raw.get("number"), "invoice.number", required=True) or ""
        invoice_date = rules.iso_date(raw.get("date"), "invoice.date", required=True)
        lines = rules.lines(raw.get("invoice_lines_attributes"), version)
        credit, references = rules.credit_note(raw, version)
        contact = self._contact_of(account, raw, version)
        self._check_number(account, number, None)
        stamp = self.now().isoformat()
        invoice = Invoice(
            id=self._next_invoice,
            account_id=account.id,
            contact_id=contact.id,
            number=number,
            date=invoice_date or self.now().date(),
            due_date=rules.iso_date(raw.get("due_date"), "invoice.due_date"),
            currency=rules.currency(raw.get("currency"), account.currency),
            lines=lines,
            extra_info=rules.text(raw.get("extra_info"), "invoice.extra_info"),
            file_reference=rules.text(raw.get("file_reference"), "invoice.file_reference"),
            created_at=stamp,
            updated_at=stamp,
            is_credit_note=credit,
            references=references,
        )
        self._next_invoice += 1
        self.invoices[invoice.id] = invoice
        self.deliveries.created(invoice, self.reporting.get(account.id, (None, 1))[1])
        if body.get("send_after_import") is True:
            invoice.state = "sending"  # "queued to be sent asynchronously" (create-invoice ref.)
            self.deliveries.queued(invoice, self.reporting.get(account.id, (None, 1))[0])
        return invoice

    def update_invoice(self, invoice: Invoice, body: Mapping[str, Any]) -> Invoice:
        raw = rules.wrapped(dict(body), "invoice")
        if invoice.state not in EDITABLE_STATES:
            raise ApiError(409, "conflict", f"an invoice in state {invoice.state} cannot change")
        if "invoice_lines_attributes" in raw or "contact" in raw or "contact_id" in raw:
            # Deviation: the sandbox does not model nested line edits or a change of contact.
            raise ApiError(422, "parameter_cannot_change", "lines and contact cannot change here")
        account = self.accounts[invoice.account_id]
        if "number" in raw:
            number = rules.text(raw["number"], "invoice.number", required=True) or ""
            self._check_number(account, number, invoice.id)
            invoice.number = number
        if "date" in raw:
            invoice.date = (
                rules.iso_date(raw["date"], "invoice.date", required=True) or invoice.date
            )
        if "due_date" in raw:
            invoice.due_date = rules.iso_date(raw["due_date"], "invoice.due_date")
        if "currency" in raw:
            invoice.currency = rules.currency(raw["currency"], account.currency)
        for name in ("extra_info", "file_reference"):
            if name in raw:
                setattr(invoice, name, rules.text(raw[name], f"invoice.{name}"))
        invoice.updated_at = self.now().isoformat()
        return invoice

    def delete_invoice(self, invoice: Invoice) -> Invoice:
        if invoice.state not in EDITABLE_STATES:
            raise ApiError(
                409, "conflict", f"an invoice in state {invoice.state} cannot be deleted"
            )
        del self.invoices[invoice.id]
        return invoice

    def send(self, invoice: Invoice) -> Invoice:
        if invoice.state not in SENDABLE_STATES:
            raise ApiError(409, "conflict", f"an invoice in state {invoice.state} cannot be sent")
        invoice.state = "sending"
        invoice.updated_at = self.now().isoformat()
        self.deliveries.queued(invoice, self.reporting.get(invoice.account_id, (None, 1))[0])
        return invoice

    def deliver_all(self) -> dict[str, list[int]]:
        """The network acts: each queued invoice is delivered or fails with its reason, and
        each processing tax report reaches a final state (delivery.py)."""
        sent: list[int] = []
        failed: list[int] = []
        for invoice in [i for i in self.invoices.values() if i.state == "sending"]:
            state, _ = self.deliveries.deliver(invoice, self.contacts[invoice.contact_id])
            self.force_state(invoice, state)
            (sent if state == "sent" else failed).append(invoice.id)
        return {"sent": sent, "error": failed, "tax_reports": self.deliveries.settle_reports()}

    def mark_as(self, invoice: Invoice, body: Mapping[str, Any]) -> Invoice:
        state = body.get("state")
        if state not in MARK_AS_STATES:
            raise ApiError(422, "parameter_inclusion", "state is not included in the list")
        return self.force_state(invoice, str(state), body.get("paid_date"))

    def force_state(self, invoice: Invoice, state: str, paid_date: Any = None) -> Invoice:
        """Set a state as the network would (the admin hook), or as mark_as does."""
        if state not in STATES:
            raise ApiError(422, "parameter_inclusion", "state is not included in the list")
        invoice.state = state
        if state == "paid":
            invoice.paid_date = rules.iso_date(paid_date, "paid_date") or self.now().date()
        invoice.updated_at = self.now().isoformat()
        return invoice
