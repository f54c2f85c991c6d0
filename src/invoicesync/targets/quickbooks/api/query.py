"""Build QBO query strings safely (https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/data-queries).
Pure; no I/O.

Values are backslash-escaped (`\\` then `'`). Typographic quotes (’ ‘ “ ”) cannot be sent at
all: QBO's lexer rejects them even inside a quoted value, so `quote` refuses them and callers
fall back to matching on the client side.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

PAGE_SIZE = 1000  # QBO's maximum MAXRESULTS
IN_CHUNK = 1000  # values per IN (...) clause: one page; long queries are POSTed
UNQUERYABLE = frozenset("\u2018\u2019\u201c\u201d")


class UnsafeValue(ValueError):
    """A value QBO's query lexer cannot accept."""


def queryable(value: str) -> bool:
    return not (UNQUERYABLE & set(value)) and not any(ord(c) < 32 for c in value)


def quote(value: str) -> str:
    if not queryable(value):
        raise UnsafeValue(f"{value!r} contains characters QuickBooks queries cannot carry")
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def select(
    entity: str,
    where: Sequence[tuple[str, str, str | Sequence[str]]] = (),
    *,
    order_by: str | None = None,
) -> str:
    """`select * from Entity where f op 'v' and f in ('a','b') [orderby ...]`."""
    clauses = []
    for field, op, value in where:
        if op.upper() == "IN":
            assert not isinstance(value, str)
            clauses.append(f"{field} IN ({', '.join(quote(v) for v in value)})")
        else:
            assert isinstance(value, str)
            clauses.append(f"{field} {op} {quote(value)}")
    text = f"select * from {entity}"
    if clauses:
        text += " where " + " and ".join(clauses)
    if order_by:
        text += f" orderby {order_by}"
    return text


def page(statement: str, start: int, size: int = PAGE_SIZE) -> str:
    return f"{statement} startposition {start} maxresults {size}"


def chunks(values: Iterable[str], size: int = IN_CHUNK) -> list[list[str]]:
    items = list(dict.fromkeys(values))
    return [items[i : i + size] for i in range(0, len(items), size)]
