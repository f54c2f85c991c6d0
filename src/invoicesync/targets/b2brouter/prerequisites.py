"""B2BRouter's answer to `prepare`: the contacts a batch lacks, listed, never created.

B2BRouter needs no services or terms (a line is a description, a VAT category and a percent),
so only contacts can be missing. invoicesync does not create them: a contact decides where an
e-invoice is delivered (its tax id and network address), and the contact endpoint's fields are
not among the sources docs/b2brouter.md lists. Each missing or ambiguous contact is
listed with what to do, so `prepare` still answers "what must exist before I push?".
"""

from __future__ import annotations

from collections.abc import Sequence

from invoicesync.ledger.base import Prerequisite
from invoicesync.models import LocalInvoice
from invoicesync.targets.b2brouter.api import B2BRouterClient, Contact, choose_contact
from invoicesync.targets.b2brouter.errors import translating
from invoicesync.targets.b2brouter.preflight import contact_problem

NOT_CREATED = (
    "invoicesync does not create B2BRouter contacts (a contact decides where the e-invoice "
    "goes): add it in B2BRouter → Contacts, then re-run"
)


class B2BRouterPrerequisites:
    """The contacts a batch lacks, each with what to do: a component of `B2BRouterLedger`,
    which delegates `Prerequisites` to it (and creates none: it is no `CreatesPrerequisites`)."""

    def __init__(self, client: B2BRouterClient) -> None:
        self.client = client

    def _contacts(self) -> list[Contact]:
        with translating("reading contacts"):
            return list(self.client.contacts())

    def prerequisites(
        self, invoices: Sequence[LocalInvoice], kinds: Sequence[str]
    ) -> list[Prerequisite]:
        if "customer" not in kinds or not invoices:
            return []
        contacts = self._contacts()
        missing: dict[str, tuple[list[str], str]] = {}
        for inv in invoices:
            _, problem = contact_problem(inv, contacts)
            if problem is not None:
                numbers, _reason = missing.setdefault(
                    inv.customer.name, ([], f"{problem.reason}; {NOT_CREATED}")
                )
                numbers.append(inv.number)
        return [
            Prerequisite("customer", name, tuple(numbers), payload=None, refused=reason)
            for name, (numbers, reason) in missing.items()
        ]

    def find_prerequisite(self, need: Prerequisite) -> str | None:
        hit = choose_contact(self._contacts(), tax_id=None, country=None, name=need.name).contact
        return str(hit.id) if hit else None
