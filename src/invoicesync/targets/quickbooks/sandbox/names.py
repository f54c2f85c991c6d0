"""Rules for name-list entities: customers (and sub-customers), items and terms."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from invoicesync.targets.quickbooks.sandbox.errors import (
    Fault,
    business_error,
    inactive_reference,
    invalid_property,
    invalid_reference,
    required_missing,
)
from invoicesync.targets.quickbooks.sandbox.schema import CURRENCY_NAMES, PEOPLE
from invoicesync.targets.quickbooks.sandbox.values import ref, to_decimal

if TYPE_CHECKING:
    from invoicesync.targets.quickbooks.sandbox.company import Company

_NAME_PARTS = ("Title", "GivenName", "MiddleName", "FamilyName", "Suffix")


def check_name(value: str, entity: str) -> None:
    """The colon is reserved for the hierarchy in `FullyQualifiedName` (2040)."""
    if ":" in value:
        raise Fault(
            "2040",
            "Invalid String",
            "Element contains invalid characters.",
            element="DisplayName" if entity in PEOPLE else "Name",
        )


def _display_name(data: dict[str, Any]) -> str:
    if not any(data.get(k) for k in ("DisplayName", *_NAME_PARTS)):
        raise Fault(
            "6080",
            "No Name Provided",
            "Title, GivenName, MiddleName, FamilyName, DisplayName, Suffix - one of these "
            "must be non-empty",
        )
    return str(
        data.get("DisplayName") or " ".join(str(data[k]) for k in _NAME_PARTS if data.get(k))
    )


def _person(company: Company, kind: str, data: dict[str, Any], updating: str) -> str:
    """DisplayName rules shared by customers, vendors and employees: one name space across
    the three (6240), inactive records included, and no ':' (2040)."""
    display = _display_name(data)
    check_name(display, kind)
    for entity in PEOPLE:
        for other in company.entities[entity].values():
            if (entity, other["Id"]) == (kind, updating):
                continue
            if other["DisplayName"].casefold() == display.casefold():
                raise duplicate_name(
                    "Another customer, vendor or employee is already using this \nname."
                )
    data["DisplayName"] = display
    data.setdefault("Active", True)
    if not isinstance(data["Active"], bool):
        raise invalid_property("Active must be true or false", "Active")
    return display


def duplicate_name(detail: str) -> Fault:
    return Fault(
        "6240",
        "Duplicate Name Exists Error",
        f"The name supplied already exists. : {detail} Please use a different name.",
    )


def build_customer(
    company: Company, data: dict[str, Any], *, allow_duplicate_doc: bool = False, updating: str = ""
) -> dict[str, Any]:
    display = _person(company, "Customer", data, updating)
    data.setdefault("PrintOnCheckName", display)
    _place_in_hierarchy(company, data, display)
    currency = ref(data.get("CurrencyRef")) or company.home_currency
    if currency != company.home_currency and not company.multicurrency:
        raise business_error("Multicurrency is not enabled for this company.")
    data["CurrencyRef"] = {"value": currency, "name": CURRENCY_NAMES.get(currency, currency)}
    term_id = ref(data.get("SalesTermRef"))
    if term_id and term_id not in company.entities["Term"]:
        raise invalid_reference("Term", term_id)
    data.setdefault("Balance", Decimal("0.00"))
    data.setdefault("BalanceWithJobs", Decimal("0.00"))
    return data


def _place_in_hierarchy(company: Company, data: dict[str, Any], display: str) -> None:
    parent_id = ref(data.get("ParentRef"))
    if parent_id:
        parent = company.entities["Customer"].get(parent_id)
        if parent is None:
            raise invalid_reference("Customer", parent_id)
        data["Job"] = True
        data["Level"] = parent.get("Level", 0) + 1
        data["FullyQualifiedName"] = f"{parent['FullyQualifiedName']}:{display}"
        data["ParentRef"] = {"value": parent_id}
    else:
        data["Job"] = False
        data["Level"] = 0
        data["FullyQualifiedName"] = display


def build_vendor(
    company: Company, data: dict[str, Any], *, allow_duplicate_doc: bool = False, updating: str = ""
) -> dict[str, Any]:
    _person(company, "Vendor", data, updating)
    return data


def build_employee(
    company: Company, data: dict[str, Any], *, allow_duplicate_doc: bool = False, updating: str = ""
) -> dict[str, Any]:
    _person(company, "Employee", data, updating)
    return data


def _unique_name(
    company: Company, kind: str, data: dict[str, Any], updating: str, what: str
) -> str:
    name = data.get("Name")
    if not isinstance(name, str) or not name.strip():
        raise required_missing("Name")
    check_name(name, kind)
    for other in company.entities[kind].values():
        if other["Id"] != updating and other["Name"].casefold() == name.casefold():
            raise duplicate_name(f"Another {what} is already using this name.")
    data.setdefault("Active", True)
    if not isinstance(data["Active"], bool):
        raise invalid_property("Active must be true or false", "Active")
    data["FullyQualifiedName"] = name
    return name


# Item types that post to an income account: those for which Intuit's schema requires
# Item.IncomeAccountRef (Finance.xsd in https://github.com/intuit/QuickBooks-V3-Java-SDK).
NEEDS_INCOME_ACCOUNT = {"Service", "NonInventory", "Inventory", "Other Charge", "Assembly"}
ITEM_TYPES = NEEDS_INCOME_ACCOUNT | {"Category", "Group", "Bundle", "Discount", "Payment"}
INCOME_TYPES = {"Income", "Other Income"}


def build_item(
    company: Company, data: dict[str, Any], *, allow_duplicate_doc: bool = False, updating: str = ""
) -> dict[str, Any]:
    _unique_name(company, "Item", data, updating, "product or service")
    data.setdefault("Type", "Service")
    if not isinstance(data["Type"], str) or data["Type"] not in ITEM_TYPES:
        raise invalid_property(f"Invalid Enumeration : {data['Type']}", "Type")
    if data["Type"] in NEEDS_INCOME_ACCOUNT:
        account_id = ref(data.get("IncomeAccountRef"))
        if account_id is None:
            raise required_missing("IncomeAccountRef")
        account = company.entities["Account"].get(account_id)
        if account is None:
            raise invalid_reference("Accounts", account_id)
        if not account.get("Active", True):
            raise inactive_reference()
        if account["AccountType"] not in INCOME_TYPES:
            raise business_error(
                f"The income account of an item must be an income account; "
                f"{account['Name']} is {account['AccountType']}."
            )
        data["IncomeAccountRef"] = {"value": account_id, "name": account["Name"]}
    if "UnitPrice" in data:
        data["UnitPrice"] = to_decimal(data["UnitPrice"], "UnitPrice")
    return data


def build_term(
    company: Company, data: dict[str, Any], *, allow_duplicate_doc: bool = False, updating: str = ""
) -> dict[str, Any]:
    _unique_name(company, "Term", data, updating, "term")
    del data["FullyQualifiedName"]
    data["Type"] = "STANDARD"
    days = data.get("DueDays", 0)
    if isinstance(days, bool) or not isinstance(days, (int, str)) or not str(days).isdigit():
        raise invalid_property("DueDays must be a whole number of days", "DueDays")
    data["DueDays"] = int(days)
    return data


# AccountType → Classification (XSD AccountTypeEnum; the sandbox knows the common ones).
ACCOUNT_TYPES = {
    "Income": "Revenue",
    "Other Income": "Revenue",
    "Expense": "Expense",
    "Other Expense": "Expense",
    "Cost of Goods Sold": "Expense",
    "Bank": "Asset",
    "Accounts Receivable": "Asset",
    "Other Current Asset": "Asset",
    "Fixed Asset": "Asset",
    "Accounts Payable": "Liability",
    "Credit Card": "Liability",
    "Other Current Liability": "Liability",
    "Equity": "Equity",
}


def build_account(
    company: Company, data: dict[str, Any], *, allow_duplicate_doc: bool = False, updating: str = ""
) -> dict[str, Any]:
    _unique_name(company, "Account", data, updating, "account")
    kind = data.get("AccountType")
    if not kind:
        raise required_missing("AccountType")
    if not isinstance(kind, str) or kind not in ACCOUNT_TYPES:
        raise invalid_property(f"Invalid Enumeration : {kind}", "AccountType")
    data["Classification"] = ACCOUNT_TYPES[kind]
    data.setdefault("CurrentBalance", Decimal("0"))
    data.setdefault("CurrencyRef", {"value": company.home_currency})
    data.setdefault("SubAccount", False)
    return data
