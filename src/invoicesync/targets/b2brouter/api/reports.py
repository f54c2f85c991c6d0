"""What B2BRouter reports about an invoice beyond its delivery state: the tax-authority
submissions (VeriFactu, TicketBAI: `tax_report_ids` → `GET /tax_reports/{id}`) and the
pre-delivery validation (`GET /invoices/{id}/validate`).

Shapes from the official PHP SDK's documentation
(https://github.com/B2Brouter/b2brouter-php/blob/main/docs/TAX_REPORTS.md: states processing →
registered | registered_with_errors | error | annulled, with `errors` and `warnings`;
https://github.com/B2Brouter/b2brouter-php/blob/main/docs/API_REFERENCE.md `validate()`: `valid`
and `errors`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# Final states per docs/TAX_REPORTS.md ("Tax Report States"); `processing` is the only other.
TAX_REPORT_STATES = ("processing", "registered", "registered_with_errors", "error", "annulled")
TAX_REPORT_PROBLEMS = frozenset({"error"})


def messages(value: Any) -> tuple[str, ...]:
    """Error or warning texts, whatever their documented-loosely shape: a string, a list of
    strings, a list of objects with `message`, or an object of field → messages."""
    if value is None or value == "" or value == [] or value == {}:
        return ()
    if isinstance(value, str):
        return (value.strip(),) if value.strip() else ()
    if isinstance(value, list):
        return tuple(m for item in value for m in messages(item))
    if isinstance(value, dict):
        if "message" in value:
            return messages(value["message"])
        out: list[str] = []
        for key, inner in value.items():
            out.extend(f"{key}: {m}" for m in messages(inner))
        return tuple(out)
    return (str(value),)


@dataclass(frozen=True)
class TaxReport:
    """One submission to a tax authority. `kind` is B2BRouter's `type` (Verifactu, TicketBai…)."""

    id: int
    kind: str
    state: str
    label: str | None
    errors: tuple[str, ...]
    warnings: tuple[str, ...]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TaxReport:
        raw_id = data.get("id")
        return cls(
            id=raw_id if isinstance(raw_id, int) and not isinstance(raw_id, bool) else 0,
            kind=str(data.get("type") or "tax report"),
            state=str(data.get("state") or "unknown"),
            label=str(data["label"]) if data.get("label") else None,
            errors=messages(data.get("errors")),
            warnings=messages(data.get("warnings")),
        )

    @property
    def reason(self) -> str | None:
        """What the authority or B2BRouter said, errors first."""
        said = self.errors or self.warnings
        return "; ".join(said) if said else None


@dataclass(frozen=True)
class Validation:
    """B2BRouter's verdict on an invoice before delivery."""

    valid: bool
    errors: tuple[str, ...]

    @classmethod
    def from_json(cls, data: Any) -> Validation:
        if not isinstance(data, dict):
            return cls(False, ("B2BRouter's validation answer was not an object",))
        errors = messages(data.get("errors"))
        # Absent `valid` with no errors: nothing against it. A present `valid` is believed.
        valid = data.get("valid")
        return cls(bool(valid) if isinstance(valid, bool) else not errors, errors)
