"""Several taxes on one line (`taxes`): Spain's 21 % IVA beside a 15 % IRPF withholding, say.

The rules (docs/invoice-format.md#several-taxes-on-a-line): a line gives either the one-tax
shorthand (`tax`, `tax_rate`) or `taxes`, never both; each tax has a category, a rate in percent
(negative for a withholding) and an optional name, which is free text and changes no amount; a
line holds at most one VAT-type tax (rate 0 or more), and a withholding needs one beside it,
since a withholding is a share of the same base that the buyer pays to the tax office instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from invoicesync.models import VAT_CATEGORIES, Tax
from invoicesync.sources import fields as f
from invoicesync.sources.base import FieldPath
from invoicesync.sources.check import Check

TAX_FIELDS = {"category", "rate", "name"}
MAX_TAXES = 2  # a VAT-type tax and a withholding; a table has columns for two


def category_rule(tax: str | None, rate: Decimal | None) -> str | None:
    """What is wrong with this rate for this VAT category (EN 16931 BR-S-05, BR-Z-05, BR-E-05,
    BR-O-05…), or None. Any other `tax` is a QuickBooks tax code: no rule here."""
    if tax not in VAT_CATEGORIES:
        return None
    if tax == "S" and (rate is None or rate <= 0):
        return "VAT category S (standard rate) needs a tax_rate above 0"
    if tax == "O" and rate is not None:
        return "VAT category O (outside the scope of VAT) takes no rate"
    if tax in {"Z", "E", "AE", "K", "G"} and rate is not None and rate != 0:
        return f"VAT category {tax} has a rate of 0, not {rate}"
    if tax in {"L", "M"} and rate is None:
        return f"VAT category {tax} needs a tax_rate"
    return None


def parse_taxes(c: Check, path: FieldPath, raw: Mapping[str, Any]) -> tuple[Tax, ...]:
    """A line's `taxes`, validated; () with the problems recorded when any is wrong."""
    here: FieldPath = (*path, "taxes")
    value = raw.get("taxes")
    if "tax" in raw or "tax_rate" in raw:
        c.err(here, "give either `tax` and `tax_rate` (one tax) or `taxes`, not both")
        return ()
    if not isinstance(value, list) or not value:
        c.err(here, "must be a list of taxes, each with category, rate and name")
        return ()
    if len(value) > MAX_TAXES:
        c.err(
            here,
            f"has {len(value)} taxes; a line takes at most {MAX_TAXES}: its VAT-type "
            "tax and a withholding",
        )
        return ()
    ok = c.ok
    c.ok = True
    taxes = [_one(c, (*here, i), item) for i, item in enumerate(value)]
    found = [t for t in taxes if t is not None]
    if not c.ok or len(found) != len(taxes):
        return ()
    c.ok = ok
    vat = [t for t in found if not t.withholding]
    if len(vat) > 1:
        c.err(here, f"has {len(vat)} VAT-type taxes (rate 0 or more); a line takes at most one")
        return ()
    if not vat:
        c.err(
            here,
            "a withholding (negative rate) needs a VAT-type tax beside it on the line, such as "
            '{"category": "S", "rate": "21", "name": "IVA"}',
        )
        return ()
    return tuple(found)


def _one(c: Check, path: FieldPath, raw: Any) -> Tax | None:
    if not isinstance(raw, Mapping):
        c.err(path, "must be an object with category, rate and name")
        return None
    c.unknown(raw, TAX_FIELDS, path, money=True)
    category = c.get((*path, "category"), f.name, raw.get("category"), True, 20)
    rate = c.get((*path, "rate"), f.decimal, raw.get("rate"), True)
    name = c.opt((*path, "name"), f.name, raw.get("name"), False, 100)
    if category is None or rate is None:
        return None
    if not -100 <= rate <= 100:
        c.err((*path, "rate"), f"{rate} must be a percentage between -100 and 100")
        return None
    if rate >= 0 and (problem := category_rule(category, rate)) is not None:
        c.err((*path, "rate"), problem)
        return None
    return Tax(category, rate, name)
