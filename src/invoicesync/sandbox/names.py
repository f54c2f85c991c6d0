"""Rules for name-list entities: customers (and sub-customers), items and terms."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from invoicesync.sandbox.errors import Fault, business_error, invalid_reference, required_missing
from invoicesync.sandbox.schema import CURRENCY_NAMES
from invoicesync.sandbox.values import ref, to_decimal

if TYPE_CHECKING:
    from invoicesync.sandbox.company import Company

_NAME_PARTS = ("Title", "GivenName", "MiddleName", "FamilyName", "Suffix")


def check_name(value: str, entity: str) -> None:
    """The colon is reserved for the hierarchy in `FullyQualifiedName` (2040)."""
    if ":" in value:
        raise Fault(
            "2040",
            "Invalid String",
            "Element contains invalid characters.",
            element="DisplayName" if entity == "Customer" else "Name",
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


def build_customer(
    company: Company, data: dict[str, Any], *, allow_duplicate_doc: bool = False, updating: str = ""
) -> dict[str, Any]:
    display = _display_name(data)
    check_name(display, "Customer")
    for other in company.entities["Customer"].values():
        if other["Id"] != updating and other["DisplayName"].casefold() == display.casefold():
            raise Fault(
                "6240",
                "Duplicate Name Exists Error",
                "The name supplied already exists. : Another customer, vendor or employee "
                "is already using this \nname. Please use a different name.",
            )
    data["DisplayName"] = display
    data.setdefault("Active", True)
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


def build_item(
    company: Company, data: dict[str, Any], *, allow_duplicate_doc: bool = False, updating: str = ""
) -> dict[str, Any]:
    name = data.get("Name")
    if not name:
        raise required_missing("Name")
    check_name(str(name), "Item")
    for other in company.entities["Item"].values():
        if other["Id"] != updating and other["Name"].casefold() == str(name).casefold():
            raise Fault(
                "6240",
                "Duplicate Name Exists Error",
                "The name supplied already exists. : Another product or service is already "
                "using this name. Please use a different name.",
            )
    data.setdefault("Type", "Service")
    data.setdefault("Active", True)
    data["FullyQualifiedName"] = name
    data.setdefault("IncomeAccountRef", {"value": "79", "name": "Sales of Product Income"})
    if "UnitPrice" in data:
        data["UnitPrice"] = to_decimal(data["UnitPrice"], "UnitPrice")
    return data


def build_term(
    company: Company, data: dict[str, Any], *, allow_duplicate_doc: bool = False, updating: str = ""
) -> dict[str, Any]:
    if not data.get("Name"):
        raise required_missing("Name")
    data.setdefault("Active", True)
    data["Type"] = "STANDARD"
    data["DueDays"] = int(data.get("DueDays", 0))
    return data
