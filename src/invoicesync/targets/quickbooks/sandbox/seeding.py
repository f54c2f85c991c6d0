"""Company files: reading them and filling a new company from one (docs/sandbox.md)."""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from invoicesync.targets.quickbooks.sandbox.errors import Fault
from invoicesync.targets.quickbooks.sandbox.names import INCOME_TYPES
from invoicesync.targets.quickbooks.sandbox.names import NEEDS_INCOME_ACCOUNT as INCOME_ITEM_TYPES
from invoicesync.targets.quickbooks.sandbox.values import q2

if TYPE_CHECKING:
    from invoicesync.targets.quickbooks.sandbox.company import Company


class CompanyFileError(ValueError):
    """A company file QuickBooks would refuse, said in one line (no traceback)."""


def create(company: Company, kind: str, body: dict[str, Any], label: str) -> dict[str, Any]:
    """Create a seed entity through the API rules; a refusal names the record."""
    try:
        return company.create(kind, body)
    except Fault as fault:
        hint = ""
        if fault.code == "2040":
            hint = " (':' is reserved for sub-customers: give the child `parent = \"…\"`)"
        raise CompanyFileError(f"{kind} {label!r}: {fault.detail}{hint}") from None


def load_seed(path: Path) -> dict[str, Any]:
    """Read a company file (TOML or JSON)."""
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".json":
        data: dict[str, Any] = json.loads(text)
        return data
    return tomllib.loads(text)


def builtin_company(name: str) -> Path:
    """Path of a shipped company file: `us` or `uk`."""
    if not re.fullmatch(r"[a-z]+", name):
        raise ValueError(name)
    return Path(__file__).with_name("companies") / f"{name}.toml"


def seed_company(company: Company, seed: Mapping[str, Any]) -> None:
    """Create the seed's entities through the same rules as API writes."""
    _company_info(company)
    _tax(company, seed)
    for account in seed.get("accounts") or DEFAULT_ACCOUNTS:
        account_body = {"Name": account["name"], "AccountType": account["type"]}
        if "active" in account:
            account_body["Active"] = account["active"]
        create(company, "Account", account_body, account["name"])
    for term in seed.get("terms", []):
        term_body: dict[str, Any] = {
            "Name": term["name"],
            "DueDays": term.get("due_days", 0),
            "Active": term.get("active", True),
        }
        create(company, "Term", term_body, term["name"])
    for item in seed.get("items", []):
        body: dict[str, Any] = {
            "Name": item["name"],
            "Type": item.get("type", "Service"),
            "Active": item.get("active", True),
        }
        if body["Type"] in INCOME_ITEM_TYPES:
            account = item.get("income_account") or _first_income_account(company)
            body["IncomeAccountRef"] = {"value": company.id_by_name("Account", account)}
        if "unit_price" in item:
            body["UnitPrice"] = Decimal(str(item["unit_price"]))
        if "description" in item:
            body["Description"] = item["description"]
        create(company, "Item", body, item["name"])
    for cust in seed.get("customers", []):
        _customer(company, cust)
    for kind in ("Vendor", "Employee"):
        for person in seed.get(f"{kind.lower()}s", []):
            person_body = {"DisplayName": person["name"], "Active": person.get("active", True)}
            create(company, kind, person_body, person["name"])
    for inv in seed.get("invoices", []):
        _invoice(company, inv)
    if company.default_terms:
        company.id_by_name("Term", company.default_terms)  # a KeyError names it


# A new QuickBooks company comes with a chart of accounts; a company file without
# `[[accounts]]` gets these (names as QuickBooks Online's defaults).
DEFAULT_ACCOUNTS = (
    {"name": "Services", "type": "Income"},
    {"name": "Sales of Product Income", "type": "Income"},
    {"name": "Discounts given", "type": "Income"},
    {"name": "Accounts Receivable (A/R)", "type": "Accounts Receivable"},
    {"name": "Undeposited Funds", "type": "Other Current Asset"},
    {"name": "Checking", "type": "Bank"},
    {"name": "Office Supplies", "type": "Expense"},
)


def _first_income_account(company: Company) -> str:
    for account in company.entities["Account"].values():
        if account["AccountType"] in INCOME_TYPES and account.get("Active", True):
            return str(account["Name"])
    raise CompanyFileError('items need an income account: add one with type = "Income"')


def _company_info(company: Company) -> None:
    company.entities["CompanyInfo"]["1"] = company.stamped(
        {
            "Id": "1",
            "CompanyName": company.name,
            "LegalName": company.name,
            "Country": company.country,
            "CompanyAddr": {
                "Country": {"US": "USA", "GB": "GBR"}.get(company.country, company.country)
            },
            "SupportedLanguages": "en",
        }
    )


def _tax(company: Company, seed: Mapping[str, Any]) -> None:
    for rate in seed.get("tax_rates", []):
        rid = company.new_id("TaxRate")
        company.entities["TaxRate"][rid] = company.stamped(
            {
                "Id": rid,
                "Name": rate["name"],
                "RateValue": Decimal(str(rate["rate"])),
                "Active": True,
                "Description": rate.get("description", rate["name"]),
            }
        )
    for code in seed.get("tax_codes", []):
        cid = str(code.get("id") or company.new_id("TaxCode"))
        details = [
            {
                "TaxRateRef": {"value": company.id_by_name("TaxRate", n), "name": n},
                "TaxTypeApplicable": "TaxOnAmount",
                "TaxOrder": 0,
            }
            for n in code.get("rates", [])
        ]
        company.entities["TaxCode"][cid] = company.stamped(
            {
                "Id": cid,
                "Name": code["name"],
                "Description": code.get("description", ""),
                "Active": code.get("active", True),
                "Taxable": bool(details) or cid == "TAX",
                "TaxGroup": len(details) > 1,
                "SalesTaxRateList": {"TaxRateDetail": details},
            }
        )


def _customer(company: Company, cust: Mapping[str, Any]) -> None:
    body: dict[str, Any] = {"DisplayName": cust["name"]}
    if cust.get("email"):
        body["PrimaryEmailAddr"] = {"Address": cust["email"]}
    if cust.get("currency"):
        body["CurrencyRef"] = {"value": cust["currency"]}
    if cust.get("terms"):
        body["SalesTermRef"] = {"value": company.id_by_name("Term", cust["terms"])}
    if cust.get("parent"):
        parent = company.customer_by_fqn(cust["parent"])
        body["ParentRef"] = {"value": parent["Id"]}
        body["Job"] = True
    created = create(company, "Customer", body, cust["name"])
    company.entities["Customer"][created["Id"]]["Active"] = cust.get("active", True)


def _invoice(company: Company, inv: Mapping[str, Any]) -> None:
    cust = company.customer_by_fqn(inv["customer"])
    lines = []
    for line in inv.get("lines", []):
        qty, price = Decimal(str(line["quantity"])), Decimal(str(line["unit_price"]))
        detail: dict[str, Any] = {
            "ItemRef": {"value": company.id_by_name("Item", line["service"])},
            "Qty": qty,
            "UnitPrice": price,
        }
        if line.get("tax"):
            detail["TaxCodeRef"] = {"value": company.id_by_name("TaxCode", line["tax"])}
        lines.append(
            {
                "DetailType": "SalesItemLineDetail",
                "Amount": q2(qty * price),
                "Description": line.get("description", ""),
                "SalesItemLineDetail": detail,
            }
        )
    body: dict[str, Any] = {
        "CustomerRef": {"value": cust["Id"]},
        "TxnDate": inv["date"],
        "Line": lines,
    }
    if inv.get("doc_number"):
        body["DocNumber"] = inv["doc_number"]
    if inv.get("currency"):
        body["CurrencyRef"] = {"value": inv["currency"]}
    if inv.get("private_note"):
        body["PrivateNote"] = inv["private_note"]
    create(company, "Invoice", body, str(inv.get("doc_number") or inv["date"]))
