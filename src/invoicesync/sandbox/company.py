"""One QuickBooks Online company: its entities, preferences and the business rules QBO applies.

Everything here follows `reference/quickbooks-api.md` §3–§5; where the reference says
UNVERIFIED, the choice made is listed in `docs/sandbox.md`. Amounts are `Decimal`; JSON
rendering happens in `app.py`.
"""

from __future__ import annotations

import copy
import json
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from invoicesync.sandbox import query as qlang

try:
    from zoneinfo import ZoneInfo

    PACIFIC: Any = ZoneInfo("America/Los_Angeles")
except Exception:  # pragma: no cover - platforms without a tz database
    PACIFIC = timezone(timedelta(hours=-8))

CENT = Decimal("0.01")
DOC_NUMBER_MAX = 21
CURRENCY_NAMES = {
    "USD": "United States Dollar",
    "EUR": "Euro",
    "GBP": "British Pound Sterling",
    "CAD": "Canadian Dollar",
    "AUD": "Australian Dollar",
    "CHF": "Swiss Franc",
    "JPY": "Japanese Yen",
}

ENTITY_NAMES = {
    "invoice": "Invoice",
    "customer": "Customer",
    "item": "Item",
    "term": "Term",
    "taxcode": "TaxCode",
    "taxrate": "TaxRate",
    "companyinfo": "CompanyInfo",
    "preferences": "Preferences",
}
WRITABLE = {"Invoice", "Customer", "Item", "Term"}

KNOWN_FIELDS: dict[str, set[str]] = {
    "Invoice": {
        "Id",
        "SyncToken",
        "MetaData",
        "DocNumber",
        "TxnDate",
        "DueDate",
        "CustomerRef",
        "SalesTermRef",
        "Line",
        "TxnTaxDetail",
        "CurrencyRef",
        "ExchangeRate",
        "CustomerMemo",
        "PrivateNote",
        "BillEmail",
        "TotalAmt",
        "Balance",
        "HomeTotalAmt",
        "HomeBalance",
        "EmailStatus",
        "PrintStatus",
        "GlobalTaxCalculation",
        "LinkedTxn",
        "Deposit",
        "ApplyTaxAfterDiscount",
        "domain",
        "sparse",
        "BillAddr",
        "ShipAddr",
    },
    "Customer": {
        "Id",
        "SyncToken",
        "MetaData",
        "DisplayName",
        "CompanyName",
        "GivenName",
        "FamilyName",
        "PrimaryEmailAddr",
        "Active",
        "Job",
        "ParentRef",
        "Level",
        "FullyQualifiedName",
        "CurrencyRef",
        "SalesTermRef",
        "Balance",
        "BalanceWithJobs",
        "Taxable",
        "DefaultTaxCodeRef",
        "PrintOnCheckName",
        "BillAddr",
        "domain",
        "sparse",
    },
    "Item": {
        "Id",
        "SyncToken",
        "MetaData",
        "Name",
        "Type",
        "Active",
        "UnitPrice",
        "Description",
        "IncomeAccountRef",
        "Taxable",
        "SalesTaxCodeRef",
        "FullyQualifiedName",
        "Sku",
        "domain",
        "sparse",
    },
    "Term": {
        "Id",
        "SyncToken",
        "MetaData",
        "Name",
        "Active",
        "Type",
        "DueDays",
        "domain",
        "sparse",
    },
    "TaxCode": {
        "Id",
        "SyncToken",
        "MetaData",
        "Name",
        "Description",
        "Active",
        "Taxable",
        "TaxGroup",
        "SalesTaxRateList",
        "Hidden",
        "domain",
        "sparse",
    },
    "TaxRate": {
        "Id",
        "SyncToken",
        "MetaData",
        "Name",
        "RateValue",
        "Active",
        "AgencyRef",
        "Description",
        "domain",
        "sparse",
    },
    "CompanyInfo": {"Id", "SyncToken", "MetaData", "CompanyName", "Country", "CompanyAddr"},
    "Preferences": {"Id", "SyncToken", "MetaData", "SalesFormsPrefs", "CurrencyPrefs", "TaxPrefs"},
}


class Fault(Exception):
    """A QBO Fault: rendered as `{"Fault": {"Error": [...], "type": ...}}` with `status`."""

    def __init__(
        self,
        code: str,
        message: str,
        detail: str,
        *,
        status: int = 400,
        fault_type: str = "ValidationFault",
        element: str = "",
    ) -> None:
        super().__init__(detail)
        self.code = code
        self.message = message
        self.detail = detail
        self.status = status
        self.fault_type = fault_type
        self.element = element

    def body(self) -> dict[str, Any]:
        return {
            "Fault": {
                "Error": [
                    {
                        "Message": self.message,
                        "Detail": self.detail,
                        "code": self.code,
                        "element": self.element,
                    }
                ],
                "type": self.fault_type,
            }
        }


def required_missing(what: str) -> Fault:
    return Fault(
        "2020",
        "Required param missing, need to supply the required value for the API",
        f"Required parameter {what} is missing in the request",
    )


def invalid_reference(kind: str, ref: str) -> Fault:
    return Fault(
        "2500", "Invalid Reference Id", f"Invalid Reference Id : {kind} element id {ref} not found"
    )


def inactive_reference() -> Fault:
    return Fault(
        "610",
        "Object Not Found",
        "Object Not Found : Something you're trying to use has been made inactive. Check the "
        "fields with accounts, customers, items, vendors or employees.",
    )


def deleted_object() -> Fault:
    return Fault(
        "610", "Object Not Found", "Object Not Found : Another user has deleted this transaction."
    )


def business_error(detail: str) -> Fault:
    return Fault(
        "6000",
        "A business validation error has occurred while processing your request",
        f"Business Validation Error: {detail}",
    )


def q2(value: Decimal) -> Decimal:
    """QBO's rounding: half-up to cents."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def to_decimal(value: Any, field: str) -> Decimal:
    if isinstance(value, bool) or value is None:
        raise Fault("2010", "Request has invalid or unsupported property", f"{field} is invalid")
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise Fault(
            "2010", "Request has invalid or unsupported property", f"{field} is invalid"
        ) from None


def _ref(value: Any) -> str | None:
    if isinstance(value, Mapping) and value.get("value") not in (None, ""):
        return str(value["value"])
    return None


def _has_name(entity: Mapping[str, Any]) -> bool:
    return any(
        entity.get(k)
        for k in ("DisplayName", "Title", "GivenName", "MiddleName", "FamilyName", "Suffix")
    )


class Company:
    """Entity store and rules of one realm. Not thread-safe: `app.Sandbox` serialises access."""

    def __init__(self, seed: Mapping[str, Any], now: Callable[[], datetime]) -> None:
        info = seed.get("company", {})
        self.realm_id = str(info.get("realm_id", "9130350000000001"))
        self.name = str(info.get("name", "Sandbox Company"))
        self.country = str(info.get("country", "US"))
        self.home_currency = str(info.get("home_currency", "USD"))
        self.custom_txn_numbers = bool(info.get("custom_txn_numbers", True))
        self.multicurrency = bool(info.get("multicurrency", False))
        self.next_doc_number = int(info.get("next_doc_number", 1001))
        self.default_terms: str | None = info.get("default_terms")
        self.exchange_rates = {
            str(k): Decimal(str(v)) for k, v in info.get("exchange_rates", {}).items()
        }
        self._now = now
        self.entities: dict[str, dict[str, dict[str, Any]]] = {k: {} for k in KNOWN_FIELDS}
        self.deleted: list[tuple[str, str, str]] = []  # (entity, id, LastUpdatedTime)
        self._docs: dict[str, list[str]] = {}  # DocNumber -> invoice ids (the 6140 check)
        self._next_id: dict[str, int] = {}
        self._seed(seed)

    # --- seeding ------------------------------------------------------------------------

    def _seed(self, seed: Mapping[str, Any]) -> None:
        now = self._stamp()
        self.entities["CompanyInfo"]["1"] = {
            "Id": "1",
            "SyncToken": "0",
            "domain": "QBO",
            "sparse": False,
            "CompanyName": self.name,
            "LegalName": self.name,
            "Country": self.country,
            "CompanyAddr": {"Country": {"US": "USA", "GB": "GBR"}.get(self.country, self.country)},
            "SupportedLanguages": "en",
            "MetaData": {"CreateTime": now, "LastUpdatedTime": now},
        }
        for rate in seed.get("tax_rates", []):
            rid = self._new_id("TaxRate")
            self.entities["TaxRate"][rid] = self._stamped(
                {
                    "Id": rid,
                    "Name": rate["name"],
                    "RateValue": Decimal(str(rate["rate"])),
                    "Active": True,
                    "Description": rate.get("description", rate["name"]),
                }
            )
        rates_by_name = {r["Name"]: r["Id"] for r in self.entities["TaxRate"].values()}
        for code in seed.get("tax_codes", []):
            cid = str(code.get("id") or self._new_id("TaxCode"))
            details = [
                {
                    "TaxRateRef": {"value": rates_by_name[n], "name": n},
                    "TaxTypeApplicable": "TaxOnAmount",
                    "TaxOrder": 0,
                }
                for n in code.get("rates", [])
            ]
            self.entities["TaxCode"][cid] = self._stamped(
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
        for term in seed.get("terms", []):
            self.create(
                "Term",
                {
                    "Name": term["name"],
                    "DueDays": term.get("due_days", 0),
                    "Active": term.get("active", True),
                },
            )
        for item in seed.get("items", []):
            body: dict[str, Any] = {
                "Name": item["name"],
                "Type": item.get("type", "Service"),
                "Active": item.get("active", True),
            }
            if "unit_price" in item:
                body["UnitPrice"] = Decimal(str(item["unit_price"]))
            if "description" in item:
                body["Description"] = item["description"]
            self.create("Item", body)
        for cust in seed.get("customers", []):
            body = {"DisplayName": cust["name"], "Active": cust.get("active", True)}
            if cust.get("email"):
                body["PrimaryEmailAddr"] = {"Address": cust["email"]}
            if cust.get("currency"):
                body["CurrencyRef"] = {"value": cust["currency"]}
            if cust.get("terms"):
                body["SalesTermRef"] = {"value": self._id_by_name("Term", cust["terms"])}
            if cust.get("parent"):
                parent = self._customer_by_fqn(cust["parent"])
                body["ParentRef"] = {"value": parent["Id"]}
                body["Job"] = True
            active = body.pop("Active")
            created = self.create("Customer", body)
            self.entities["Customer"][created["Id"]]["Active"] = active
        for inv in seed.get("invoices", []):
            self._seed_invoice(inv)

    def _seed_invoice(self, inv: Mapping[str, Any]) -> None:
        cust = self._customer_by_fqn(inv["customer"])
        lines = []
        for line in inv.get("lines", []):
            qty, price = Decimal(str(line["quantity"])), Decimal(str(line["unit_price"]))
            detail: dict[str, Any] = {
                "ItemRef": {"value": self._id_by_name("Item", line["service"])},
                "Qty": qty,
                "UnitPrice": price,
            }
            if line.get("tax"):
                detail["TaxCodeRef"] = {"value": self._tax_code_id(line["tax"])}
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
        self.create("Invoice", body)

    def _tax_code_id(self, name: str) -> str:
        for code in self.entities["TaxCode"].values():
            if code["Name"] == name:
                return str(code["Id"])
        raise KeyError(f"seed refers to unknown tax code {name!r}")

    def _id_by_name(self, kind: str, name: str) -> str:
        for entity in self.entities[kind].values():
            if entity.get("Name") == name:
                return str(entity["Id"])
        raise KeyError(f"seed refers to unknown {kind} {name!r}")

    def _customer_by_fqn(self, fqn: str) -> dict[str, Any]:
        for entity in self.entities["Customer"].values():
            if entity.get("FullyQualifiedName") == fqn:
                return entity
        raise KeyError(f"seed refers to unknown customer {fqn!r}")

    # --- helpers --------------------------------------------------------------------------

    def _stamp(self) -> str:
        return self._now().astimezone(PACIFIC).isoformat(timespec="seconds")

    def today(self) -> date:
        return self._now().astimezone(PACIFIC).date()

    def _new_id(self, kind: str) -> str:
        n = self._next_id.get(kind, 1)
        while str(n) in self.entities[kind]:
            n += 1
        self._next_id[kind] = n + 1
        return str(n)

    def _stamped(self, entity: dict[str, Any]) -> dict[str, Any]:
        now = self._stamp()
        entity.setdefault("SyncToken", "0")
        entity["domain"] = "QBO"
        entity["sparse"] = False
        entity["MetaData"] = {"CreateTime": now, "LastUpdatedTime": now}
        return entity

    def _touch(self, entity: dict[str, Any]) -> None:
        entity["SyncToken"] = str(int(entity["SyncToken"]) + 1)
        entity["MetaData"]["LastUpdatedTime"] = self._stamp()

    def preferences(self) -> dict[str, Any]:
        now = self._stamp()
        prefs: dict[str, Any] = {
            "Id": "1",
            "SyncToken": "0",
            "domain": "QBO",
            "sparse": False,
            "SalesFormsPrefs": {
                "CustomTxnNumbers": self.custom_txn_numbers,
                "AllowDeposit": True,
                "AllowDiscount": True,
            },
            "CurrencyPrefs": {
                "MultiCurrencyEnabled": self.multicurrency,
                "HomeCurrency": {"value": self.home_currency},
            },
            "TaxPrefs": {"UsingSalesTax": bool(self.entities["TaxCode"])},
            "MetaData": {"CreateTime": now, "LastUpdatedTime": now},
        }
        if self.default_terms:
            prefs["SalesFormsPrefs"]["DefaultTerms"] = {
                "value": self._id_by_name("Term", self.default_terms)
            }
        return prefs

    def rows(self, entity: str) -> list[dict[str, Any]]:
        if entity == "Preferences":
            return [self.preferences()]
        return list(self.entities[entity].values())

    def query(self, text: str) -> tuple[str, list[dict[str, Any]], int, qlang.Query]:
        parsed = qlang.parse(text)
        if parsed.entity not in KNOWN_FIELDS:
            raise qlang.validation_error(f"Entity {parsed.entity} not found")
        page, total = qlang.execute(parsed, self.rows(parsed.entity), KNOWN_FIELDS[parsed.entity])
        return parsed.entity, [copy.deepcopy(dict(r)) for r in page], total, parsed

    def read(self, entity: str, entity_id: str) -> dict[str, Any]:
        if entity == "Preferences":
            return self.preferences()
        found = self.entities[entity].get(entity_id)
        if found is None:
            if any(e == entity and i == entity_id for e, i, _ in self.deleted):
                raise deleted_object()
            raise Fault(
                "610",
                "Object Not Found",
                f"Object Not Found : Something you're trying to use has been made inactive or "
                f"does not exist: {entity} {entity_id}",
            )
        return copy.deepcopy(found)

    # --- writes ---------------------------------------------------------------------------

    def create(
        self, entity: str, body: Mapping[str, Any], *, allow_duplicate_doc: bool = False
    ) -> dict[str, Any]:
        if entity not in WRITABLE:
            raise Fault(
                "500", "Unsupported Operation", f"Operation create on {entity} is not supported."
            )
        data = copy.deepcopy(dict(body))
        data.pop("Id", None)
        data.pop("SyncToken", None)
        builder = getattr(self, f"_build_{entity.lower()}")
        built: dict[str, Any] = builder(data, allow_duplicate_doc=allow_duplicate_doc)
        built["Id"] = self._new_id(entity)
        self._stamped(built)
        self.entities[entity][built["Id"]] = built
        self._index(entity, None, built)
        return copy.deepcopy(built)

    def _index(
        self, entity: str, old: Mapping[str, Any] | None, new: Mapping[str, Any] | None
    ) -> None:
        if entity != "Invoice":
            return
        if old is not None and old.get("DocNumber"):
            ids = self._docs.get(old["DocNumber"], [])
            if old["Id"] in ids:
                ids.remove(old["Id"])
            if not ids:
                self._docs.pop(old["DocNumber"], None)
        if new is not None and new.get("DocNumber"):
            self._docs.setdefault(new["DocNumber"], []).append(new["Id"])

    def update(
        self, entity: str, body: Mapping[str, Any], *, allow_duplicate_doc: bool = False
    ) -> dict[str, Any]:
        entity_id = str(body.get("Id") or "")
        if not entity_id:
            raise required_missing("Id")
        if "SyncToken" not in body:
            raise required_missing("SyncToken")
        current = self.entities[entity].get(entity_id)
        if current is None:
            self.read(entity, entity_id)  # raises the right 610
            raise AssertionError("unreachable")
        self._check_sync_token(entity, current, body)
        if body.get("sparse") is True:
            merged = copy.deepcopy(current)
            for key, value in body.items():
                if key not in {"Id", "SyncToken", "sparse", "MetaData", "domain"}:
                    merged[key] = copy.deepcopy(value)
        else:
            merged = {k: copy.deepcopy(v) for k, v in body.items() if k != "MetaData"}
        # Server-computed fields are recomputed from the writable ones.
        for computed in ("TotalAmt", "Balance", "HomeTotalAmt", "HomeBalance"):
            if entity == "Invoice":
                merged.pop(computed, None)
        if entity == "Invoice":
            merged["Line"] = [
                ln for ln in merged.get("Line", []) if ln.get("DetailType") != "SubTotalLineDetail"
            ]
        builder = getattr(self, f"_build_{entity.lower()}")
        rebuilt: dict[str, Any] = builder(
            merged, allow_duplicate_doc=allow_duplicate_doc, updating=entity_id
        )
        if entity == "Invoice":
            paid = current["TotalAmt"] - current["Balance"]
            rebuilt["Balance"] = max(rebuilt["TotalAmt"] - paid, Decimal("0.00"))
            if current.get("LinkedTxn"):
                rebuilt["LinkedTxn"] = current["LinkedTxn"]
        rebuilt["Id"] = entity_id
        rebuilt["SyncToken"] = current["SyncToken"]
        rebuilt["MetaData"] = dict(current["MetaData"])
        rebuilt["domain"], rebuilt["sparse"] = "QBO", False
        self._touch(rebuilt)
        self._index(entity, current, rebuilt)
        self.entities[entity][entity_id] = rebuilt
        return copy.deepcopy(rebuilt)

    def _check_sync_token(
        self, entity: str, current: Mapping[str, Any], body: Mapping[str, Any]
    ) -> None:
        if str(body.get("SyncToken")) != current["SyncToken"]:
            raise Fault(
                "5010",
                "Stale Object Error",
                f"Stale Object Error : You and root were working on this at the same time. root "
                f"finished before you did, so your work was not saved. Entity={entity}",
            )

    def void(self, body: Mapping[str, Any]) -> dict[str, Any]:
        entity_id = str(body.get("Id") or "")
        if not entity_id:
            raise required_missing("Id")
        if "SyncToken" not in body:
            raise required_missing("SyncToken")
        current = self.entities["Invoice"].get(entity_id)
        if current is None:
            self.read("Invoice", entity_id)
            raise AssertionError("unreachable")
        self._check_sync_token("Invoice", current, body)
        # UNVERIFIED representation of a voided invoice: amounts zeroed, PrivateNote "Voided".
        for line in current["Line"]:
            line["Amount"] = Decimal("0.00")
            detail = line.get("SalesItemLineDetail")
            if detail and "Qty" in detail:
                detail["Qty"] = Decimal("0")
        current["TotalAmt"] = Decimal("0.00")
        current["Balance"] = Decimal("0.00")
        current["TxnTaxDetail"] = {"TotalTax": Decimal("0.00")}
        current["PrivateNote"] = "Voided"
        if "HomeTotalAmt" in current:
            current["HomeTotalAmt"] = Decimal("0.00")
            current["HomeBalance"] = Decimal("0.00")
        self._touch(current)
        return copy.deepcopy(current)

    def delete(self, entity: str, body: Mapping[str, Any]) -> dict[str, Any]:
        entity_id = str(body.get("Id") or "")
        if not entity_id:
            raise required_missing("Id")
        if "SyncToken" not in body:
            raise required_missing("SyncToken")
        current = self.entities[entity].get(entity_id)
        if current is None:
            self.read(entity, entity_id)
            raise AssertionError("unreachable")
        self._check_sync_token(entity, current, body)
        del self.entities[entity][entity_id]
        self._index(entity, current, None)
        self.deleted.append((entity, entity_id, self._stamp()))
        return {"domain": "QBO", "status": "Deleted", "Id": entity_id}

    def record_payment(self, invoice_id: str, amount: Decimal | None = None) -> dict[str, Any]:
        """Apply a payment (admin helper: payments are outside invoicesync's API surface)."""
        current = self.entities["Invoice"].get(invoice_id)
        if current is None:
            self.read("Invoice", invoice_id)
            raise AssertionError("unreachable")
        pay = current["Balance"] if amount is None else min(amount, current["Balance"])
        current["Balance"] = current["Balance"] - pay
        current.setdefault("LinkedTxn", []).append(
            {"TxnId": str(900000 + len(current["LinkedTxn"])), "TxnType": "Payment"}
        )
        self._touch(current)
        return copy.deepcopy(current)

    def changed_since(self, entities: Iterable[str], since: datetime) -> dict[str, list[Any]]:
        out: dict[str, list[Any]] = {}
        for name in entities:
            rows: list[Any] = [
                copy.deepcopy(e)
                for e in self.entities.get(name, {}).values()
                if datetime.fromisoformat(e["MetaData"]["LastUpdatedTime"]) >= since
            ]
            rows += [
                {"domain": "QBO", "status": "Deleted", "Id": i, "MetaData": {"LastUpdatedTime": t}}
                for e, i, t in self.deleted
                if e == name and datetime.fromisoformat(t) >= since
            ]
            out[name] = rows
        return out

    # --- entity builders ------------------------------------------------------------------

    def _check_name(self, value: str, entity: str) -> None:
        if ":" in value:
            raise Fault(
                "2040",
                "Invalid String",
                "Element contains invalid characters.",
                element="DisplayName" if entity == "Customer" else "Name",
            )

    def _build_customer(
        self, data: dict[str, Any], *, allow_duplicate_doc: bool = False, updating: str = ""
    ) -> dict[str, Any]:
        if not _has_name(data):
            raise Fault(
                "6080",
                "No Name Provided",
                "Title, GivenName, MiddleName, FamilyName, DisplayName, Suffix - one of these "
                "must be non-empty",
            )
        display = data.get("DisplayName") or " ".join(
            str(data[k])
            for k in ("Title", "GivenName", "MiddleName", "FamilyName", "Suffix")
            if data.get(k)
        )
        self._check_name(display, "Customer")
        for other in self.entities["Customer"].values():
            if other["Id"] != updating and other["DisplayName"].casefold() == display.casefold():
                raise Fault(
                    "6240",
                    "Duplicate Name Exists Error",
                    "The name supplied already exists. : Another customer, vendor or employee "
                    "is already using this \\nname. Please use a different name.",
                )
        data["DisplayName"] = display
        data.setdefault("Active", True)
        data.setdefault("PrintOnCheckName", display)
        parent_id = _ref(data.get("ParentRef"))
        if parent_id:
            parent = self.entities["Customer"].get(parent_id)
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
        currency = _ref(data.get("CurrencyRef")) or self.home_currency
        if currency != self.home_currency and not self.multicurrency:
            raise business_error("Multicurrency is not enabled for this company.")
        data["CurrencyRef"] = {"value": currency, "name": CURRENCY_NAMES.get(currency, currency)}
        term_id = _ref(data.get("SalesTermRef"))
        if term_id and term_id not in self.entities["Term"]:
            raise invalid_reference("Term", term_id)
        data.setdefault("Balance", Decimal("0.00"))
        data.setdefault("BalanceWithJobs", Decimal("0.00"))
        return data

    def _build_item(
        self, data: dict[str, Any], *, allow_duplicate_doc: bool = False, updating: str = ""
    ) -> dict[str, Any]:
        name = data.get("Name")
        if not name:
            raise required_missing("Name")
        self._check_name(str(name), "Item")
        for other in self.entities["Item"].values():
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

    def _build_term(
        self, data: dict[str, Any], *, allow_duplicate_doc: bool = False, updating: str = ""
    ) -> dict[str, Any]:
        if not data.get("Name"):
            raise required_missing("Name")
        data.setdefault("Active", True)
        data["Type"] = "STANDARD"
        data["DueDays"] = int(data.get("DueDays", 0))
        return data

    def _build_invoice(
        self, data: dict[str, Any], *, allow_duplicate_doc: bool = False, updating: str = ""
    ) -> dict[str, Any]:
        cust_id = _ref(data.get("CustomerRef"))
        if not cust_id:
            raise required_missing("CustomerRef")
        lines = data.get("Line")
        if not isinstance(lines, list) or not lines:
            raise required_missing("Line")
        customer = self.entities["Customer"].get(cust_id)
        if customer is None:
            raise invalid_reference("Names", cust_id)
        if not customer.get("Active", True):
            raise inactive_reference()
        data["CustomerRef"] = {"value": cust_id, "name": customer["DisplayName"]}

        currency = _ref(data.get("CurrencyRef")) or customer["CurrencyRef"]["value"]
        if currency != self.home_currency and not self.multicurrency:
            raise business_error(
                f"You can't use {currency} because multicurrency is not turned on for this company."
            )
        if currency != customer["CurrencyRef"]["value"]:
            raise business_error(
                f"The currency of the transaction ({currency}) must match the currency of the "
                f"customer ({customer['CurrencyRef']['value']})."
            )
        data["CurrencyRef"] = {"value": currency, "name": CURRENCY_NAMES.get(currency, currency)}
        if currency != self.home_currency:
            rate = data.get("ExchangeRate")
            data["ExchangeRate"] = (
                to_decimal(rate, "ExchangeRate")
                if rate is not None
                else self.exchange_rates.get(currency, Decimal("1"))
            )
        else:
            data.pop("ExchangeRate", None)

        doc = data.get("DocNumber")
        if doc == "AUTO_GENERATE" or (doc in (None, "") and not self.custom_txn_numbers):
            doc = self._next_doc()
        if doc not in (None, ""):
            doc = str(doc)
            if len(doc) > DOC_NUMBER_MAX:
                raise Fault(
                    "2050",
                    "Length exceeds limit",
                    f"Length of the field exceeds {DOC_NUMBER_MAX} chars",
                    element="DocNumber",
                )
            owners = [i for i in self._docs.get(doc, []) if i != updating]
            if owners and not allow_duplicate_doc:
                raise Fault(
                    "6140",
                    "Duplicate Document Number Error",
                    "Duplicate Document Number Error : You must specify a different "
                    "number. This number has already been used. "
                    f"DocNumber={doc} is assigned to TxnType=Invoice with "
                    f"TxnId={owners[0]}",
                )
            data["DocNumber"] = doc
            self._bump_doc_sequence(doc)
        else:
            data.pop("DocNumber", None)

        txn_date = data.get("TxnDate") or self.today().isoformat()
        try:
            date.fromisoformat(str(txn_date))
        except ValueError:
            raise Fault(
                "2010",
                "Request has invalid or unsupported property",
                f"TxnDate is invalid: {txn_date}",
            ) from None
        data["TxnDate"] = txn_date
        term_id = _ref(data.get("SalesTermRef"))
        if term_id is None:
            term_id = _ref(customer.get("SalesTermRef"))
            if term_id is None and self.default_terms:
                term_id = self._id_by_name("Term", self.default_terms)
        if term_id is not None:
            term = self.entities["Term"].get(term_id)
            if term is None:
                raise invalid_reference("Term", term_id)
            if not term.get("Active", True):
                raise inactive_reference()
            data["SalesTermRef"] = {"value": term_id, "name": term["Name"]}
        if not data.get("DueDate"):
            days = self.entities["Term"][term_id]["DueDays"] if term_id else 0
            data["DueDate"] = (date.fromisoformat(txn_date) + timedelta(days=days)).isoformat()

        self._build_lines_and_tax(data)
        data.setdefault("EmailStatus", "NotSet")
        data.setdefault("PrintStatus", "NotSet")
        data.setdefault("Deposit", Decimal("0"))
        data.setdefault("LinkedTxn", [])
        data.setdefault("ApplyTaxAfterDiscount", False)
        data["Balance"] = data["TotalAmt"]
        if "ExchangeRate" in data:
            data["HomeTotalAmt"] = q2(data["TotalAmt"] * data["ExchangeRate"])
            data["HomeBalance"] = data["HomeTotalAmt"]
        return data

    def _next_doc(self) -> str:
        while str(self.next_doc_number) in self._docs:
            self.next_doc_number += 1
        value = str(self.next_doc_number)
        self.next_doc_number += 1
        return value

    def _bump_doc_sequence(self, doc: str) -> None:
        # QBO continues any numeric suffix it sees (quickbooks-api.md §3.4); we follow plain
        # numbers only, which is what the auto-sequence produces.
        if doc.isdigit() and int(doc) >= self.next_doc_number:
            self.next_doc_number = int(doc) + 1

    def _build_lines_and_tax(self, data: dict[str, Any]) -> None:
        us = self.country == "US"
        out: list[dict[str, Any]] = []
        subtotal = Decimal("0.00")
        by_code: dict[str, Decimal] = {}
        line_no = 0
        for raw in data["Line"]:
            line = dict(raw)
            kind = line.get("DetailType")
            if kind == "DescriptionOnly":
                line_no += 1
                line.update({"Id": str(line_no), "LineNum": line_no})
                line.setdefault("DescriptionLineDetail", {})
                out.append(line)
                continue
            if kind != "SalesItemLineDetail":
                raise Fault(
                    "2010",
                    "Request has invalid or unsupported property",
                    f"Unsupported line DetailType: {kind}",
                )
            detail = dict(line.get("SalesItemLineDetail") or {})
            item_id = _ref(detail.get("ItemRef"))
            if not item_id:
                raise required_missing("ItemRef")
            item = self.entities["Item"].get(item_id)
            if item is None:
                raise invalid_reference("Item", item_id)
            if not item.get("Active", True):
                raise inactive_reference()
            detail["ItemRef"] = {"value": item_id, "name": item["Name"]}
            qty = to_decimal(detail["Qty"], "Qty") if "Qty" in detail else None
            price = to_decimal(detail["UnitPrice"], "UnitPrice") if "UnitPrice" in detail else None
            if price is None and qty is not None and "UnitPrice" in item:
                price = item["UnitPrice"]
            amount = to_decimal(line["Amount"], "Amount") if "Amount" in line else None
            if qty is not None and price is not None:
                expected = q2(qty * price)
                if amount is None:
                    amount = expected
                elif q2(amount) != expected:
                    raise Fault(
                        "6070",
                        "Amount calculation incorrect in the request",
                        f"Amount is not equal to UnitPrice * Qty. Supplied value:{amount:,}",
                    )
            if amount is None:
                raise required_missing("Amount")
            if qty is not None:
                detail["Qty"] = qty
            if price is not None:
                detail["UnitPrice"] = price
            code = _ref(detail.get("TaxCodeRef"))
            if us:
                code = code or "NON"
                if code not in {"TAX", "NON"}:
                    raise Fault(
                        "6100",
                        "Invalid Line TaxCode in the request",
                        f"Valid Line TaxCodes for US should be TAX or NON. Supplied value:{code}",
                    )
            else:
                if code is None:
                    raise business_error(
                        "Make sure all your transactions have a VAT rate before you save."
                    )
                found = self.entities["TaxCode"].get(code)
                if found is None:
                    raise invalid_reference("TaxCode", code)
                if not found.get("Active", True):
                    raise inactive_reference()
            detail["TaxCodeRef"] = {"value": code}
            line_no += 1
            line.update(
                {
                    "Id": str(line_no),
                    "LineNum": line_no,
                    "Amount": q2(amount),
                    "SalesItemLineDetail": detail,
                }
            )
            subtotal += q2(amount)
            by_code[code] = by_code.get(code, Decimal("0.00")) + q2(amount)
            out.append(line)
        out.append(
            {"Amount": subtotal, "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}}
        )
        data["Line"] = out
        tax_lines: list[dict[str, Any]] = []
        total_tax = Decimal("0.00")
        inclusive = data.get("GlobalTaxCalculation") == "TaxInclusive"
        if us:
            data.pop("GlobalTaxCalculation", None)
            detail_in = data.get("TxnTaxDetail") or {}
            txn_code = _ref(detail_in.get("TxnTaxCodeRef"))
            txn_tax: dict[str, Any] = {}
            if txn_code:
                code_entity = self.entities["TaxCode"].get(txn_code)
                if code_entity is None:
                    raise invalid_reference("TaxCode", txn_code)
                txn_tax["TxnTaxCodeRef"] = {"value": txn_code}
                taxable = by_code.get("TAX", Decimal("0.00"))
                for rate_detail in code_entity["SalesTaxRateList"]["TaxRateDetail"]:
                    tax_lines.append(self._tax_line(rate_detail, taxable, inclusive=False))
            total_tax = sum((t["Amount"] for t in tax_lines), Decimal("0.00"))
            txn_tax["TotalTax"] = total_tax
            if tax_lines:
                txn_tax["TaxLine"] = tax_lines
            data["TxnTaxDetail"] = txn_tax
        else:
            data["GlobalTaxCalculation"] = "TaxInclusive" if inclusive else "TaxExcluded"
            for code, net in by_code.items():
                for rate_detail in self.entities["TaxCode"][code]["SalesTaxRateList"][
                    "TaxRateDetail"
                ]:
                    tax_lines.append(self._tax_line(rate_detail, net, inclusive=inclusive))
            total_tax = sum((t["Amount"] for t in tax_lines), Decimal("0.00"))
            data["TxnTaxDetail"] = {"TotalTax": total_tax}
            if tax_lines:
                data["TxnTaxDetail"]["TaxLine"] = tax_lines
        data["TotalAmt"] = subtotal if inclusive else subtotal + total_tax

    def _tax_line(self, rate_detail: Mapping[str, Any], net: Decimal, *, inclusive: bool) -> Any:
        rate = self.entities["TaxRate"][rate_detail["TaxRateRef"]["value"]]["RateValue"]
        if inclusive:
            base = q2(net / (1 + rate / 100))
            amount = net - base
        else:
            base = net
            amount = q2(net * rate / 100)
        return {
            "Amount": amount,
            "DetailType": "TaxLineDetail",
            "TaxLineDetail": {
                "TaxRateRef": {"value": rate_detail["TaxRateRef"]["value"]},
                "PercentBased": True,
                "TaxPercent": rate,
                "NetAmountTaxable": base,
            },
        }


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
