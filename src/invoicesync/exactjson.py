"""JSON with exact decimals: amounts are read as `Decimal` and written back as plain JSON
numbers with the same digits, never through float and never as strings. Targets that take
amounts as JSON numbers send with it, and a dry run shows their payloads with it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

_FIXED_POINT_DIGITS = 100  # beyond this many zeros a number is written with an exponent


def number(value: Decimal) -> str:
    """A finite Decimal as a JSON number that `json.loads(parse_float=Decimal)` reads back
    with the same value (and, when it has decimal places, the same digits)."""
    if not value.is_finite():
        raise ValueError(f"{value} cannot be sent: JSON has no such number")
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)
    if -_FIXED_POINT_DIGITS <= exponent <= _FIXED_POINT_DIGITS:
        return format(value, "f")
    # JSON allows an exponent (`1E+400`, `1.5E-120`); str(Decimal) writes exactly that form.
    return str(value)


def _encode(data: Any, indent: str | None, depth: int) -> str:
    if isinstance(data, Decimal):
        return number(data)
    if isinstance(data, Mapping):
        items = [
            f"{json.dumps(str(k), ensure_ascii=False)}: {_encode(v, indent, depth + 1)}"
            for k, v in data.items()
        ]
        return _join("{", items, "}", indent, depth)
    if isinstance(data, list | tuple):
        return _join("[", [_encode(v, indent, depth + 1) for v in data], "]", indent, depth)
    if isinstance(data, float):
        raise TypeError("money is never sent as a float; use Decimal")
    return json.dumps(data, ensure_ascii=False)


def _join(open_: str, items: list[str], close: str, indent: str | None, depth: int) -> str:
    if not items:
        return open_ + close
    if indent is None:
        return open_ + ", ".join(items) + close
    inner = "\n" + indent * (depth + 1)
    return open_ + inner + ("," + inner).join(items) + "\n" + indent * depth + close


def dumps(data: Any, indent: int | None = None) -> str:
    """JSON text; `Decimal` as plain numbers, `float` refused (money is never a float)."""
    return _encode(data, None if indent is None else " " * indent, 0)


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def loads(text: str) -> Any:
    """JSON with every fractional number as `Decimal`; NaN and Infinity refused."""
    return json.loads(text, parse_float=Decimal, parse_constant=_no_constants)
