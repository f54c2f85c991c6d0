"""Typed read views of the QuickBooks rows the product reads.

QuickBooks answers with loosely typed JSON (`TotalAmt` as `477.5` or `0`, references as
`{"value": …, "name": …}`, optional everything). Every field the use cases read is taken out
here, once, so nothing else indexes raw dicts or converts amounts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, Self

from invoicesync.marker import marker_of, origin_of


def _ref(row: Mapping[str, Any], key: str, part: str = "value") -> str | None:
    ref = row.get(key)
    if isinstance(ref, Mapping) and ref.get(part) is not None:
        return str(ref[part])
    return None


def _decimal(value: Any) -> Decimal | None:
    """An amount as QuickBooks wrote it (`477.5`, `0`, `275.0`) with at least two decimals,
    so it compares, stores and prints like the source's `477.50`; never rounded."""
    if value is None:
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:  # an XML answer's malformed number: unknown, not a crash
        return None
    if not amount.is_finite():
        return None
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent > -2:
        return amount.quantize(Decimal("0.01"))
    return amount


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


class Entity(StrEnum):
    """The QuickBooks sales documents we write. Each has its own endpoint and its own Id
    sequence (Invoice 1 and CreditMemo 1 are two documents), so every request that names a
    document by Id takes its entity, and the path comes from it, never from a convention."""

    INVOICE = "Invoice"
    CREDIT_MEMO = "CreditMemo"

    @property
    def path(self) -> str:
        """The resource in URLs: `invoice`, `creditmemo` (Intuit's API reference)."""
        return self.value.lower()


@dataclass(frozen=True)
class QBOInvoice:
    """An Invoice or a CreditMemo as QuickBooks returned it, with the fields we read, and which
    of the two it is (`entity`: where it was read from)."""

    id: str
    doc_number: str | None
    customer_id: str | None
    customer_name: str | None
    total: Decimal | None
    balance: Decimal | None
    currency: str | None
    sync_token: str | None
    txn_date: str | None
    due_date: str | None
    private_note: str | None
    updated_at: str | None
    payments: tuple[str, ...] = ()  # Ids of the payments applied (LinkedTxn of type Payment)
    entity: Entity = field(kw_only=True)

    @classmethod
    def from_row(cls, row: Mapping[str, Any], entity: Entity) -> Self:
        meta = row.get("MetaData")
        return cls(
            entity=entity,
            id=str(row["Id"]),
            doc_number=_text(row.get("DocNumber")),
            customer_id=_ref(row, "CustomerRef"),
            customer_name=_ref(row, "CustomerRef", "name"),
            total=_decimal(row.get("TotalAmt")),
            balance=_decimal(row.get("Balance")),
            currency=_ref(row, "CurrencyRef"),
            sync_token=_text(row.get("SyncToken")),
            txn_date=_text(row.get("TxnDate")),
            due_date=_text(row.get("DueDate")),
            private_note=_text(row.get("PrivateNote")),
            updated_at=_text(meta.get("LastUpdatedTime")) if isinstance(meta, Mapping) else None,
            payments=tuple(
                str(t.get("TxnId"))
                for t in row.get("LinkedTxn") or []
                if isinstance(t, Mapping) and t.get("TxnType") == "Payment"
            ),
        )

    @property
    def marker(self) -> str | None:
        """The invoice number in our marker, if this invoice carries one."""
        return marker_of(self.private_note)

    @property
    def origin(self) -> str | None:
        """The state that created it, if its marker carries an origin (qbo.marker)."""
        return origin_of(self.private_note)

    @property
    def voided(self) -> bool:
        """UNVERIFIED how QuickBooks shows a voided invoice in a read (no Intuit page says):
        amounts zeroed and a PrivateNote beginning with "Voided". Read as a hint only; callers
        also compare with the total they knew."""
        return self.total == 0 and (self.private_note or "").startswith("Voided")

    @property
    def status(self) -> str:
        """open, partly paid, paid or voided, from the amounts QuickBooks keeps."""
        total, balance = self.total or Decimal(0), self.balance or Decimal(0)
        if self.voided:
            return "voided"
        if total > 0 and balance == 0:
            return "paid"
        if 0 < balance < total:
            return "partly paid"
        return "open"


@dataclass(frozen=True)
class NamedRow:
    """A Customer, Item, Term, TaxCode or Account: what name resolution needs."""

    id: str
    name: str
    full_name: str
    active: bool
    currency: str | None = None
    account_type: str | None = None  # an Account's AccountType ("Income", "Bank", …)

    @classmethod
    def from_row(cls, row: Mapping[str, Any], name_key: str = "Name") -> NamedRow:
        name = str(row.get(name_key) or row.get("Name") or "")
        return cls(
            id=str(row["Id"]),
            name=name,
            full_name=str(row.get("FullyQualifiedName") or name),
            active=bool(row.get("Active", True)),
            currency=_ref(row, "CurrencyRef"),
            account_type=_text(row.get("AccountType")),
        )


@dataclass(frozen=True)
class CompanyFacts:
    """CompanyInfo and Preferences: what the mapping and the guard need to know."""

    name: str
    country: str | None
    home_currency: str
    multicurrency: bool
    custom_txn_numbers: bool

    @classmethod
    def from_rows(cls, info: Mapping[str, Any], prefs: Mapping[str, Any]) -> CompanyFacts:
        currency = prefs.get("CurrencyPrefs") or {}
        sales = prefs.get("SalesFormsPrefs") or {}
        return cls(
            name=str(info.get("CompanyName") or ""),
            country=_text(info.get("Country")),
            home_currency=_ref(currency, "HomeCurrency") or "USD",
            multicurrency=bool(currency.get("MultiCurrencyEnabled", False)),
            custom_txn_numbers=bool(sales.get("CustomTxnNumbers", False)),
        )

    @property
    def us(self) -> bool:
        """A US company (sales tax per transaction); a company that names no country is
        treated as one, as QuickBooks' own US default does."""
        return self.country in {None, "US", "USA"}
