"""Invoice rules: references, currency, DocNumber, dates and terms, lines, tax, void, payments.

Follows Intuit's Invoice reference, https://developer.intuit.com/docs/api/accounting/invoice
and entity schema (Finance.xsd in https://github.com/intuit/QuickBooks-V3-Java-SDK); where
they leave a behaviour open (UNVERIFIED), the choice is listed in docs/sandbox.md.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
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
from invoicesync.targets.quickbooks.sandbox.lines import build_lines_and_tax
from invoicesync.targets.quickbooks.sandbox.schema import CURRENCY_NAMES
from invoicesync.targets.quickbooks.sandbox.values import listing, q2, ref, to_decimal

if TYPE_CHECKING:
    from invoicesync.targets.quickbooks.sandbox.company import Company

DOC_NUMBER_MAX = 21
COMPUTED = ("TotalAmt", "Balance", "HomeTotalAmt", "HomeBalance")


TXN_TYPE_NAMES = {"Invoice": "Invoice", "CreditMemo": "Credit Memo"}


def build_invoice(
    company: Company, data: dict[str, Any], *, allow_duplicate_doc: bool = False, updating: str = ""
) -> dict[str, Any]:
    customer = _sales_form(company, "Invoice", data, allow_duplicate_doc, updating)
    _dates_and_terms(company, data, customer)
    build_lines_and_tax(company, data)
    data.setdefault("EmailStatus", "NotSet")
    data.setdefault("PrintStatus", "NotSet")
    if "Deposit" in data:  # only when the request set one
        data["Deposit"] = q2(to_decimal(data["Deposit"], "Deposit"))
        if not 0 <= data["Deposit"] <= data["TotalAmt"]:
            raise business_error("The deposit must be between zero and the invoice total.")
    data.setdefault("LinkedTxn", [])
    data.setdefault("ApplyTaxAfterDiscount", False)
    data["Balance"] = data["TotalAmt"] - data.get("Deposit", Decimal("0"))
    set_home_amounts(data)
    return data


def build_credit_memo(
    company: Company, data: dict[str, Any], *, allow_duplicate_doc: bool = False, updating: str = ""
) -> dict[str, Any]:
    """A credit note: an invoice's rules without terms; its total is credit to apply."""
    _sales_form(company, "CreditMemo", data, allow_duplicate_doc, updating)
    data.pop("SalesTermRef", None)
    data.pop("DueDate", None)
    data["TxnDate"] = str(data.get("TxnDate") or company.today().isoformat())
    check_date(data, "TxnDate")
    build_lines_and_tax(company, data)
    data.setdefault("EmailStatus", "NotSet")
    data.setdefault("PrintStatus", "NotSet")
    data.setdefault("ApplyTaxAfterDiscount", False)
    data["LinkedTxn"] = []
    data["Balance"] = data["RemainingCredit"] = data["TotalAmt"]
    set_home_amounts(data)
    return data


def _sales_form(
    company: Company, kind: str, data: dict[str, Any], allow_duplicate_doc: bool, updating: str
) -> dict[str, Any]:
    """What invoices and credit memos share: customer, currency, DocNumber."""
    for computed in (*COMPUTED, "RemainingCredit"):  # read-only: what a client sends is ignored
        data.pop(computed, None)
    customer = _customer(company, data)
    _currency(company, data, customer)
    _doc_number(company, kind, data, allow_duplicate_doc=allow_duplicate_doc, updating=updating)
    return customer


def set_home_amounts(data: dict[str, Any]) -> None:
    """Multicurrency companies carry home-currency totals on every transaction."""
    if "ExchangeRate" in data:
        data["HomeTotalAmt"] = q2(data["TotalAmt"] * data["ExchangeRate"])
        data["HomeBalance"] = q2(data["Balance"] * data["ExchangeRate"])


def _customer(company: Company, data: dict[str, Any]) -> dict[str, Any]:
    cust_id = ref(data.get("CustomerRef"))
    if not cust_id:
        raise required_missing("CustomerRef")
    if not data.get("Line"):
        raise required_missing("Line")
    data["Line"] = listing(data["Line"], "Line")
    customer = company.entities["Customer"].get(cust_id)
    if customer is None:
        raise invalid_reference("Names", cust_id)
    if not customer.get("Active", True):
        raise inactive_reference()
    data["CustomerRef"] = {"value": cust_id, "name": customer["DisplayName"]}
    return customer


def _currency(company: Company, data: dict[str, Any], customer: dict[str, Any]) -> None:
    own = customer["CurrencyRef"]["value"]
    currency = ref(data.get("CurrencyRef")) or own
    if currency != company.home_currency and not company.multicurrency:
        raise business_error(
            f"You can't use {currency} because multicurrency is not turned on for this company."
        )
    if currency != own:
        raise business_error(
            f"The currency of the transaction ({currency}) must match the currency of the "
            f"customer ({own})."
        )
    data["CurrencyRef"] = {"value": currency, "name": CURRENCY_NAMES.get(currency, currency)}
    if not company.multicurrency:
        data.pop("ExchangeRate", None)
        return
    if currency == company.home_currency:
        data["ExchangeRate"] = Decimal("1")
        return
    rate = data.get("ExchangeRate")
    data["ExchangeRate"] = (
        to_decimal(rate, "ExchangeRate")
        if rate is not None
        else company.exchange_rates.get(currency, Decimal("1"))
    )
    if data["ExchangeRate"] <= 0:
        raise invalid_property("ExchangeRate must be greater than zero", "ExchangeRate")


def _doc_number(
    company: Company, kind: str, data: dict[str, Any], *, allow_duplicate_doc: bool, updating: str
) -> None:
    doc = data.get("DocNumber")
    if doc == "AUTO_GENERATE" or (doc in (None, "") and not company.custom_txn_numbers):
        doc = company.next_doc()
    if doc in (None, ""):
        data.pop("DocNumber", None)
        return
    doc = str(doc)
    if len(doc) > DOC_NUMBER_MAX:
        raise Fault(
            "2050",
            "Length exceeds limit",
            f"Length of the field exceeds {DOC_NUMBER_MAX} chars",
            element="DocNumber",
        )
    # With custom transaction numbers off, QuickBooks numbers invoices itself and takes a
    # supplied number as it is, without a duplicate check (the Invoice reference's DocNumber,
    # quoted at https://whosebug.com/question/5669584).
    # The check spans invoices and credit memos (a collision with a credit memo is reported
    # in the wild, https://support.clio.com/hc/en-us/articles/115003454593; the exact scope
    # is UNVERIFIED).
    owners = [(e, i) for e, i in company.doc_owners(doc) if (e, i) != (kind, updating)]
    if owners and company.custom_txn_numbers and not allow_duplicate_doc:
        owner_kind, owner_id = owners[0]
        raise Fault(
            "6140",
            "Duplicate Document Number Error",
            "Duplicate Document Number Error : You must specify a different "
            "number. This number has already been used. "
            f"DocNumber={doc} is assigned to TxnType={TXN_TYPE_NAMES[owner_kind]} with "
            f"TxnId={owner_id}",
        )
    data["DocNumber"] = doc
    company.bump_doc_sequence(doc)


def _dates_and_terms(company: Company, data: dict[str, Any], customer: dict[str, Any]) -> None:
    data["TxnDate"] = txn_date = str(data.get("TxnDate") or company.today().isoformat())
    check_date(data, "TxnDate")
    term_id = ref(data.get("SalesTermRef"))
    if term_id is None:
        term_id = ref(customer.get("SalesTermRef"))
        if term_id is None and company.default_terms:
            term_id = company.id_by_name("Term", company.default_terms)
    if term_id is not None:
        term = company.entities["Term"].get(term_id)
        if term is None:
            raise invalid_reference("Term", term_id)
        if not term.get("Active", True):
            raise inactive_reference()
        data["SalesTermRef"] = {"value": term_id, "name": term["Name"]}
    if data.get("DueDate"):
        check_date(data, "DueDate")
    else:
        days = company.entities["Term"][term_id]["DueDays"] if term_id else 0
        try:
            due = date.fromisoformat(txn_date) + timedelta(days=days)
        except OverflowError:
            raise invalid_property(
                f"DueDate is invalid: {txn_date} plus {days} days is past 9999-12-31", "DueDate"
            ) from None
        data["DueDate"] = due.isoformat()


def check_date(data: dict[str, Any], field: str) -> None:
    try:
        date.fromisoformat(str(data[field]))
    except ValueError:
        raise invalid_property(f"{field} is invalid: {data[field]}", field) from None


def carry_payments(current: dict[str, Any], rebuilt: dict[str, Any]) -> None:
    """After an update is rebuilt: what was paid stays paid."""
    paid = current["TotalAmt"] - current["Balance"] - current.get("Deposit", Decimal("0"))
    deposit = rebuilt.get("Deposit", Decimal("0"))
    if rebuilt["TotalAmt"] - deposit < paid:
        raise business_error(
            f"The total cannot be less than the {paid} already paid on this transaction."
        )
    rebuilt["Balance"] = rebuilt["TotalAmt"] - deposit - paid
    if current.get("LinkedTxn"):
        rebuilt["LinkedTxn"] = current["LinkedTxn"]
    set_home_amounts(rebuilt)


def void(current: dict[str, Any]) -> None:
    """Zero the amounts of a voided invoice (representation UNVERIFIED, see docs/sandbox.md).

    An invoice with payments or credits applied is refused: QuickBooks would unlink them,
    which the sandbox does not model (docs/sandbox.md)."""
    if any(t.get("TxnType") == "Payment" for t in current.get("LinkedTxn", [])):
        raise business_error(
            "This invoice has payments applied. Delete or change the payments before voiding it."
        )
    for line in current["Line"]:
        line["Amount"] = Decimal("0.00")
        detail = line.get("SalesItemLineDetail")
        if detail and "Qty" in detail:
            detail["Qty"] = Decimal("0")
    current["TotalAmt"] = Decimal("0.00")
    current["Balance"] = Decimal("0.00")
    current["TxnTaxDetail"] = {"TotalTax": Decimal("0.00")}
    note = current.get("PrivateNote")
    current["PrivateNote"] = f"Voided - {note}" if note else "Voided"
    current.pop("Deposit", None)
    set_home_amounts(current)


_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def send(
    company: Company, entity: str, current: dict[str, Any], send_to: str | None
) -> dict[str, str]:
    """QuickBooks e-mails the invoice or credit memo: EmailStatus EmailSent, DeliveryInfo, and
    BillEmail set to `sendTo` when given. Returns the record of the e-mail (the sandbox sends
    nothing), naming the transaction by type and Id: the two are numbered apart."""
    if send_to is not None:
        if not _EMAIL.fullmatch(send_to):
            raise invalid_property(f"Invalid email address: {send_to}", "sendTo")
        current["BillEmail"] = {"Address": send_to}
    address = (current.get("BillEmail") or {}).get("Address")
    if not address:
        customer = company.entities["Customer"].get(current["CustomerRef"]["value"], {})
        address = (customer.get("PrimaryEmailAddr") or {}).get("Address")
        if not address:
            raise required_missing("BillEmail")
        current["BillEmail"] = {"Address": address}
    sent_at = company.stamp()
    current["EmailStatus"] = "EmailSent"
    current["DeliveryInfo"] = {"DeliveryType": "Email", "DeliveryTime": sent_at}
    return {"TxnType": entity, "TxnId": current["Id"], "To": address, "SentAt": sent_at}
