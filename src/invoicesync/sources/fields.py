"""Field parsers and the limits they enforce: text, numbers, dates, codes.

Each parser returns the parsed value or raises `Bad` with the message the user sees after
`file:line: invoice N: field:`. Messages never contain a raw character from the data that
could act on a terminal: `safe()` escapes them.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache, lru_cache
from importlib import resources
from typing import Any

# QuickBooks' largest amount is not documented anywhere we found (UNVERIFIED).
# We take a safe limit: 10 integer digits, so every line amount, subtotal, tax and total is at
# most 9,999,999,999.99 in absolute value (far inside what a double or QBO's decimal holds).
MAX_AMOUNT = Decimal("9999999999.99")
MONEY_PLACES = 2
# Quantities, unit prices and rates: QuickBooks keeps 7 decimal places on Qty and UnitPrice
# (third-party integrator's documentation; Intuit's own figure is UNVERIFIED).
MAX_PLACES = 7
VAT_CATEGORIES = ("S", "Z", "E", "AE", "K", "G", "O", "L", "M")  # EN 16931 (UNCL5305 subset)

_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)", re.ASCII)
_DECIMAL_COMMA = re.compile(r"[+-]?\d+,\d+", re.ASCII)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
# Characters refused in text: C0/C1 controls (ESC starts terminal escape sequences), the bidi
# embeddings, overrides and isolates (text that reads differently than it is), and the Unicode
# line and paragraph separators. One regex over the whole string: no per-character Python loop.
_BAD_ANY = "\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029"
_BAD_IN_TEXT = re.compile(f"[{_BAD_ANY}]")  # multi-line text: tab and newline are fine
_BAD_IN_NAME = re.compile(f"[\t\n{_BAD_ANY}]")  # names, numbers, codes: one line
_UNSAFE = re.compile(
    r"[^\x20-\x7e\u00a0-\u2027\u202f-\u2065\u206a-\ud7ff\ue000-\uffff\U00010000-\U0010ffff]"
)
_NAMES = {"\t": "TAB", "\n": "LINE FEED", "\r": "CARRIAGE RETURN", "\x1b": "ESCAPE"}


class Bad(Exception):
    """A field's value is invalid; the message says why."""


class NotPlain(Bad):
    """Not a plain decimal number: a spreadsheet's convention may still read it
    (sources/decimals.py)."""


@dataclass(frozen=True, slots=True)
class BadNumber:
    """A number its file's convention refused, in place of its text: the validator reports the
    message at the number's own field."""

    message: str


def safe(text: str) -> str:
    """`text` with every character that could act on a terminal (controls, bidi controls,
    separators, surrogates) written as a Python escape, so messages can quote data."""
    return _UNSAFE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def _describe(ch: str) -> str:
    name = _NAMES.get(ch) or unicodedata.name(ch, "control character")
    return f"U+{ord(ch):04X} {name} ({safe(ch)})"


def text(value: Any, required: bool = False, max_len: int = 4000, one_line: bool = False) -> Any:
    """A string without refused characters; None when absent or blank (unless required)."""
    if type(value) is str and value and not value.isspace():  # the common case, first
        bad = (_BAD_IN_NAME if one_line else _BAD_IN_TEXT).search(value)
        if bad is not None:
            ch = bad.group()
            what = "must be on one line" if ch == "\n" else "contains a refused character"
            raise Bad(f"{what}: {_describe(ch)} at character {bad.start() + 1}; remove it")
        if len(value) > max_len:
            raise Bad(f"is longer than {max_len} characters")
        return value
    if value is None or isinstance(value, str):
        if required:
            raise Bad("is required")
        return None
    raise Bad(f"must be a string, not {type(value).__name__}")


# Names already accepted: exports repeat them all the time. A string in here is what `name()`
# returns for it (callers on a hot path may look it up themselves).
KNOWN_NAMES: dict[str, None] = {}


def name(value: Any, required: bool = True, max_len: int = 500) -> Any:
    """A one-line string: names, numbers, codes."""
    if type(value) is str and max_len == 500:
        if value in KNOWN_NAMES:
            return value
        checked = text(value, required, 500, True)
        if checked is not None and len(KNOWN_NAMES) < 65536:
            KNOWN_NAMES[checked] = None
        return checked
    return text(value, required, max_len, True)


def optional_name(value: Any) -> Any:
    return name(value, False)


# Short texts already accepted by `text()` with its defaults: units and many descriptions repeat.
KNOWN_TEXTS: dict[str, None] = {}


def short_text(value: Any) -> Any:
    """`text(value)`, remembering accepted values of up to 100 characters."""
    if type(value) is str and value in KNOWN_TEXTS:
        return value
    checked = text(value)
    if checked is not None and len(checked) <= 100 and len(KNOWN_TEXTS) < 65536:
        KNOWN_TEXTS[checked] = None
    return checked


def decimal(
    value: Any, required: bool = False, places: int = MAX_PLACES, limit: Decimal = MAX_AMOUNT
) -> Any:
    """An exact decimal written plainly, with at most `places` decimals and |x| <= `limit`."""
    kind = type(value)
    if kind is str and limit is MAX_AMOUNT and places in KNOWN_NUMBERS:
        good = KNOWN_NUMBERS[places]
        number = good.get(value)  # quantities, prices and amounts repeat across an export
        if number is None:
            number = _number(value.strip(), places, limit) if value.strip() else None
            if number is not None and len(good) < 65536:
                good[value] = number
        if number is None and required:
            raise Bad("is required")
        return number
    if kind is str:
        raw = value.strip()
        if not raw:
            if required:
                raise Bad("is required")
            return None
    elif kind is Decimal or kind is int:
        raw = str(value)
    elif value is None:
        if required:
            raise Bad("is required")
        return None
    elif kind is BadNumber:
        raise Bad(value.message)
    else:
        raise Bad(f"must be a number, not {kind.__name__}")
    return _number(raw, places, limit)


# Numbers already accepted, per number of decimal places allowed; keyed on the exact text, so
# "1.0" and "1.00" stay apart. A text in here is what `decimal()` (`money()`: MONEY_PLACES)
# returns for it, so callers on a hot path may look it up themselves.
KNOWN_NUMBERS: dict[int, dict[str, Decimal]] = {MAX_PLACES: {}, MONEY_PLACES: {}}


@lru_cache(maxsize=65536)
def _number(raw: str, places: int, limit: Decimal) -> Decimal:
    """Parse and check a number's text. Cached: an export repeats its prices and quantities,
    and a cache keyed on the exact text keeps `1.0` and `1.00` apart."""
    if _PLAIN_NUMBER.fullmatch(raw) is None:
        comma = _DECIMAL_COMMA.fullmatch(raw) is not None  # JSON's 1740,00: say what to write
        raise NotPlain(
            f"{raw[:60]!r} is not a plain decimal number (no exponents, NaN or separators)"
            + (f": use a decimal point, {raw.replace(',', '.')}" if comma else "")
        )
    if len(raw) > 60:
        raise Bad(f"{raw[:20]}… has {len(raw)} digits; that is not an amount invoicesync sends")
    number = Decimal(raw)
    dot = raw.find(".")
    if dot >= 0 and len(raw) - dot - 1 > places:
        exponent = number.normalize().as_tuple().exponent  # 1.50000000 is 1.5
        if isinstance(exponent, int) and -exponent > places:
            raise Bad(
                f"{raw} has too many decimal places ({-exponent}); at most {places} "
                + ("(cents)" if places == MONEY_PLACES else "are kept")
            )
    if len(raw) > 10 and abs(number) > limit:  # 10 characters are at most 9,999,999,999
        raise Bad(f"{raw} is too large; invoicesync sends at most {limit:,} here")
    return number


def money(value: Any, required: bool = False) -> Any:
    return decimal(value, required, MONEY_PLACES)


def parse_date(value: Any, required: bool = False) -> Any:
    if value is None or value == "":
        if required:
            raise Bad("is required")
        return None
    if type(value) is not str:
        raise Bad(f"{str(value)[:40]!r} is not a date (YYYY-MM-DD)")
    return _date(value)


@lru_cache(maxsize=4096)
def _date(value: str) -> date:
    """Cached: a month's invoices share a few dozen dates."""
    if _DATE.fullmatch(value) is None:
        raise Bad(f"{value[:40]!r} is not a date (YYYY-MM-DD)")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Bad(f"{value!r} is not a valid date") from None


def email(value: Any) -> Any:
    address = optional_name(value)
    if address is not None and _EMAIL.fullmatch(address) is None:
        raise Bad(f"{address!r} is not an e-mail address")
    return address


@cache
def _codes(file: str) -> frozenset[str]:
    data = resources.files("invoicesync").joinpath("data", file).read_text(encoding="utf-8")
    return frozenset(ln for ln in data.split() if ln and not ln.startswith("#"))


def currency(value: Any) -> Any:
    code = name(value)
    if code is not None and code not in _codes("iso4217.txt"):
        shape = re.fullmatch("[A-Z]{3}", code) is not None
        hint = "no currency has this code" if shape else "three capital letters"
        raise Bad(f"{code!r} is not an ISO 4217 code ({hint})")
    return code


def country(value: Any) -> Any:
    code = optional_name(value)
    if code is not None and code not in _codes("iso3166.txt"):
        raise Bad(f"{code!r} is not an ISO 3166 alpha-2 country code (two capital letters)")
    return code


def one_of(value: Any, allowed: tuple[str, ...], default: str) -> str:
    if value is None:
        return default
    if not isinstance(value, str) or value not in allowed:
        shown = repr(value[:40]) if isinstance(value, str) else type(value).__name__
        raise Bad(f"{shown} is not one of {', '.join(allowed)}")
    return value
