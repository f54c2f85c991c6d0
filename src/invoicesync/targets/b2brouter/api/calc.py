"""What B2BRouter will compute for an invoice, given the account's calculation settings: the
pre-flight compares this with the source's totals and explains a cent difference before
anything is sent. Pure; no I/O.

B2BRouter computes all amounts itself (https://docs.b2brouter.net/en/developers/common-use-cases/
invoice-calculation/): line base = quantity × price, taxes by category and percent. The
account's settings `rounding_method`, `round_before_sum` and `apply_taxes_per_line` decide
where cents are rounded. UNVERIFIED, the meaning read from their names (docs/b2brouter.md):
round_before_sum rounds every line base before adding; apply_taxes_per_line computes and rounds
tax on each line, otherwise once per (category, percent) group. A line with several taxes
(21 % IVA and a -15 % IRPF withholding) has each computed on the line's whole base; a negative
amount rounds half away from zero under half_up, as Python's (and Ruby's) rounding does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

from invoicesync.targets.b2brouter.api.models import LineDraft, Rounding

_MODES = {"half_up": ROUND_HALF_UP, "half_even": ROUND_HALF_EVEN, "half_down": ROUND_HALF_DOWN}
_CENT = Decimal("0.01")


@dataclass(frozen=True)
class ExpectedTotals:
    subtotal: Decimal
    taxes: dict[tuple[str, Decimal], Decimal]  # (category, percent) -> tax amount
    total: Decimal

    @property
    def tax_total(self) -> Decimal:
        return sum(self.taxes.values(), Decimal(0))


def expected_totals(lines: Sequence[LineDraft], rounding: Rounding) -> ExpectedTotals:
    """Raises ValueError for a rounding method B2BRouter is not known to have."""
    mode = _MODES.get(rounding.method)
    if mode is None:
        raise ValueError(f"unknown B2BRouter rounding method {rounding.method!r}")

    def cents(value: Decimal) -> Decimal:
        return value.quantize(_CENT, rounding=mode)

    exact_sum = Decimal(0)
    bases: dict[tuple[str, Decimal], Decimal] = {}
    per_line_tax: dict[tuple[str, Decimal], Decimal] = {}
    for line in lines:
        base = line.quantity * line.price
        if rounding.round_before_sum:
            base = cents(base)
        exact_sum += base
        for each in line.taxes:  # VAT and a withholding: each on the whole base
            key = (each.category, each.percent.normalize())
            bases[key] = bases.get(key, Decimal(0)) + base
            tax = cents(base * each.percent / 100)
            per_line_tax[key] = per_line_tax.get(key, Decimal(0)) + tax
    if rounding.apply_taxes_per_line:
        taxes = per_line_tax
    else:
        taxes = {key: cents(base * key[1] / 100) for key, base in bases.items()}
    subtotal = cents(exact_sum)
    return ExpectedTotals(subtotal, taxes, subtotal + sum(taxes.values(), Decimal(0)))
