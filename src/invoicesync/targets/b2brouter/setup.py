"""The set-up check of a B2BRouter account, as Protemos shows it once: the account's
calculation settings against what the source computes, with where to change them."""

from __future__ import annotations

from dataclasses import dataclass

from invoicesync.targets.b2brouter.api import Account

# What the canonical source computes (docs/b2brouter.md#rounding): each line rounded half up,
# then added; tax once per rate on the summed bases. B2BRouter must compute the same.
WHERE = "B2BRouter → Settings → Invoices and quotes"


@dataclass(frozen=True)
class SettingCheck:
    """One calculation setting: what the source needs against what the account has."""

    setting: str
    required: str
    current: str

    @property
    def matches(self) -> bool:
        return self.required == self.current


def calculation_check(account: Account) -> list[SettingCheck]:
    """The account's calculation settings against the source's, as Protemos shows them."""
    r = account.rounding

    def on(flag: bool) -> str:
        return "on" if flag else "off"

    return [
        SettingCheck("rounding method", "half_up", r.method),
        SettingCheck("round before sum", "on", on(r.round_before_sum)),
        SettingCheck("taxes per line", "off", on(r.apply_taxes_per_line)),
    ]


def mismatches(checks: list[SettingCheck]) -> list[str]:
    """One warning per setting that differs, saying where to change it."""
    return [
        f"B2BRouter's {c.setting} is {c.current}, the source needs {c.required}: change it in "
        f"{WHERE}, or invoices with fractional amounts are refused at push"
        for c in checks
        if not c.matches
    ]
