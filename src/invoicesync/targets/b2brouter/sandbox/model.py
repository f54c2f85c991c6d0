"""The sandbox's data: accounts, API keys, contacts and invoices, loaded from seed files.

Shapes follow B2BRouter API 2026-04-20 as documented at https://developer.b2brouter.net/ and
https://docs.b2brouter.net/en/developers/ (see docs/b2brouter.md for the page per rule).
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

from invoicesync.targets.b2brouter.sandbox.money import (
    ROUNDING_METHODS,
    Calc,
    LineIn,
    Totals,
    compute,
)

API_VERSIONS = ("2025-10-13", "2026-03-02", "2026-04-20")
# Issued-invoice states. mark_as accepts the ones B2BRouter documents for it
# (https://developer.b2brouter.net/reference/mark-as-invoice); the others only B2BRouter itself
# (here: the admin hook) reaches. `sending` and `error` come from the list filters of the
# invoice listing (PHP SDK InvoiceService::all) and the SDK's state table.
STATES = (
    "new",
    "issued",
    "sending",
    "sent",
    "error",
    "refused",
    "accepted",
    "registered",
    "allegedly_paid",
    "paid",
    "closed",
)
MARK_AS_STATES = ("new", "sent", "accepted", "registered", "refused", "paid", "closed")
EDITABLE_STATES = ("new", "error")  # UNVERIFIED: update/delete after sending is refused (409)
SENDABLE_STATES = ("new", "error")  # UNVERIFIED: re-sending a sent invoice is refused (409)


class ApiError(Exception):
    """An error answer: `{"error": {"code", "message", "type"}}` with its HTTP status
    (https://docs.b2brouter.net/en/developers/essential-guides/error-codes/)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def body(self) -> dict[str, Any]:
        kind = "api_error" if self.status >= 500 else "invalid_request_error"
        return {"error": {"code": self.code, "message": self.message, "type": kind}}


def is_id(text: str) -> bool:
    """An id in a path: ASCII digits only (int() would take other scripts' digits too)."""
    return text.isascii() and text.isdigit() and len(text) < 19


def not_found(what: str) -> ApiError:
    return ApiError(404, "resource_missing", f"{what} not found or not accessible")


@dataclass
class ApiKey:
    key: str
    accounts: set[int]
    api_version: str | None = None  # the key group's default version
    expired: bool = False

    @property
    def environment(self) -> str:
        """Test keys start with `test_`: B2BRouter's sandbox on the same host."""
        return "test" if self.key.startswith("test_") else "production"


@dataclass
class Account:
    id: int
    name: str
    tin_value: str
    tin_scheme: str
    country: str
    currency: str
    environment: str
    calc: Calc

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "tin_value": self.tin_value,
            "tin_scheme": self.tin_scheme,
            "country": self.country,
            "currency": self.currency,
            "rounding_method": self.calc.rounding_method,
            "round_before_sum": self.calc.round_before_sum,
            "apply_taxes_per_line": self.calc.apply_taxes_per_line,
        }


CONTACT_FIELDS = (
    "name",
    "email",
    "tin_value",
    "tin_scheme",
    "cin_value",
    "cin_scheme",
    "country",
    "address",
    "city",
    "postalcode",
    "province",
    "integration_code",
    "transport_type_code",  # UNVERIFIED name; how the contact receives invoices (delivery.py)
)


@dataclass
class Contact:
    id: int
    account_id: int
    fields: dict[str, Any]
    is_client: bool = True
    is_provider: bool = True  # the default since API 2026-03-02 (PHP SDK ContactService)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id}
        data.update({k: self.fields.get(k) for k in CONTACT_FIELDS})
        data["is_client"], data["is_provider"] = self.is_client, self.is_provider
        return data

    def matches(self, text: str) -> bool:
        """The `name` search: "customer name, address, or VAT code" (PHP SDK ContactService).
        UNVERIFIED: case-insensitive substring."""
        needle = text.casefold()
        return any(
            needle in str(self.fields.get(k) or "").casefold()
            for k in ("name", "address", "tin_value")
        )


@dataclass
class Line:
    description: str
    quantity: Decimal
    price: Decimal
    base_quantity: Decimal
    taxes: list[tuple[str, str, Decimal]]


@dataclass
class Invoice:
    id: int
    account_id: int
    contact_id: int
    number: str
    date: dt.date
    due_date: dt.date | None
    currency: str
    lines: list[Line]
    state: str = "new"
    extra_info: str | None = None
    file_reference: str | None = None
    paid_date: dt.date | None = None
    created_at: str = ""
    updated_at: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    # A credit note (`is_credit_note`) and the invoices it corrects (`invoice_references`,
    # API 2026-04-20: number and date, https://docs.b2brouter.net/en/developers/upgrade-api/
    # from-v2026-03-02-to-v2026-04-20/).
    is_credit_note: bool = False
    references: list[dict[str, str]] = field(default_factory=list)

    def totals(self, calc: Calc) -> Totals:
        return compute(
            [LineIn(ln.quantity, ln.price, ln.base_quantity, tuple(ln.taxes)) for ln in self.lines],
            calc,
        )

    def to_json(self, calc: Calc, contact: Contact) -> dict[str, Any]:
        totals = self.totals(calc)
        lines = []
        for index, (line, amount) in enumerate(zip(self.lines, totals.line_amounts, strict=True)):
            lines.append(
                {
                    "id": self.id * 1000 + index + 1,
                    "description": line.description,
                    "quantity": line.quantity,
                    "price": line.price,
                    "base_quantity": line.base_quantity,
                    "extension_amount": amount,
                    "taxes": [{"name": n, "category": c, "percent": p} for n, c, p in line.taxes],
                }
            )
        return {
            "id": self.id,
            "type": "IssuedInvoice",
            "number": self.number,
            "date": self.date.isoformat(),
            "due_date": self.due_date.isoformat() if self.due_date else None,
            "currency": self.currency,
            "state": self.state,
            "contact_id": contact.id,
            "contact": {
                k: contact.fields.get(k) for k in ("name", "tin_value", "tin_scheme", "country")
            }
            | {"id": contact.id},
            "extra_info": self.extra_info,
            "file_reference": self.file_reference,
            "subtotal": totals.subtotal,
            "taxes": [
                {
                    "name": t.name,
                    "category": t.category,
                    "percent": t.percent,
                    "base": t.base,
                    "amount": t.amount,
                }
                for t in totals.taxes
            ],
            "tax_amount": totals.tax_total,
            "total": totals.total,
            "paid_date": self.paid_date.isoformat() if self.paid_date else None,
            "tax_report_ids": [],
            "is_credit_note": self.is_credit_note,
            "invoice_references": [dict(r) for r in self.references],
            "invoice_lines": lines,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


# --- seeds -----------------------------------------------------------------------------------


def builtin_seed(name: str) -> Path:
    path = Path(
        str(resources.files("invoicesync.targets.b2brouter.sandbox") / "accounts" / f"{name}.toml")
    )
    if not path.is_file():
        raise ValueError(f"no built-in B2BRouter sandbox account {name!r}")
    return path


def load_seed(path: Path) -> dict[str, Any]:
    with path.open("rb") as fh:
        return tomllib.load(fh)


def account_from_seed(seed: Mapping[str, Any]) -> Account:
    acc = seed["account"]
    method = str(acc.get("rounding_method", "half_up"))
    if method not in ROUNDING_METHODS:
        raise ValueError(f"unknown rounding_method {method!r}")
    environment = str(acc.get("environment", "test"))
    if environment not in {"test", "production"}:
        raise ValueError(f"environment must be test or production, not {environment!r}")
    return Account(
        id=int(acc["id"]),
        name=str(acc["name"]),
        tin_value=str(acc.get("tin_value", "")),
        tin_scheme=str(acc.get("tin_scheme", "")),
        country=str(acc.get("country", "es")),
        currency=str(acc.get("currency", "EUR")),
        environment=environment,
        calc=Calc(
            rounding_method=method,
            round_before_sum=bool(acc.get("round_before_sum", False)),
            apply_taxes_per_line=bool(acc.get("apply_taxes_per_line", False)),
        ),
    )
