"""Payments: money received from a customer, applied to invoices, using credit memos.

A Payment's lines link invoices (reducing their Balance) and credit memos (using their
RemainingCredit): a payment of TotalAmt 0 linking an invoice and a credit memo is how
QuickBooks applies a credit. `TotalAmt` = invoices − credits + `UnappliedAmt`.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from invoicesync.targets.quickbooks.sandbox.errors import (
    business_error,
    invalid_property,
    invalid_reference,
    required_missing,
)
from invoicesync.targets.quickbooks.sandbox.invoices import check_date, set_home_amounts
from invoicesync.targets.quickbooks.sandbox.values import listing, q2, ref, to_decimal

if TYPE_CHECKING:
    from invoicesync.targets.quickbooks.sandbox.company import Company

ZERO = Decimal("0.00")
_OPEN = {"Invoice": "Balance", "CreditMemo": "RemainingCredit"}


def applied(payment: Mapping[str, Any] | None) -> dict[tuple[str, str], Decimal]:
    """What a payment applies, per (TxnType, TxnId)."""
    out: dict[tuple[str, str], Decimal] = {}
    for line in (payment or {}).get("Line", []):
        for link in line.get("LinkedTxn", []):
            key = (str(link["TxnType"]), str(link["TxnId"]))
            out[key] = out.get(key, ZERO) + Decimal(line["Amount"])
    return out


def build_payment(
    company: Company, data: dict[str, Any], *, allow_duplicate_doc: bool = False, updating: str = ""
) -> dict[str, Any]:
    cust_id = ref(data.get("CustomerRef"))
    if not cust_id:
        raise required_missing("CustomerRef")
    customer = company.entities["Customer"].get(cust_id)
    if customer is None:
        raise invalid_reference("Names", cust_id)
    data["CustomerRef"] = {"value": cust_id, "name": customer["DisplayName"]}
    if "TotalAmt" not in data:
        raise required_missing("TotalAmt")
    total = q2(to_decimal(data["TotalAmt"], "TotalAmt"))
    if total < 0:
        raise invalid_property("TotalAmt must not be negative", "TotalAmt")
    currency = customer["CurrencyRef"]
    data["CurrencyRef"] = dict(currency)
    if company.multicurrency:
        rate = company.exchange_rates.get(currency["value"], Decimal("1"))
        if currency["value"] == company.home_currency:
            rate = Decimal("1")
        data["ExchangeRate"] = to_decimal(data.get("ExchangeRate", rate), "ExchangeRate")
    else:
        data.pop("ExchangeRate", None)
    data["TxnDate"] = str(data.get("TxnDate") or company.today().isoformat())
    check_date(data, "TxnDate")
    deposit_to = ref(data.get("DepositToAccountRef"))
    if deposit_to is not None:
        account = company.entities["Account"].get(deposit_to)
        if account is None:
            raise invalid_reference("Accounts", deposit_to)
        data["DepositToAccountRef"] = {"value": deposit_to, "name": account["Name"]}
    data["TotalAmt"] = total
    before = applied(company.entities["Payment"].get(updating)) if updating else {}
    invoices, credits = _check_lines(company, data, cust_id, before)
    if credits > invoices:
        raise business_error("The credits applied exceed the invoices paid by this payment.")
    if invoices - credits > total:
        raise business_error(
            f"The amounts applied ({invoices - credits}) exceed the payment total ({total})."
        )
    data["UnappliedAmt"] = total - (invoices - credits)
    data.pop("Balance", None)
    return data


def _check_lines(
    company: Company, data: dict[str, Any], cust_id: str, before: dict[tuple[str, str], Decimal]
) -> tuple[Decimal, Decimal]:
    """Each line links one open invoice or credit memo of this customer, within its balance."""
    lines = listing(data.get("Line"), "Line")
    sums = {"Invoice": ZERO, "CreditMemo": ZERO}
    wanted: dict[tuple[str, str], Decimal] = {}
    out = []
    for raw in lines:
        links = listing(raw.get("LinkedTxn"), "LinkedTxn")
        if len(links) != 1:
            raise invalid_property("Each payment line links exactly one transaction", "LinkedTxn")
        kind, txn_id = str(links[0].get("TxnType", "")), str(links[0].get("TxnId", ""))
        if kind not in _OPEN:
            raise invalid_property(f"A payment cannot be applied to TxnType={kind}", "TxnType")
        target = company.entities[kind].get(txn_id)
        if target is None:
            raise invalid_reference(kind, txn_id)
        if target["CustomerRef"]["value"] != cust_id:
            raise business_error(f"{kind} {txn_id} belongs to another customer.")
        amount = q2(to_decimal(raw.get("Amount"), "Amount"))
        if amount <= 0:
            raise invalid_property("A payment line amount must be greater than zero", "Amount")
        wanted[(kind, txn_id)] = wanted.get((kind, txn_id), ZERO) + amount
        if wanted[(kind, txn_id)] > target[_OPEN[kind]] + before.get((kind, txn_id), ZERO):
            raise business_error(
                f"The amount applied to {kind} {txn_id} is more than its open balance "
                f"({target[_OPEN[kind]]})."
            )
        sums[kind] += amount
        out.append({"Amount": amount, "LinkedTxn": [{"TxnId": txn_id, "TxnType": kind}]})
    data["Line"] = out
    return sums["Invoice"], sums["CreditMemo"]


def settle(company: Company, old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> None:
    """Move balances from what `old` applied to what `new` applies (either may be None)."""
    before, after = applied(old), applied(new)
    payment_id = str((new or old or {}).get("Id"))
    for key in sorted(set(before) | set(after)):
        delta = after.get(key, ZERO) - before.get(key, ZERO)
        kind, txn_id = key
        target = company.entities[kind].get(txn_id)
        if target is None:
            continue
        target[_OPEN[kind]] -= delta
        if kind == "CreditMemo":
            target["Balance"] = target["RemainingCredit"]
        links = [t for t in target.get("LinkedTxn", []) if t.get("TxnId") != payment_id]
        if key in after:
            links.append({"TxnId": payment_id, "TxnType": "Payment"})
        changed = delta != 0 or links != target.get("LinkedTxn", [])
        target["LinkedTxn"] = links
        set_home_amounts(target)
        if changed:
            company.touch(target)


def void(current: dict[str, Any]) -> None:
    """A voided payment applies nothing and is worth nothing (its row stays)."""
    current["TotalAmt"] = ZERO
    current["UnappliedAmt"] = ZERO
    current["Line"] = []
    note = current.get("PrivateNote")
    current["PrivateNote"] = f"Voided - {note}" if note else "Voided"
