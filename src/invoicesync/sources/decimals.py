"""Numbers as a spreadsheet writes them: decimal commas, thousands separators, and which
convention a file uses (docs/invoice-format.md#decimal-commas).

Excel in a European locale writes `1740,00` and `1.740,00`. A number is read only where its
meaning is certain, never guessed: `1.740,00` and `1,740.00` can each be read one way only, but
`1,740` is 1.74 in a file of decimal commas and 1740 in a file of decimal points, so it is read
as its file's convention or refused. The convention is `[source] decimal` ("dot", "comma"), or
"auto": decimal points as always, and commas when the file shows them and no decimal point.

A file of plain numbers never comes here: the validator parses them first, as it always did, and
only a number that is not plain asks its file's `Convention` (the whole cost of decimal commas
is on files that have them).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from invoicesync.sources.base import Problems
from invoicesync.sources.fields import Bad, BadNumber, safe

# Thousands separators that can never be a decimal mark: a space, a no-break space, a narrow
# no-break space (French Excel) and an apostrophe (Swiss).
GROUPS = " \u00a0\u202f'"
_SHAPE = re.compile(r"[+-]?[0-9., \u00a0\u202f']*[0-9][0-9., \u00a0\u202f']*", re.ASCII)
_DIGITS = re.compile(r"[0-9]+", re.ASCII)
_HOW = 'set decimal = "comma" or "dot" under [source] in config.toml'

# A numeric cell: its line, its column as the file names it, its text.
Cell = tuple[int, str, str]


def number_shaped(text: str) -> bool:
    """Digits with signs, marks and separators only: what a convention can read."""
    return _SHAPE.fullmatch(text.strip()) is not None


def plain(text: str, mark: str) -> str | None:
    """`text` read with `mark` ("." or ",") as the decimal mark, as a plain number (`1740.00`),
    or None when it is not a number in that convention. Thousands are grouped by threes, with
    one separator: the other mark, or one of GROUPS."""
    text = text.strip()
    sign = text[:1] if text[:1] in "+-" else ""
    body = text[len(sign) :]
    if body.count(mark) > 1:
        return None
    whole, has_mark, fraction = body.partition(mark)
    if has_mark and _DIGITS.fullmatch(fraction) is None:
        return None
    if _DIGITS.fullmatch(whole) is None:
        if not whole and fraction:
            whole = "0"
        elif (digits := _grouped(whole, "," if mark == "." else ".")) is not None:
            whole = digits
        else:
            return None
    return f"{sign}{whole}.{fraction}" if fraction else f"{sign}{whole}"


def _grouped(whole: str, other: str) -> str | None:
    """The digits of `1.740.000` or `1 740` (groups of three after a first of one to three,
    not starting with 0), or None."""
    separators = {ch for ch in whole if not ch.isdigit()}
    if len(separators) != 1 or not separators <= set(GROUPS + other):
        return None
    groups = whole.split(separators.pop())
    first, rest = groups[0], groups[1:]
    if not 1 <= len(first) <= 3 or first[0] == "0":
        return None
    if any(len(g) != 3 for g in rest) or _DIGITS.fullmatch("".join(groups)) is None:
        return None
    return "".join(groups)


def evidence(text: str) -> str:
    """What a number says of its file: "dot", "comma", "either" (`1,740`: a different amount
    in each), or "" (the same in both, or not a number). A lone decimal point (`1.740`) is
    "dot": read so before decimal commas existed, it stays so."""
    dot, comma = plain(text, "."), plain(text, ",")
    if dot is None:
        return "" if comma is None else "comma"
    if comma is None or comma == dot:
        return "dot" if comma is None else ""
    return "either" if "," in text else "dot"


def _short(number: str) -> str:
    """1.740 → 1.74: how the message shows the decimal-comma reading of `1,740`."""
    return number.rstrip("0").rstrip(".") if "." in number else number


@dataclass
class _First:
    """The first number of a kind in a file, for a message that points at both."""

    line: int
    column: str
    text: str


class Convention:
    """One file's decimal convention and the readings of its non-plain numbers.

    `cells` gives every numeric cell of the file (line, column, text); it is walked once, by
    `scan`: at once for "comma" (a plain `12.50` would pass the validator unread, so every
    number must be known), on the first non-plain number for "auto", never for "dot". After a
    scan `eager` is set and the reader swaps each numeric cell for its reading (`convert`)."""

    def __init__(
        self, mode: str, name: str, problems: Problems, cells: Callable[[], Iterable[Cell]]
    ) -> None:
        self.mode = mode
        self.name = name
        self.problems = problems
        self.cells = cells
        self.convention = "dot" if mode == "auto" else mode  # until a scan says otherwise
        self.eager = False
        self.known: dict[str, str | BadNumber] = {}
        if mode == "comma":
            self.scan()

    def convert(self, cell: str) -> str | BadNumber:
        """A numeric cell as the validator should read it (after a scan)."""
        found = self.known.get(cell)
        return cell if found is None else found

    def read(self, text: str) -> str:
        """The plain form of a number the validator could not read, or `Bad` saying why."""
        if self.mode == "auto" and not self.eager:
            self.scan()
        found = self.known.get(text)
        if found is None:
            found = self.known[text] = self._reading(text)
        if isinstance(found, BadNumber):
            raise Bad(found.message)
        return found

    def scan(self) -> None:
        """Read every numeric cell once: decide "auto"'s convention (refusing a file that mixes
        both) and keep the reading of each distinct text that is not already plain."""
        seen: dict[str, str] = {}
        firsts: dict[str, _First] = {}
        for line, column, text in self.cells():
            kind = seen.get(text)
            if kind is None:
                kind = seen[text] = evidence(text) if number_shaped(text) else ""
            if kind in ("dot", "comma") and kind not in firsts:
                firsts[kind] = _First(line, column, text)
        if self.mode == "auto" and "comma" in firsts:
            self.convention = "mixed" if "dot" in firsts else "comma"
            if "dot" in firsts:
                self._mixed(firsts["comma"], firsts["dot"])
        self.eager = True
        for text in seen:
            reading = self._reading(text) if number_shaped(text) else text
            if reading != text:
                self.known[text] = reading

    def _mixed(self, comma: _First, dot: _First) -> None:
        self.problems.errors.append(
            f"{self.name}:{comma.line}: {safe(comma.column)}: {safe(repr(comma.text))} has a "
            f"decimal comma, but line {dot.line} has a decimal point ({safe(repr(dot.text))} in "
            f"{safe(dot.column)}): use one throughout, dots, or commas and set "
            'decimal = "comma" under [source] in config.toml'
        )

    def _reading(self, text: str) -> str | BadNumber:
        """`text` in this file's convention, or why it cannot be read (`1,740` without a
        convention that settles it; a mark the convention does not use)."""
        shown = safe(repr(text))
        dot, comma = plain(text, "."), plain(text, ",")
        which = "comma" if self.convention == "comma" else "point"
        bad = BadNumber(f"{shown} is not a number with a decimal {which} and thousands separators")
        if self.convention == "mixed":  # refused already, once for the file
            return comma if comma is not None else dot if dot is not None else bad
        mine, theirs = (comma, dot) if self.convention == "comma" else (dot, comma)
        if self.mode == "auto" and self.convention == "dot" and evidence(text) == "either":
            return BadNumber(
                f"{shown} could be {_short(comma or '')} (a decimal comma) or {dot} (a thousands "
                f"separator): write {_short(comma or '')} or {dot}, or {_HOW}"
            )
        if mine is not None:
            return mine
        if self.convention == "dot" and theirs is not None and "," in text:
            return BadNumber(
                f'{shown} has a decimal comma, but [source] decimal = "dot": use a dot '
                f'({theirs}), or set decimal = "comma"'
            )
        if self.convention == "comma" and theirs is not None and "." in theirs:
            return BadNumber(
                f'{shown} has a decimal point, but [source] decimal = "comma": use a comma '
                f'({theirs.replace(".", ",")}), or set decimal = "dot"'
            )
        return bad
