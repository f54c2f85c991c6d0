"""Reading values out of request bodies: amounts (half-up to cents) and references."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from invoicesync.targets.quickbooks.sandbox.errors import invalid_property

CENT = Decimal("0.01")


def q2(value: Decimal) -> Decimal:
    """QBO's rounding: half-up to cents."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def to_decimal(value: Any, field: str) -> Decimal:
    if isinstance(value, bool) or value is None:
        raise invalid_property(f"{field} is invalid")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise invalid_property(f"{field} is invalid") from None
    if not number.is_finite() or abs(number.adjusted()) > 20:
        raise invalid_property(f"{field} is invalid: {value}")
    return number


def mapping(value: Any, field: str) -> dict[str, Any]:
    """An object-valued property (None counts as empty); anything else is 2010."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise invalid_property(f"{field} must be an object", field)
    return dict(value)


def listing(value: Any, field: str) -> list[dict[str, Any]]:
    """A list of objects (None counts as empty); anything else is 2010."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        raise invalid_property(f"{field} must be a list of objects", field)
    return [dict(v) for v in value]


def ref(value: Any) -> str | None:
    """The id of a reference (`{"value": "42", "name": …}`), None when absent or empty."""
    if isinstance(value, Mapping) and value.get("value") not in (None, ""):
        return str(value["value"])
    return None
