"""Reading values out of request bodies: amounts (half-up to cents) and references."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from invoicesync.sandbox.errors import invalid_property

CENT = Decimal("0.01")


def q2(value: Decimal) -> Decimal:
    """QBO's rounding: half-up to cents."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def to_decimal(value: Any, field: str) -> Decimal:
    if isinstance(value, bool) or value is None:
        raise invalid_property(f"{field} is invalid")
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise invalid_property(f"{field} is invalid") from None


def ref(value: Any) -> str | None:
    """The id of a reference (`{"value": "42", "name": …}`), None when absent or empty."""
    if isinstance(value, Mapping) and value.get("value") not in (None, ""):
        return str(value["value"])
    return None
