"""QuickBooks prerequisites of a batch: the customers, services and terms its invoices name and
the company lacks, each with the payload that would create it or the reason it must not be
created. Tax codes are only listed: tax set-up is the accountant's decision.

QuickBooks' rules are checked before anything is sent, so a refusal can say what to do: names
are unique ignoring case, inactive records included, and customers, vendors and employees share
one list of names (6240); `:` only separates a parent customer from a sub-customer (2040); a
service posts to an income account (Item.IncomeAccountRef in Finance.xsd, https://github.com/intuit/QuickBooks-V3-Java-SDK).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from invoicesync import matching
from invoicesync.aliases import alias_line
from invoicesync.ledger.base import Prerequisite
from invoicesync.models import Customer, LocalInvoice
from invoicesync.targets.quickbooks.api import QBOClient
from invoicesync.targets.quickbooks.api.rows import NamedRow
from invoicesync.targets.quickbooks.preflight import ALL_CUSTOMERS, ALL_ITEMS, ALL_TERMS, Catalog

KINDS = ("customer", "service", "term", "tax code")
ENTITIES = {"customer": "Customer", "service": "Item", "term": "Term"}
LISTS = {"customer": ALL_CUSTOMERS, "service": ALL_ITEMS, "term": ALL_TERMS}
_ALIASES = {
    "customer": "customers",
    "service": "services",
    "term": "terms",
    "tax code": "tax_codes",
}
_CATALOG_KIND = {"customer": "customer", "service": "item", "term": "term", "tax code": "tax code"}
INCOME_TYPES = frozenset({"Income", "Other Income"})
_NET = re.compile(r"Net ([0-9]{1,3})")


@dataclass
class Want:
    """One name the invoices use, as they spell it and as QuickBooks would (alias applied)."""

    kind: str
    source: str
    name: str
    invoices: list[str] = field(default_factory=list)
    customer: Customer | None = None
    currency: str | None = None


def wants(invoices: Sequence[LocalInvoice], catalog: Catalog, kinds: Sequence[str]) -> list[Want]:
    """Every distinct name of the wanted kinds, in source order, with the invoices using it."""
    found: dict[tuple[str, str], Want] = {}

    def add(kind: str, source: str, inv: LocalInvoice) -> None:
        if kind not in kinds:
            return
        name = catalog.alias(_CATALOG_KIND[kind], source)
        want = found.setdefault((kind, name), Want(kind, source, name))
        if inv.number not in want.invoices:
            want.invoices.append(inv.number)
        if kind == "customer" and want.customer is None:
            want.customer, want.currency = inv.customer, inv.currency

    for inv in invoices:
        add("customer", inv.customer.name, inv)
        for service in [ln.service for ln in inv.lines] + [a.service for a in inv.adjustments]:
            add("service", service, inv)
        if inv.payment_terms:
            add("term", inv.payment_terms, inv)
        for tax in _tax_names(inv, us=catalog.facts.us):
            add("tax code", tax, inv)
    return list(found.values())


def _tax_names(inv: LocalInvoice, *, us: bool) -> list[str]:
    if us:
        return [inv.tax_code] if inv.tax_code else []
    taxes = [ln.tax for ln in inv.lines] + [a.tax for a in inv.adjustments]
    return [t for t in taxes if t is not None]


class Planner:
    """Decides, for each name QuickBooks lacks, what to create or why not."""

    def __init__(self, client: QBOClient, catalog: Catalog, income_account: str | None) -> None:
        self.client = client
        self.catalog = catalog
        self.income_account = income_account
        self.planned: dict[tuple[str, str], str] = {}  # (name list, casefolded) → name

    @cached_property
    def people(self) -> list[tuple[str, NamedRow]]:
        """Customers, vendors and employees: QuickBooks keeps one list of names for the three."""
        rows = [("customer", c) for c in self.catalog.customers]
        for label, entity in (("vendor", "Vendor"), ("employee", "Employee")):
            statement = f"select * from {entity} where Active IN (true, false)"
            rows += [
                (label, NamedRow.from_row(r, "DisplayName")) for r in self.client.query(statement)
            ]
        return rows

    @cached_property
    def accounts(self) -> list[NamedRow]:
        rows = self.client.query("select * from Account where Active IN (true, false)")
        return [NamedRow.from_row(r) for r in rows]

    def records(self, kind: str) -> list[NamedRow]:
        return {
            "customer": self.catalog.customers,
            "service": self.catalog.items,
            "term": self.catalog.terms,
            "tax code": self.catalog.tax_codes,
        }[kind]

    def plan(self, wanted: Sequence[Want]) -> list[Prerequisite]:
        """What is missing; a name QuickBooks has (active) needs nothing."""
        needs = []
        for want in wanted:
            hit = matching.find_exact(want.name, self.records(want.kind), by_path=":" in want.name)
            if hit is not None and hit.active:
                continue
            if hit is not None:
                needs.append(self.need(want, refused=_inactive(want.kind, hit)))
            elif want.kind == "tax code":
                needs.append(self.tax_code(want))
            else:
                needs.append(self.creatable(want))
        return needs

    def need(self, want: Want, **kw: Any) -> Prerequisite:
        return Prerequisite(want.kind, want.name, tuple(want.invoices), **kw)

    def creatable(self, want: Want) -> Prerequisite:
        try:
            payload = {"customer": self.customer, "service": self.service, "term": self.term}[
                want.kind
            ](want)
        except Refused as exc:
            return self.need(want, refused=str(exc))
        return self.need(want, payload=payload)

    def customer(self, want: Want) -> dict[str, Any]:
        parent_path, _, leaf = want.name.rpartition(":")
        payload: dict[str, Any] = {"DisplayName": leaf}
        if ":" in want.name:
            payload["ParentRef"] = {"value": self.parent(want, parent_path, leaf)}
            payload["Job"] = True
        self.unique(want, leaf, self.people, "people")
        customer = want.customer
        assert customer is not None  # set with every customer want
        if customer.email:
            payload["PrimaryEmailAddr"] = {"Address": customer.email}
        if customer.country:
            payload["BillAddr"] = {"Country": customer.country}
        if customer.tax_id:
            payload["PrimaryTaxIdentifier"] = customer.tax_id
        facts = self.catalog.facts
        if facts.multicurrency and want.currency:
            payload["CurrencyRef"] = {"value": want.currency}
        return payload

    def parent(self, want: Want, parent_path: str, leaf: str) -> str:
        if not parent_path or not leaf:
            raise Refused(
                "':' separates a parent customer from a sub-customer ('Parent:Child'); this "
                "name has an empty part: correct it in the source or use an alias"
            )
        parent = matching.find_exact(parent_path, self.catalog.customers, by_path=True)
        if parent is None:
            raise Refused(
                f"its parent customer {parent_path!r} is not in QuickBooks; sub-customers are "
                "created only under an existing parent: create the parent first"
            )
        if not parent.active:
            raise Refused(f"its parent customer {parent_path!r} is inactive; reactivate it first")
        return parent.id

    def service(self, want: Want) -> dict[str, Any]:
        self.no_colon(want)
        self.unique(want, want.name, [("service", i) for i in self.catalog.items], "items")
        account = self.income()
        return {
            "Name": want.name,
            "Type": "Service",
            "IncomeAccountRef": {"value": account.id, "name": account.name},
        }

    def income(self) -> NamedRow:
        """The configured income account, checked to exist, be active and take income."""
        name = self.income_account
        if name is None:
            raise Refused(
                "new services need an income account: set it in config.toml, e.g. "
                '[prepare] income_account = "Services"'
            )
        account = matching.find_exact(name, self.accounts, by_path=":" in name)
        income = [a.full_name for a in self.accounts if a.account_type in INCOME_TYPES and a.active]
        choices = f" (income accounts: {', '.join(map(repr, income))})" if income else ""
        if account is None:
            raise Refused(
                f"[prepare] income_account {name!r} is not an account in QuickBooks; "
                f"name an existing income account{choices}"
            )
        if not account.active:
            raise Refused(f"[prepare] income_account {name!r} is inactive in QuickBooks")
        if account.account_type not in INCOME_TYPES:
            raise Refused(
                f"[prepare] income_account {name!r} is a {account.account_type} account, "
                f"not an income account{choices}"
            )
        return account

    def term(self, want: Want) -> dict[str, Any]:
        match = _NET.fullmatch(want.name)
        if match is None:
            raise Refused(
                "only terms named 'Net N' (due in N days) are created; create this one in "
                "QuickBooks (Settings → All lists → Terms) or use an alias for an existing term"
            )
        self.unique(want, want.name, [("term", t) for t in self.catalog.terms], "terms")
        return {"Name": want.name, "DueDays": int(match.group(1))}

    def tax_code(self, want: Want) -> Prerequisite:
        near = matching.near_matches(want.name, self.catalog.tax_codes, where="QuickBooks")
        usable = [m for m in near if "inactive" not in m.reason]
        hint = (
            f"; or, if it is {usable[0].name!r}, add under [aliases.tax_codes] in config.toml: "
            f"{alias_line(want.source, usable[0].name)}"
            if len(usable) == 1
            else ""
        )
        where = "Taxes → Sales tax" if self.catalog.facts.us else "Taxes → VAT"
        return self.need(
            want,
            refused=f"tax codes are never created (tax set-up is your accountant's decision): "
            f"set it up in QuickBooks ({where}){hint}",
        )

    def no_colon(self, want: Want) -> None:
        if ":" in want.name:
            raise Refused(
                "':' is reserved for sub-customers in QuickBooks (error 2040): name the "
                f"{want.kind} without it in QuickBooks and add an alias under "
                f"[aliases.{_ALIASES[want.kind]}]"
            )

    def unique(
        self, want: Want, name: str, rows: Sequence[tuple[str, NamedRow]], space: str
    ) -> None:
        """Refuse a name QuickBooks would refuse as a duplicate (6240), or that differs from an
        existing one only by case, spaces or quotes (most likely the same one, misspelt)."""
        for label, row in rows:
            if row.name.casefold() == name.casefold() and label != want.kind:
                renamed = alias_line(want.source, f"{want.name} (customer)")
                raise Refused(
                    f"QuickBooks has {'an' if label[0] in 'aeiou' else 'a'} {label} named "
                    f"{row.name!r}, and customers, vendors and "
                    "employees share one list of names (QuickBooks error 6240): rename the "
                    f"{label} in QuickBooks, or name the customer differently with an alias, "
                    f"e.g. under [aliases.customers]: {renamed}"
                )
            if matching.normalize(row.name) == matching.normalize(name):
                if not row.active:
                    raise Refused(_inactive(want.kind, row))
                why = (
                    matching.difference(name, row.name, "QuickBooks")
                    if row.name != name
                    else "names are unique, sub-customers included"
                )
                raise Refused(
                    f"QuickBooks has {row.full_name!r} ({why}); "
                    f"if that is the one, add under [aliases.{_ALIASES[want.kind]}] in "
                    f"config.toml: {alias_line(want.source, row.full_name)}"
                )
        key = (space, name.casefold())
        other = self.planned.setdefault(key, want.name)
        if other != want.name:
            raise Refused(
                f"differs only by letter case from {other!r}, which is created in this run; "
                "QuickBooks keeps one of them: spell them alike in the source or use an alias"
            )


class Refused(Exception):
    """This name must not be created; the message says what to do instead."""


def _inactive(kind: str, row: NamedRow) -> str:
    return (
        f"QuickBooks has an inactive {kind} {row.full_name!r}: reactivate it in QuickBooks "
        "(its list, filter Inactive, Make active) rather than create a second one"
    )


def find(client: QBOClient, need: Prerequisite) -> str | None:
    """The record QuickBooks now has under this name (active or not), after an uncertain
    create: a dropped answer must not lead to a second copy."""
    key = "DisplayName" if need.kind == "customer" else "Name"
    rows = [NamedRow.from_row(r, key) for r in client.query(LISTS[need.kind])]
    hit = matching.find_exact(need.name, rows, by_path=":" in need.name)
    return hit.id if hit else None
