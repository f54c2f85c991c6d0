"""The company's settings: Preferences (read, and the updates the sandbox models) and the
CompanyInfo update (docs/sandbox.md)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from invoicesync.targets.quickbooks.sandbox.errors import (
    business_error,
    invalid_property,
    required_missing,
    stale_object,
)

if TYPE_CHECKING:
    from invoicesync.targets.quickbooks.sandbox.company import Company


def read(company: Company) -> dict[str, Any]:
    meta = company.prefs_meta
    if not meta["CreateTime"]:
        meta["CreateTime"] = meta["LastUpdatedTime"] = company.stamp()
    prefs: dict[str, Any] = {
        "Id": "1",
        "SyncToken": meta["SyncToken"],
        "domain": "QBO",
        "sparse": False,
        "SalesFormsPrefs": {
            "CustomTxnNumbers": company.custom_txn_numbers,
            "AllowDeposit": True,
            "AllowDiscount": True,
        },
        "CurrencyPrefs": {
            "MultiCurrencyEnabled": company.multicurrency,
            "HomeCurrency": {"value": company.home_currency},
        },
        "TaxPrefs": {"UsingSalesTax": bool(company.entities["TaxCode"])},
        "MetaData": {
            "CreateTime": meta["CreateTime"],
            "LastUpdatedTime": meta["LastUpdatedTime"],
        },
    }
    if company.default_terms:
        prefs["SalesFormsPrefs"]["DefaultTerms"] = {
            "value": company.id_by_name("Term", company.default_terms)
        }
    return prefs


def update(company: Company, body: Mapping[str, Any]) -> dict[str, Any]:
    """Custom transaction numbers on or off; multicurrency on, never off again (QuickBooks
    does not allow turning it off)."""
    current = read(company)
    if "SyncToken" not in body:
        raise required_missing("SyncToken")
    if str(body["SyncToken"]) != current["SyncToken"]:
        raise stale_object("Preferences")
    sales = body.get("SalesFormsPrefs") or {}
    currency = body.get("CurrencyPrefs") or {}
    if "MultiCurrencyEnabled" in currency:
        wanted = currency["MultiCurrencyEnabled"] is True
        if company.multicurrency and not wanted:
            raise business_error("Multicurrency cannot be turned off once it is on.")
        company.multicurrency = wanted
    if "CustomTxnNumbers" in sales:
        company.custom_txn_numbers = sales["CustomTxnNumbers"] is True
    company.prefs_meta["SyncToken"] = str(int(current["SyncToken"]) + 1)
    company.prefs_meta["LastUpdatedTime"] = company.stamp()
    return read(company)


# What QuickBooks itself sets on CompanyInfo: an update keeps them as they are.
_INFO_READ_ONLY = ("Country", "SupportedLanguages")


def build_company_info(
    company: Company, data: dict[str, Any], *, allow_duplicate_doc: bool = False, updating: str = ""
) -> dict[str, Any]:
    """A full or sparse update of CompanyInfo (Intuit's CompanyInfo reference: a full update
    sends `CompanyName` and `CompanyAddr`). It is never created or deleted."""
    for key in ("CompanyName", "CompanyAddr"):
        if not data.get(key):
            raise required_missing(key)
    if not isinstance(data["CompanyName"], str) or not data["CompanyName"].strip():
        raise invalid_property("CompanyName must be text", "CompanyName")
    current = company.entities["CompanyInfo"][updating]
    for key in _INFO_READ_ONLY:
        data[key] = current[key]
    company.name = data["CompanyName"]
    return data
