"""Validation of request bodies, with the error codes B2BRouter documents.

Codes and statuses: https://docs.b2brouter.net/en/developers/essential-guides/error-codes/
(400 invalid_request_params for malformed JSON or wrong types; 422 parameter_blank,
parameter_inclusion, parameter_taken, parameter_cannot_change). Invoice fields: the create-invoice
reference (https://developer.b2brouter.net/reference/create-invoice) and the calculation guide
(https://docs.b2brouter.net/en/developers/common-use-cases/invoice-calculation/).
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from invoicesync.targets.b2brouter.sandbox.model import CONTACT_FIELDS, ApiError, Line

# EN 16931 VAT category codes (UNCL5305 subset) plus the extra codes the PHP SDK's reference
# lists for B2BRouter (H, AA, AAA, NS).
TAX_CATEGORIES = frozenset(
    {"S", "Z", "E", "AE", "K", "G", "O", "L", "M", "B", "H", "AA", "AAA", "NS"}
)
# EN 16931 BR-Z-05, BR-E-05, BR-AE-05, BR-IC-05, BR-G-05, BR-O-05: these carry a 0 rate.
# UNVERIFIED that B2BRouter refuses a non-zero rate at creation rather than at validation.
ZERO_RATE = frozenset({"Z", "E", "AE", "K", "G", "O", "NS"})
MAX_AMOUNT = Decimal(10) ** 12
MAX_TEXT = 4000


def bad(message: str) -> ApiError:
    return ApiError(400, "invalid_request_params", message)


def blank(field: str) -> ApiError:
    return ApiError(422, "parameter_blank", f"{field} can't be blank")


def json_body(raw: bytes) -> dict[str, Any]:
    try:
        data = json.loads(raw or b"{}", parse_float=Decimal)
    except (ValueError, UnicodeDecodeError):
        raise bad("the request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise bad("the request body must be a JSON object")
    return data


def wrapped(body: dict[str, Any], key: str) -> dict[str, Any]:
    inner = body.get(key)
    if not isinstance(inner, dict):
        raise bad(f"the body must contain a {key!r} object")
    return inner


def number(value: Any, field: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        raise bad(f"{field} must be a number")
    try:
        result = Decimal(value) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        raise bad(f"{field} must be a number") from None
    exponent = result.as_tuple().exponent
    if not isinstance(exponent, int) or exponent < -10 or abs(result) >= MAX_AMOUNT:
        raise bad(f"{field} is out of range")
    return result


def text(value: Any, field: str, *, required: bool = False) -> str | None:
    if value is None or value == "":
        if required:
            raise blank(field)
        return None
    if not isinstance(value, str):
        raise bad(f"{field} must be a string")
    if not value.strip():
        if required:
            raise blank(field)
        return None
    if len(value) > MAX_TEXT or any(ord(c) < 32 and c not in "\t\n\r" for c in value):
        raise bad(f"{field} is too long or contains control characters")
    return value


def iso_date(value: Any, field: str, *, required: bool = False) -> date | None:
    raw = text(value, field, required=required)
    if raw is None:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise bad(f"{field} must be a date (YYYY-MM-DD)") from None


def currency(value: Any, default: str) -> str:
    raw = text(value, "invoice.currency")
    if raw is None:
        return default
    if len(raw) != 3 or not raw.isascii() or not raw.isalpha():
        raise ApiError(422, "parameter_inclusion", "invoice.currency is not a valid ISO 4217 code")
    return raw.upper()


def tax(raw: Any, field: str) -> tuple[str, str, Decimal]:
    if not isinstance(raw, dict):
        raise bad(f"{field} must be an object")
    category = text(raw.get("category"), f"{field}.category", required=True)
    if category not in TAX_CATEGORIES:
        raise ApiError(422, "parameter_inclusion", f"{field}.category is not included in the list")
    if raw.get("percent") is None:
        # A tax is a percentage; an absolute (fixed-amount) tax has no place in taxes_attributes.
        raise blank(f"{field}.percent")
    percent = number(raw["percent"], f"{field}.percent")
    if category in ZERO_RATE and percent != 0:
        raise ApiError(422, "parameter_inclusion", f"{field}.percent must be 0 for {category}")
    name = text(raw.get("name"), f"{field}.name") or category
    return name, str(category), percent


def line(raw: Any, index: int, version: str) -> Line:
    field = f"invoice.invoice_lines_attributes[{index}]"
    if not isinstance(raw, dict):
        raise bad(f"{field} must be an object")
    if raw.get("quantity") is None:
        raise blank(f"{field}.quantity")
    if raw.get("price") is None:
        raise blank(f"{field}.price")
    base_quantity = Decimal(1)
    # base_quantity exists from API 2026-03-02 (migration guide v2025-10-13 -> v2026-03-02).
    if version >= "2026-03-02" and raw.get("base_quantity") is not None:
        base_quantity = number(raw["base_quantity"], f"{field}.base_quantity")
        if base_quantity <= 0:
            raise ApiError(422, "parameter_inclusion", f"{field}.base_quantity must be positive")
    taxes = raw.get("taxes_attributes")
    if not isinstance(taxes, list) or not taxes:
        # UNVERIFIED: EN 16931 BR-CO-04 requires a VAT category on every line; the sandbox
        # refuses a line without one when the invoice is created.
        raise blank(f"{field}.taxes_attributes")
    return Line(
        description=text(raw.get("description"), f"{field}.description", required=True) or "",
        quantity=number(raw["quantity"], f"{field}.quantity"),
        price=number(raw["price"], f"{field}.price"),
        base_quantity=base_quantity,
        taxes=[tax(t, f"{field}.taxes_attributes[{i}]") for i, t in enumerate(taxes)],
    )


def lines(raw: Any, version: str) -> list[Line]:
    if not isinstance(raw, list) or not raw:
        raise blank("invoice.invoice_lines_attributes")
    if len(raw) > 1000:
        raise bad("too many invoice lines")
    return [line(item, i, version) for i, item in enumerate(raw)]


def contact_fields(raw: dict[str, Any], prefix: str, *, require_email: bool) -> dict[str, Any]:
    """A contact's fields. Name and email are required on POST /contacts (PHP SDK
    ContactService::create); an inline invoice contact needs a name."""
    fields: dict[str, Any] = {}
    for key in CONTACT_FIELDS:
        value = raw.get(key)
        if key == "tin_scheme" and isinstance(value, int) and not isinstance(value, bool):
            value = str(value)  # B2BRouter's own examples answer the scheme as a number
        fields[key] = text(value, f"{prefix}.{key}")
    if fields["name"] is None:
        raise blank(f"{prefix}.name")
    if require_email and fields["email"] is None:
        raise blank(f"{prefix}.email")
    if fields["country"] is not None:
        fields["country"] = str(fields["country"]).lower()
    return fields


def credit_note(raw: dict[str, Any], version: str) -> tuple[bool, list[dict[str, str]]]:
    """`is_credit_note` and `invoice_references` of a created invoice. The references replaced
    `amended_number`/`amended_date` in API 2026-04-20 (its migration guide: `number`, `date`);
    a credit note must reference the invoice it corrects (EN 16931 BG-3, "preceding invoice
    reference", which B2BRouter's UBL and Facturae carry)."""
    flag = raw.get("is_credit_note", False)
    if not isinstance(flag, bool):
        raise bad("invoice.is_credit_note must be true or false")
    refs = raw.get("invoice_references")
    if refs is None:
        refs = []
    if not isinstance(refs, list) or len(refs) > 100:
        raise bad("invoice.invoice_references must be a list")
    if refs and version < "2026-04-20":
        raise bad("invoice.invoice_references needs API version 2026-04-20 or later")
    out = []
    for i, ref in enumerate(refs):
        field = f"invoice.invoice_references[{i}]"
        if not isinstance(ref, dict):
            raise bad(f"{field} must be an object")
        number = text(ref.get("number"), f"{field}.number", required=True) or ""
        day = iso_date(ref.get("date"), f"{field}.date")
        out.append({"number": number} | ({"date": day.isoformat()} if day else {}))
    if flag and not out and version >= "2026-04-20":
        raise blank("invoice.invoice_references")
    return flag, out
