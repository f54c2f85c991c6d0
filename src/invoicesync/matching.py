"""Pure: why a name did not match, and how well a QBO invoice matches a local one.

Protemos says only that the name "should perfectly match". We say what is different: letter
case, spaces, a typographic apostrophe, a sub-customer path, an inactive record.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Protocol, TypeVar

from invoicesync.models import CENT

_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"', "`": "'"})


def normalize(name: str) -> str:
    """Compare-only form: NFKC, straight quotes, single spaces, no edge spaces, casefolded."""
    text = unicodedata.normalize("NFKC", name).translate(_QUOTES)
    return re.sub(r"\s+", " ", text).strip().casefold()


class Named(Protocol):
    """A record that has a name: DisplayName/Name, its full path, and whether it is active."""

    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def full_name(self) -> str: ...
    @property
    def active(self) -> bool: ...


@dataclass(frozen=True)
class NearMatch:
    name: str
    reason: str


def difference(wanted: str, found: str, where: str = "the target") -> str:
    """Why two names that normalise alike are still different."""

    def spaced(text: str) -> str:
        return re.sub(r"\s+", " ", text).strip()

    reasons = []
    if wanted != wanted.strip() or found != found.strip():
        reasons.append("leading or trailing spaces")
    if re.search(r"\s{2,}", wanted.strip()) or re.search(r"\s{2,}", found.strip()):
        reasons.append("double spaces")
    if any(c in wanted for c in "\u2019\u2018") and "'" in found:
        reasons.append(f"typographic apostrophe ’ where {where} has '")
    elif "'" in wanted and any(c in found for c in "\u2019\u2018"):
        reasons.append(f"straight apostrophe ' where {where} has ’")
    if any(c in wanted + found for c in "\u201c\u201d"):
        reasons.append("typographic double quotes")
    if (
        spaced(wanted.translate(_QUOTES)) != spaced(found.translate(_QUOTES))
        and spaced(wanted.translate(_QUOTES)).casefold()
        == spaced(found.translate(_QUOTES)).casefold()
    ):
        reasons.append("letter case")
    if not reasons:
        reasons.append("Unicode form (look-alike characters)")
    return "differs by " + ", ".join(reasons)


N = TypeVar("N", bound=Named)


def find_exact(wanted: str, records: Sequence[N], *, by_path: bool) -> N | None:
    """Exact match on the full path (if `by_path`, e.g. 'Parent:Child') or on the name."""
    for record in records:
        key = record.full_name if by_path else record.name
        if key == wanted:
            return record
    return None


def near_matches(
    wanted: str, records: Sequence[Named], limit: int = 3, where: str = "the target"
) -> list[NearMatch]:
    """The closest existing names to `wanted`, each with the reason it is not a match."""
    found: list[NearMatch] = []
    target = normalize(wanted)
    leaf = wanted.rsplit(":", 1)[-1]
    for r in records:
        if r.full_name == wanted or r.name == wanted:
            if not r.active:
                found.append(NearMatch(r.full_name, f"is inactive in {where}; reactivate it"))
            elif ":" in r.full_name and r.name == wanted:
                found.append(
                    NearMatch(r.full_name, f"is a sub-customer: use the path {r.full_name!r}")
                )
            continue
        if normalize(r.full_name) == target or normalize(r.name) == target:
            other = r.full_name if normalize(r.full_name) == target else r.name
            reason = difference(wanted, other, where)
            if not r.active:
                reason += "; also inactive"
            found.append(NearMatch(r.full_name, reason))
        elif ":" not in wanted and ":" in r.full_name and r.full_name.rsplit(":", 1)[1] == wanted:
            found.append(NearMatch(r.full_name, f"is a sub-customer: use the path {r.full_name!r}"))
        elif ":" in wanted and normalize(r.name) == normalize(leaf) and ":" in r.full_name:
            found.append(NearMatch(r.full_name, "same name under another parent"))
    if len(found) < limit:
        pool = {normalize(r.name): r for r in records if r.active}
        pool.update({normalize(r.full_name): r for r in records if r.active})
        for key in difflib.get_close_matches(target, list(pool), n=limit, cutoff=0.75):
            name = pool[key].full_name
            if all(m.name != name for m in found):
                found.append(NearMatch(name, "similar name"))
    return found[:limit]


# --- candidate scoring ---------------------------------------------------------------------------

# Calibrated on the cases people meet (docs/faq.md, tests/cli/test_link_scoring.py): an invoice
# typed into QuickBooks by hand has the same customer, total, date and currency but QuickBooks'
# own number (80: linkable); last month's retainer for the same amount is 20+ days away (65:
# not, and 15 behind the right one); a DocNumber alone, or with a different customer, is not.
WEIGHTS = {"doc_number": 20, "customer": 30, "total": 30, "date": 15, "currency": 5}
NEAR_DAYS = 7  # dates this close earn half the date points
STRONG = 75
MARGIN = 15


@dataclass(frozen=True)
class Score:
    points: int
    reasons: tuple[str, ...]


def score(
    *,
    number: str,
    customer_id: str | None,
    total: Decimal,
    issue_date: date,
    currency: str,
    remote_doc: str | None,
    remote_customer_id: str | None,
    remote_total: Decimal | None,
    remote_date: str | None,
    remote_currency: str | None,
    marker_number: str | None,
) -> Score:
    """0-100: how likely the QBO invoice is this local invoice, with the reasons."""
    if marker_number == number:
        return Score(100, ("carries our marker for this invoice",))
    points = 0
    reasons: list[str] = []
    if remote_doc and remote_doc == number:
        points += WEIGHTS["doc_number"]
        reasons.append("same DocNumber")
    if customer_id and remote_customer_id == customer_id:
        points += WEIGHTS["customer"]
        reasons.append("same customer")
    elif remote_customer_id:
        reasons.append("different customer")
    same_currency = remote_currency in {None, currency}
    if remote_total is not None and abs(remote_total - total) <= CENT and same_currency:
        points += WEIGHTS["total"]
        reasons.append("same total")
    elif remote_total is not None and same_currency:
        reasons.append(f"total {remote_total} vs {total}")
    if remote_date:
        days = abs((date.fromisoformat(remote_date) - issue_date).days)
        if days == 0:
            points += WEIGHTS["date"]
            reasons.append("same date")
        elif days <= NEAR_DAYS:
            points += WEIGHTS["date"] // 2
            reasons.append(f"{days} day{'s' if days != 1 else ''} apart")
        else:
            reasons.append(f"{days} days apart")
    if remote_currency == currency:
        points += WEIGHTS["currency"]
    elif remote_currency:
        reasons.append(f"currency {remote_currency} vs {currency}")
    if marker_number and marker_number != number:
        points = min(points, 10)
        reasons.append(f"carries our marker for {marker_number}")
    return Score(points, tuple(reasons))


def unambiguous_best(scores: Iterable[int]) -> bool:
    """`link --best` may pick the top candidate only if it is strong and clearly ahead."""
    ordered = sorted(scores, reverse=True)
    if not ordered or ordered[0] < STRONG:
        return False
    return len(ordered) == 1 or ordered[0] - ordered[1] >= MARGIN
