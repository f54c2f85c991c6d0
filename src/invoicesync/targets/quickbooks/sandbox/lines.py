"""Invoice lines and tax: line validation (6070, 6100), the SubTotal line, TxnTaxDetail.

US companies use TAX/NON per line and one transaction tax code; elsewhere every line carries
a tax code and tax is computed per rate (half-up), inclusive or exclusive.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from invoicesync.targets.quickbooks.sandbox.errors import (
    Fault,
    business_error,
    inactive_reference,
    invalid_property,
    invalid_reference,
    required_missing,
)
from invoicesync.targets.quickbooks.sandbox.values import mapping, q2, ref, to_decimal

if TYPE_CHECKING:
    from invoicesync.targets.quickbooks.sandbox.company import Company

ZERO = Decimal("0.00")


def build_lines_and_tax(company: Company, data: dict[str, Any]) -> None:
    """Number and check the lines, append SubTotal, compute TxnTaxDetail and TotalAmt."""
    out: list[dict[str, Any]] = []
    subtotal = ZERO
    by_code: dict[str, Decimal] = {}
    discounts: list[dict[str, Any]] = []
    for raw in data["Line"]:
        line = dict(raw)
        kind = line.get("DetailType")
        if kind == "DescriptionOnly":
            line.setdefault("DescriptionLineDetail", {})
        elif kind == "SalesItemLineDetail":
            code = _sales_line(company, line)
            subtotal += line["Amount"]
            by_code[code] = by_code.get(code, ZERO) + line["Amount"]
        elif kind == "DiscountLineDetail":
            discounts.append(line)
            continue
        else:
            raise invalid_property(f"Unsupported line DetailType: {kind}")
        line.update({"Id": str(len(out) + 1), "LineNum": len(out) + 1})
        out.append(line)
    out.append({"Amount": subtotal, "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}})
    discount = _discount(discounts, subtotal)
    for line in discounts:  # QuickBooks lists the discount after the subtotal
        line.update({"Id": str(len(out)), "LineNum": len(out)})
        out.append(line)
    if discount and data.get("ApplyTaxAfterDiscount"):
        by_code = {c: q2(net - net * discount / subtotal) for c, net in by_code.items()}
    data["Line"] = out
    inclusive = data.get("GlobalTaxCalculation") == "TaxInclusive"
    if company.country == "US":
        data.pop("GlobalTaxCalculation", None)
        data["TxnTaxDetail"] = _us_tax(company, data, by_code)
    else:
        data["GlobalTaxCalculation"] = "TaxInclusive" if inclusive else "TaxExcluded"
        data["TxnTaxDetail"] = _vat(company, by_code, inclusive)
    total_tax = data["TxnTaxDetail"]["TotalTax"]
    data["TotalAmt"] = (subtotal if inclusive else subtotal + total_tax) - discount


def _discount(lines: list[dict[str, Any]], subtotal: Decimal) -> Decimal:
    """The discount lines' amount (percent of the subtotal, or a fixed amount), half-up."""
    if len(lines) > 1:
        raise business_error("Only one discount line is allowed on a transaction.")
    if not lines:
        return ZERO
    line = lines[0]
    detail = mapping(line.get("DiscountLineDetail"), "DiscountLineDetail")
    if detail.get("PercentBased"):
        percent = to_decimal(detail.get("DiscountPercent"), "DiscountPercent")
        if not 0 <= percent <= 100:
            raise invalid_property("DiscountPercent must be between 0 and 100", "DiscountPercent")
        amount = q2(subtotal * percent / 100)
        detail["DiscountPercent"] = percent
    else:
        amount = q2(to_decimal(line.get("Amount"), "Amount"))
        detail["PercentBased"] = False
    if amount < 0 or amount > subtotal:
        raise business_error("The discount must be between zero and the subtotal.")
    line["Amount"] = amount
    line["DiscountLineDetail"] = detail
    return amount


def _sales_line(company: Company, line: dict[str, Any]) -> str:
    """Check one sales line in place (amount half-up, item active); returns its tax code."""
    detail = mapping(line.get("SalesItemLineDetail"), "SalesItemLineDetail")
    item_id = ref(detail.get("ItemRef"))
    if not item_id:
        raise required_missing("ItemRef")
    item = company.entities["Item"].get(item_id)
    if item is None:
        raise invalid_reference("Item", item_id)
    if not item.get("Active", True):
        raise inactive_reference()
    detail["ItemRef"] = {"value": item_id, "name": item["Name"]}
    qty = to_decimal(detail["Qty"], "Qty") if "Qty" in detail else None
    price = to_decimal(detail["UnitPrice"], "UnitPrice") if "UnitPrice" in detail else None
    if qty == 0 and price == 0 and "Amount" in line:
        # A client that fills every field with defaults (python-quickbooks sends Qty 0 and
        # UnitPrice 0 beside the Amount): the amount stands, as QuickBooks takes it.
        qty = price = None
        detail.pop("Qty")
        detail.pop("UnitPrice")
    if price is None and qty is not None and "UnitPrice" in item:
        price = item["UnitPrice"]
    amount = to_decimal(line["Amount"], "Amount") if "Amount" in line else None
    if qty is not None and price is not None:
        expected = q2(qty * price)
        if amount is None:
            amount = expected
        elif q2(amount) != expected:
            raise Fault(
                "6070",
                "Amount calculation incorrect in the request",
                f"Amount is not equal to UnitPrice * Qty. Supplied value:{amount:,}",
            )
    if amount is None:
        raise required_missing("Amount")
    if qty is not None:
        detail["Qty"] = qty
    if price is not None:
        detail["UnitPrice"] = price
    code = _line_tax_code(company, ref(detail.get("TaxCodeRef")))
    detail["TaxCodeRef"] = {"value": code}
    line["Amount"] = q2(amount)
    line["SalesItemLineDetail"] = detail
    return code


def _line_tax_code(company: Company, code: str | None) -> str:
    if company.country == "US":
        code = code or "NON"
        if code not in {"TAX", "NON"}:
            raise Fault(
                "6100",
                "Invalid Line TaxCode in the request",
                f"Valid Line TaxCodes for US should be TAX or NON. Supplied value:{code}",
            )
        return code
    if code is None:
        raise business_error("Make sure all your transactions have a VAT rate before you save.")
    found = company.entities["TaxCode"].get(code)
    if found is None:
        raise invalid_reference("TaxCode", code)
    if not found.get("Active", True):
        raise inactive_reference()
    return code


def _us_tax(company: Company, data: dict[str, Any], by_code: dict[str, Decimal]) -> dict[str, Any]:
    """US: tax only from an explicit transaction tax code, on the TAX lines."""
    txn_code = ref(mapping(data.get("TxnTaxDetail"), "TxnTaxDetail").get("TxnTaxCodeRef"))
    txn_tax: dict[str, Any] = {}
    tax_lines: list[dict[str, Any]] = []
    if txn_code:
        code_entity = company.entities["TaxCode"].get(txn_code)
        if code_entity is None:
            raise invalid_reference("TaxCode", txn_code)
        txn_tax["TxnTaxCodeRef"] = {"value": txn_code}
        taxable = by_code.get("TAX", ZERO)
        for rate_detail in code_entity["SalesTaxRateList"]["TaxRateDetail"]:
            tax_lines.append(_tax_line(company, rate_detail, taxable, inclusive=False))
    txn_tax["TotalTax"] = sum((t["Amount"] for t in tax_lines), ZERO)
    if tax_lines:
        txn_tax["TaxLine"] = tax_lines
    return txn_tax


def _vat(company: Company, by_code: dict[str, Decimal], inclusive: bool) -> dict[str, Any]:
    tax_lines: list[dict[str, Any]] = []
    for code, net in by_code.items():
        for rate_detail in company.entities["TaxCode"][code]["SalesTaxRateList"]["TaxRateDetail"]:
            tax_lines.append(_tax_line(company, rate_detail, net, inclusive=inclusive))
    detail: dict[str, Any] = {"TotalTax": sum((t["Amount"] for t in tax_lines), ZERO)}
    if tax_lines:
        detail["TaxLine"] = tax_lines
    return detail


def _tax_line(
    company: Company, rate_detail: Mapping[str, Any], net: Decimal, *, inclusive: bool
) -> dict[str, Any]:
    rate = company.entities["TaxRate"][rate_detail["TaxRateRef"]["value"]]["RateValue"]
    if inclusive:
        base = q2(net / (1 + rate / 100))
        amount = net - base
    else:
        base = net
        amount = q2(net * rate / 100)
    return {
        "Amount": amount,
        "DetailType": "TaxLineDetail",
        "TaxLineDetail": {
            "TaxRateRef": {"value": rate_detail["TaxRateRef"]["value"]},
            "PercentBased": True,
            "TaxPercent": rate,
            "NetAmountTaxable": base,
        },
    }
