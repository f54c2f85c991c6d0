"""One record's validation state: its problems, with where each field is."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from invoicesync.models import Customer
from invoicesync.sources import fields as f
from invoicesync.sources.base import FieldPath, Problems, Record, tax_column
from invoicesync.sources.decimals import number_shaped
from invoicesync.sources.unknown import IGNORED, SEVERAL_TAXES, UNKNOWN, money_name


def show(path: FieldPath) -> str:
    """A field path as users write it: ("lines", 1, "amount") is lines[2].amount."""
    out = ""
    for step in path:
        out += f"[{step + 1}]" if isinstance(step, int) else (f".{step}" if out else step)
    return out


class Check:
    """One record's validation: collects its problems with their locations."""

    __slots__ = ("base", "ok", "problems", "record")

    def __init__(self, record: Record, problems: Problems, base: Path | None) -> None:
        self.record = record
        self.problems = problems
        self.base = base
        self.ok = True

    @property
    def label(self) -> str:
        number = self.record.data.get("number")
        number = number.strip() if isinstance(number, str) else ""
        return f"invoice {f.safe(number) if number else '?'}"

    def err(self, path: FieldPath, message: str) -> None:
        self.ok = False
        self.problems.errors.append(
            f"{self.record.where(path)}: {self.label}: {self.show(path)}: {message}"
        )

    def warn(self, path: FieldPath, message: str) -> None:
        self.problems.warnings.append(
            f"{self.record.where(path)}: {self.label}: {self.show(path)}: {message}"
        )

    def show(self, path: FieldPath) -> str:
        """A field as the user knows it. A list of invoices has no lines in the file: its one
        line's price and amount are its `subtotal` column, its other fields their own names."""
        if self.record.header_only and path[:2] == ("lines", 0) and len(path) > 2:
            if (column := tax_column(path)) is not None:
                return column
            return "subtotal" if path[2] in ("unit_price", "amount") else show(path[2:])
        if self.record.text is None and (column := tax_column(path)) is not None:
            return column  # a table's line: its tax columns, not the list they became
        return show(path)

    def get(self, path: FieldPath, parser: Callable[..., Any], value: Any, *args: Any) -> Any:
        """`parser(value, *args)`, or None with the problem recorded at `path`."""
        try:
            return parser(value, *args)
        except f.Bad as exc:
            decimals = self.record.decimals
            if type(exc) is f.NotPlain and decimals and type(value) is str and number_shaped(value):
                try:  # `1740,00`: its file's convention may read it (sources/decimals.py)
                    return parser(decimals.read(value), *args)
                except f.Bad as again:
                    exc = again
            self.err(path, str(exc))
            return None

    def opt(self, path: FieldPath, parser: Callable[..., Any], value: Any, *args: Any) -> Any:
        """An optional field: absent costs nothing (most fields of most records are absent)."""
        return None if value is None else self.get(path, parser, value, *args)

    def unknown(
        self, raw: Mapping[str, Any], allowed: set[str], path: FieldPath = (), money: bool = False
    ) -> None:
        """Fields of `raw` not in `allowed`: errors when they could change what is owed (any
        of them when `money`: the object holds money), warnings otherwise (docs/invoice-format.md
        #unknown-fields). A record with only known fields costs one set comparison."""
        if raw.keys() <= allowed:
            return
        for key in sorted(set(raw) - allowed, key=str):
            name = str(key)
            shown = (
                f"{self.record.where((*path, key))}: {self.label}: {show((*path, f.safe(name)))}"
            )
            if money or money_name(name):
                self.ok = False
                several = name == "taxes" and path[:1] == ("adjustments",)
                self.problems.errors.append(f"{shown}: {SEVERAL_TAXES if several else UNKNOWN}")
            else:
                self.problems.warnings.append(f"{shown}: {IGNORED}")

    def obj(self, value: Any, path: FieldPath, what: str) -> Mapping[str, Any] | None:
        if value is None:
            return None
        if not isinstance(value, Mapping):
            self.err(path, f"must be an object with {what}")
            return None
        return value


# Equal customers, kept once and found by their fields (a tuple hashes and compares in C; a
# frozen dataclass would in Python): 100,000 invoices of a few hundred clients hold a few
# hundred `Customer`s.
_CUSTOMERS: dict[tuple[str, str | None, str | None, str | None], Customer] = {}


def customer(
    name: str, email: str | None = None, tax_id: str | None = None, country: str | None = None
) -> Customer:
    """The one `Customer` with these fields (frozen, so sharing is safe)."""
    key = (name, email, tax_id, country)
    found = _CUSTOMERS.get(key)
    if found is None:
        found = Customer(name, email, tax_id, country)
        if len(_CUSTOMERS) < 65536:
            _CUSTOMERS[key] = found
    return found
