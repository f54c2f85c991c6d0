"""How the sandbox computes an invoice's amounts, from the account's calculation settings.

B2BRouter computes every amount itself ("All calculations and rounding are done automatically by
B2Brouter", https://docs.b2brouter.net/en/developers/common-use-cases/invoice-calculation/):
line base = quantity × price / base_quantity (API 2026-03-02 and later), taxes by category and
percent, VAT is never rounded by hand. An account carries three calculation settings, named in
the account example of
https://developer.b2brouter.net/docs/receive_integrate_and_manage_received_invoices:
`rounding_method` ("half_up"), `round_before_sum` and `apply_taxes_per_line`. Protemos asks its
users to make these match its own ("to avoid amount discrepancies").

UNVERIFIED: what the two booleans do exactly is not documented. The sandbox reads them as their
names say, and docs/b2brouter.md states this reading:
- `round_before_sum`: each line's base is rounded to cents before lines are added up;
  otherwise the exact bases are added and only the sums are rounded.
- `apply_taxes_per_line`: each line's tax is computed and rounded on that line, then added up
  per (category, percent); otherwise the tax is computed once on each group's base.
- `rounding_method`: "half_up" is documented; "half_even" and "half_down" are accepted too
  (UNVERIFIED names). Amounts have two decimals in every currency (UNVERIFIED for currencies
  without cents).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
HUNDRED = Decimal(100)
ROUNDING_METHODS = {
    "half_up": ROUND_HALF_UP,
    "half_even": ROUND_HALF_EVEN,
    "half_down": ROUND_HALF_DOWN,
}


@dataclass(frozen=True)
class Calc:
    rounding_method: str = "half_up"
    round_before_sum: bool = False
    apply_taxes_per_line: bool = False

    def round(self, value: Decimal) -> Decimal:
        return value.quantize(CENT, rounding=ROUNDING_METHODS[self.rounding_method])


@dataclass(frozen=True)
class LineIn:
    quantity: Decimal
    price: Decimal
    base_quantity: Decimal
    taxes: tuple[tuple[str, str, Decimal], ...]  # (name, category, percent)


@dataclass(frozen=True)
class TaxOut:
    name: str
    category: str
    percent: Decimal
    base: Decimal
    amount: Decimal


@dataclass(frozen=True)
class Totals:
    line_amounts: tuple[Decimal, ...]  # each line's base, rounded for display
    subtotal: Decimal
    taxes: tuple[TaxOut, ...]
    tax_total: Decimal
    total: Decimal


def compute(lines: Sequence[LineIn], calc: Calc) -> Totals:
    """The amounts B2BRouter (as the sandbox reads its documentation) shows for these lines."""
    bases = [line.quantity * line.price / line.base_quantity for line in lines]
    if calc.round_before_sum:
        bases = [calc.round(b) for b in bases]
    groups: dict[tuple[str, Decimal], list[Decimal]] = {}  # (category, percent) -> [base, tax]
    names: dict[tuple[str, Decimal], str] = {}
    for base, line in zip(bases, lines, strict=True):
        for name, category, percent in line.taxes:
            key = (category, percent.normalize())
            names.setdefault(key, name)
            acc = groups.setdefault(key, [Decimal(0), Decimal(0)])
            acc[0] += base
            if calc.apply_taxes_per_line:
                acc[1] += calc.round(base * percent / HUNDRED)
    taxes = []
    for key, (base, per_line) in groups.items():
        amount = per_line if calc.apply_taxes_per_line else calc.round(base * key[1] / HUNDRED)
        taxes.append(TaxOut(names[key], key[0], key[1], calc.round(base), amount))
    subtotal = calc.round(sum(bases, Decimal(0)))
    tax_total = sum((t.amount for t in taxes), Decimal(0))
    return Totals(
        line_amounts=tuple(calc.round(b) for b in bases),
        subtotal=subtotal,
        taxes=tuple(taxes),
        tax_total=tax_total,
        total=subtotal + tax_total,
    )
