"""QuickBooks pre-flight: the reference data for a batch, and each invoice's names resolved.

Reads only. One paged query per kind of reference for the whole batch, all in flight at once
(docs/performance.md), and every unresolved name reported with its closest matches and the
reason, so a user fixes everything in one pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from invoicesync import matching
from invoicesync.aliases import Aliases, alias_line
from invoicesync.ledger.base import ALIAS_TABLES, Problem
from invoicesync.models import LocalInvoice
from invoicesync.targets.quickbooks import mapping
from invoicesync.targets.quickbooks.api import QBOClient
from invoicesync.targets.quickbooks.api.rows import CompanyFacts, NamedRow

ALL_CUSTOMERS = "select * from Customer where Active IN (true, false)"
ALL_ITEMS = "select * from Item where Active IN (true, false)"
ALL_TERMS = "select * from Term where Active IN (true, false)"
ALL_TAX_CODES = "select * from TaxCode"


@dataclass
class Catalog:
    """Reference data for a whole batch."""

    facts: CompanyFacts
    customers: list[NamedRow] = field(default_factory=list)
    items: list[NamedRow] = field(default_factory=list)
    terms: list[NamedRow] = field(default_factory=list)
    tax_codes: list[NamedRow] = field(default_factory=list)
    synced: str | None = None  # the server's time of these answers (qbo_cache's CDC start)
    aliases: Aliases = field(default_factory=Aliases)

    def alias(self, kind: str, wanted: str) -> str:
        """The QuickBooks name `[aliases.*]` maps `wanted` to (itself when there is none)."""
        table: dict[str, str] = dict(getattr(self.aliases, ALIAS_TABLES[kind]))
        return table.get(wanted, wanted)

    def customer_currency(self, customer_id: str) -> str:
        for row in self.customers:
            if row.id == customer_id:
                return row.currency or self.facts.home_currency
        return self.facts.home_currency


def customers(client: QBOClient) -> list[NamedRow]:
    return [NamedRow.from_row(r, "DisplayName") for r in client.query(ALL_CUSTOMERS)]


def load_catalog(
    client: QBOClient,
    invoices: Sequence[LocalInvoice],
    aliases: Aliases | None = None,
    *,
    all_kinds: bool = False,
) -> Catalog:
    """Company facts and every kind of reference the batch uses (`all_kinds`: every kind, for
    the cache), all queries in flight at once (they are independent reads). Preferences are
    read first-hand for the server's time, where a later CDC refresh starts."""
    with ThreadPoolExecutor(max_workers=6) as pool:
        info = pool.submit(client.company_info)
        prefs = pool.submit(client.request, "GET", "preferences")
        customers_f = pool.submit(customers, client)
        items_f = pool.submit(client.query, ALL_ITEMS)
        wants_terms = all_kinds or any(i.payment_terms for i in invoices)
        terms_f = pool.submit(client.query, ALL_TERMS) if wants_terms else None
        codes_f = pool.submit(client.query, ALL_TAX_CODES)
        answer = prefs.result()
        synced = answer.get("time")
        return Catalog(
            CompanyFacts.from_rows(info.result(), answer["Preferences"]),
            customers_f.result(),
            [NamedRow.from_row(r) for r in items_f.result()],
            [NamedRow.from_row(r) for r in terms_f.result()] if terms_f else [],
            [NamedRow.from_row(r) for r in codes_f.result()],
            synced if isinstance(synced, str) and all_kinds else None,
            aliases or Aliases(),
        )


class _Resolver:
    """Resolves one invoice's names, collecting every problem rather than stopping at one."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.problems: list[Problem] = []

    def find(self, kind: str, wanted: str, records: list[NamedRow]) -> str | None:
        """The record `wanted` names (through its alias, if any; a path 'Parent:Child' names a
        sub-customer), or None with the problem recorded."""
        target = self.catalog.alias(kind, wanted)
        hit = matching.find_exact(target, records, by_path=":" in target)
        if hit is not None and hit.active:
            return hit.id
        subject = f"its alias {target!r} is" if target != wanted else "is"
        if hit is not None:
            self.problems.append(
                Problem(kind, wanted, f"{subject} inactive in QuickBooks; reactivate it")
            )
            return None
        near = tuple(matching.near_matches(target, records, where="QuickBooks"))
        reason = f"{subject} not in QuickBooks" if target != wanted else "not found in QuickBooks"
        self.problems.append(Problem(kind, wanted, reason, near, suggested_alias(wanted, near)))
        return None

    def items(self, invoice: LocalInvoice) -> dict[str, str]:
        found: dict[str, str] = {}
        services = [ln.service for ln in invoice.lines] + [a.service for a in invoice.adjustments]
        for service in dict.fromkeys(services):
            item_id = self.find("item", service, self.catalog.items)
            if item_id:
                found[service] = item_id
        return found

    def us_tax(self, invoice: LocalInvoice) -> str | None:
        for tax in _taxes(invoice):
            if tax is not None and tax.upper() not in mapping.US_LINE_CODES:
                self.problems.append(
                    Problem(
                        "tax code",
                        tax,
                        "US invoice lines take TAX or NON; put the sales tax code in the "
                        "invoice's tax_code",
                    )
                )
        if invoice.tax_code:
            return self.find("tax code", invoice.tax_code, self.catalog.tax_codes)
        return None

    def line_taxes(self, invoice: LocalInvoice) -> dict[str, str]:
        if invoice.tax_code:
            self.problems.append(
                Problem(
                    "tax code",
                    invoice.tax_code,
                    "tax_code is for US companies; non-US companies take a tax code on every line",
                )
            )
        found: dict[str, str] = {}
        for index, tax in enumerate(_taxes(invoice), start=1):
            if tax is None:
                self.problems.append(
                    Problem(
                        "tax code",
                        f"line {index}",
                        "missing: non-US companies need a tax code on every line",
                    )
                )
            elif tax not in found:
                code_id = self.find("tax code", tax, self.catalog.tax_codes)
                if code_id:
                    found[tax] = code_id
        return found

    def currency(self, invoice: LocalInvoice, customer_id: str | None) -> None:
        facts = self.catalog.facts
        if invoice.currency != facts.home_currency and not facts.multicurrency:
            self.problems.append(
                Problem(
                    "currency",
                    invoice.currency,
                    f"the company's currency is {facts.home_currency} and multicurrency is off",
                )
            )
        if customer_id:
            billed = self.catalog.customer_currency(customer_id)
            if billed != invoice.currency:
                self.problems.append(
                    Problem(
                        "currency",
                        invoice.currency,
                        f"customer {invoice.customer.name!r} is billed in {billed} in QuickBooks",
                    )
                )


def suggested_alias(wanted: str, near: Sequence[matching.NearMatch]) -> str | None:
    """The alias line to add when exactly one active record is the closest name."""
    usable = [m for m in near if "inactive" not in m.reason]
    return alias_line(wanted, usable[0].name) if len(usable) == 1 else None


def _taxes(invoice: LocalInvoice) -> list[str | None]:
    """Each line's tax code; a line with several taxes has none, and is refused on its own
    (`several_taxes`), never as a line without a code."""
    return [ln.tax for ln in invoice.lines if not ln.taxes] + [a.tax for a in invoice.adjustments]


def several_taxes(invoice: LocalInvoice) -> list[Problem]:
    """QuickBooks Online holds one tax code per line (`TaxCodeRef` of a SalesItemLine,
    https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/invoice), so
    a line with VAT and a withholding cannot be written without changing what is owed: the
    invoice is refused with the reason, and the rest of the batch goes on."""
    return [
        Problem(
            "tax",
            f"line {i}",
            f"{len(ln.taxes)} taxes on one line ("
            + ", ".join(f"{t.name or t.category} {t.rate} %" for t in ln.taxes)
            + "): QuickBooks holds one tax code per line; push this invoice to a B2BRouter "
            "profile, or give the line one tax",
        )
        for i, ln in enumerate(invoice.lines, 1)
        if ln.taxes
    ]


def resolve(invoice: LocalInvoice, catalog: Catalog) -> tuple[mapping.Refs | None, list[Problem]]:
    """Every reference of one invoice, or every problem with its closest names and reasons."""
    r = _Resolver(catalog)
    name = invoice.customer.name
    customer_id = r.find("customer", name, catalog.customers)
    items = r.items(invoice)
    term_id = (
        r.find("term", invoice.payment_terms, catalog.terms) if invoice.payment_terms else None
    )
    txn_tax: str | None = None
    tax_codes: dict[str, str] = {}
    if catalog.facts.us:
        txn_tax = r.us_tax(invoice)
    else:
        tax_codes = r.line_taxes(invoice)
    r.currency(invoice, customer_id)
    r.problems += several_taxes(invoice)
    if r.problems or customer_id is None:
        return None, r.problems
    return mapping.Refs(customer_id, items, term_id, tax_codes, txn_tax), []
