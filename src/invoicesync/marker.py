"""Our marker in a QuickBooks invoice's PrivateNote: `[invoicesync INV-42]`.

The marker is how an invoice is recognised as ours when the local database is gone (a CI
runner, a second host), so it must name exactly one invoice number. Numbers made only of
plain characters are written as they are (the form every version wrote); any other number is
written percent-encoded behind `~` (`K]x` → `[invoicesync ~K%5Dx]`), so that `]`, `[`,
spaces and unicode can never make two numbers look alike. We always follow the marker with a
space or the end of the note, which lets a reader tell `[invoicesync K]x]` (the older, raw
form of `K]x`) from `[invoicesync K]`.

A record a push creates also carries the origin of the state that created it, in a tag of its
own after the marker (`[invoicesync INV-42] [invoicesync-origin 9f2c41d07ab3e865]`), so a
later run can tell a record this state made from one another machine made (docs/reliability.md,
"Copies"). It is a separate tag so that every earlier version still reads the marker alone, and
it is written only on create: `link` and `unlink` drop it, because the record was not made by
the state that links it.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote

_PLAIN = "-_./#:+"
_PLAIN_RE = re.compile(r"[A-Za-z0-9" + re.escape(_PLAIN) + r"]+")
# Strict: what this version writes. Legacy: raw numbers with spaces or brackets, written by
# earlier versions; read only where the strict form finds nothing.
_STRICT = re.compile(r"\[invoicesync (~?[^\]\s]+)\](?=\s|$)")
_LEGACY = re.compile(r"\[invoicesync (.+?)\](?=\s|$)")
_ANY = re.compile(r"\[invoicesync (?:~?[^\]\s]+|.+?)\](?=\s|$)")
_ORIGIN = re.compile(r"\s*\[invoicesync-origin ([0-9a-f]{8,32})\](?=\s|$)")


def marker(number: str) -> str:
    """The tag we put in PrivateNote so an invoice can be recognised as ours later."""
    if _PLAIN_RE.fullmatch(number):
        return f"[invoicesync {number}]"
    return f"[invoicesync ~{quote(number, safe=_PLAIN)}]"


def marker_of(private_note: str | None) -> str | None:
    """The invoice number in our marker, if the note carries one."""
    note = private_note or ""
    match = _STRICT.search(note)
    if match:
        text = match.group(1)
        return unquote(text[1:]) if text.startswith("~") else text
    legacy = _LEGACY.search(note)
    return legacy.group(1) if legacy else None


def origin_tag(origin: str) -> str:
    """The tag naming the state that created the record (a lower-case hex token)."""
    if not re.fullmatch(r"[0-9a-f]{8,32}", origin):
        raise ValueError("an origin is 8 to 32 lower-case hex digits")
    return f"[invoicesync-origin {origin}]"


def origin_of(private_note: str | None) -> str | None:
    """The origin in the note, if it carries our marker and an origin tag."""
    note = private_note or ""
    match = _ORIGIN.search(note)
    return match.group(1) if match and marker_of(note) is not None else None


def with_marker(private_note: str | None, number: str) -> str:
    """The note with our marker for `number` first, replacing any marker (and origin) it had."""
    return f"{marker(number)} {without_marker(private_note)}".strip()


def without_marker(private_note: str | None) -> str:
    """The note with our marker and origin removed (what `unlink` writes back)."""
    return _ORIGIN.sub("", _ANY.sub("", private_note or "")).strip()
