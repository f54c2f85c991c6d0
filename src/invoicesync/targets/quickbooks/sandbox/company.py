"""One QuickBooks Online company: its settings and its entity store.

Creating, reading, updating and deleting are generic here; what QuickBooks checks and fills
in per entity lives in `names.py` (customers, items, terms) and `invoices.py`/`lines.py`.
Amounts are `Decimal`; JSON rendering happens in `wire.py`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

from invoicesync.targets.quickbooks.sandbox import (
    attachments,
    invoices,
    names,
    payments,
    pdf,
    preferences,
)
from invoicesync.targets.quickbooks.sandbox import query as qlang
from invoicesync.targets.quickbooks.sandbox.errors import (
    business_error,
    deleted_object,
    not_found,
    required_missing,
    stale_object,
    unsupported,
)
from invoicesync.targets.quickbooks.sandbox.pacific import PACIFIC
from invoicesync.targets.quickbooks.sandbox.schema import (
    KNOWN_FIELDS,
    NAME_LISTS,
    TRANSACTIONS,
    WRITABLE,
)
from invoicesync.targets.quickbooks.sandbox.seeding import (
    CompanyFileError,
    builtin_company,
    load_seed,
    seed_company,
)
from invoicesync.targets.quickbooks.sandbox.values import listing

__all__ = ["Company", "builtin_company", "load_seed"]


class _Builder(Protocol):
    def __call__(
        self,
        company: Company,
        data: dict[str, Any],
        *,
        allow_duplicate_doc: bool = False,
        updating: str = "",
    ) -> dict[str, Any]: ...


_Revise = Callable[[dict[str, Any], dict[str, Any]], None]
_Settle = Callable[["Company", Mapping[str, Any] | None, Mapping[str, Any] | None], None]


@dataclass(frozen=True)
class Rules:
    """What QuickBooks does for one entity: `build` checks and fills a create or an update;
    `revise(current, rebuilt)` carries what an update cannot change (payments received);
    `settle(company, old, new)` moves the effects on other entities (a payment's balances)."""

    build: _Builder
    revise: _Revise | None = None
    settle: _Settle | None = None


RULES: dict[str, Rules] = {
    "Invoice": Rules(invoices.build_invoice, revise=invoices.carry_payments),
    "CreditMemo": Rules(invoices.build_credit_memo, revise=invoices.carry_payments),
    "Payment": Rules(payments.build_payment, settle=payments.settle),
    "Customer": Rules(names.build_customer),
    "Vendor": Rules(names.build_vendor),
    "Employee": Rules(names.build_employee),
    "Item": Rules(names.build_item),
    "Term": Rules(names.build_term),
    "Account": Rules(names.build_account),
    "Attachable": Rules(attachments.build_attachable),
    "CompanyInfo": Rules(preferences.build_company_info),
}
_NOT_COPIED_ON_SPARSE = {"Id", "SyncToken", "sparse", "MetaData", "domain"}
_NUMBERED = {"Invoice", "CreditMemo"}


class Company:
    """Entity store and rules of one realm. Not thread-safe: `app.Sandbox` serialises access."""

    def __init__(self, seed: Mapping[str, Any], now: Callable[[], datetime]) -> None:
        info = seed.get("company", {})
        self.realm_id = str(info.get("realm_id", "9130350000000001"))
        if not self.realm_id.isdigit():
            raise CompanyFileError(f"realm_id must be digits, not {self.realm_id!r}")
        self.name = str(info.get("name", "Sandbox Company"))
        self.country = str(info.get("country", "US"))
        self.home_currency = str(info.get("home_currency", "USD"))
        self.custom_txn_numbers = bool(info.get("custom_txn_numbers", True))
        self.multicurrency = bool(info.get("multicurrency", False))
        self.next_doc_number = int(info.get("next_doc_number", 1001))
        self.default_terms: str | None = info.get("default_terms")
        self.exchange_rates = {
            str(k): Decimal(str(v)) for k, v in info.get("exchange_rates", {}).items()
        }
        self._now = now
        self.entities: dict[str, dict[str, dict[str, Any]]] = {k: {} for k in KNOWN_FIELDS}
        self.deleted: list[tuple[str, str, str]] = []  # (entity, id, LastUpdatedTime)
        # DocNumber -> (entity, id) of invoices and credit memos (the 6140 check)
        self._docs: dict[str, list[tuple[str, str]]] = {}
        self.files: dict[str, bytes] = {}  # Attachable id -> uploaded content
        self._next_id: dict[str, int] = {}
        self.sent: list[dict[str, str]] = []  # e-mails the send operation "sent"
        self.prefs_meta = {"SyncToken": "0", "CreateTime": "", "LastUpdatedTime": ""}
        seed_company(self, seed)

    # --- time, ids, stamps ----------------------------------------------------------------

    def stamp(self) -> str:
        return self._now().astimezone(PACIFIC).isoformat(timespec="seconds")

    def today(self) -> date:
        return self._now().astimezone(PACIFIC).date()

    def new_id(self, kind: str) -> str:
        n = self._next_id.get(kind, 1)
        while str(n) in self.entities[kind]:
            n += 1
        self._next_id[kind] = n + 1
        return str(n)

    def stamped(self, entity: dict[str, Any]) -> dict[str, Any]:
        now = self.stamp()
        entity.setdefault("SyncToken", "0")
        entity["domain"] = "QBO"
        entity["sparse"] = False
        entity["MetaData"] = {"CreateTime": now, "LastUpdatedTime": now}
        return entity

    def touch(self, entity: dict[str, Any]) -> None:
        entity["SyncToken"] = str(int(entity["SyncToken"]) + 1)
        entity["MetaData"]["LastUpdatedTime"] = self.stamp()

    # --- look-ups -------------------------------------------------------------------------

    def id_by_name(self, kind: str, name: str) -> str:
        for entity in self.entities[kind].values():
            if entity.get("Name") == name:
                return str(entity["Id"])
        raise KeyError(f"unknown {kind} {name!r}")

    def customer_by_fqn(self, fqn: str) -> dict[str, Any]:
        for entity in self.entities["Customer"].values():
            if entity.get("FullyQualifiedName") == fqn:
                return entity
        raise KeyError(f"unknown customer {fqn!r}")

    def doc_owners(self, doc: str) -> list[tuple[str, str]]:
        return list(self._docs.get(doc, []))

    def next_doc(self) -> str:
        while str(self.next_doc_number) in self._docs:
            self.next_doc_number += 1
        value = str(self.next_doc_number)
        self.next_doc_number += 1
        return value

    def bump_doc_sequence(self, doc: str) -> None:
        # QBO continues any numeric suffix it sees (an Intuit community answer: https://quickbooks.intuit.com/learn-support/en-us/other-questions/error-code-6140-duplicate-document-error-manual-invoices-are/00/1533226);
        # we follow plain numbers only, which is what the auto-sequence produces.
        if doc.isdigit() and int(doc) >= self.next_doc_number:
            self.next_doc_number = int(doc) + 1

    def preferences(self) -> dict[str, Any]:
        return preferences.read(self)

    def update_preferences(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """`POST /preferences`: custom transaction numbers on/off, multicurrency on (only)."""
        return preferences.update(self, body)

    # --- reads ----------------------------------------------------------------------------

    def rows(self, entity: str) -> list[dict[str, Any]]:
        if entity == "Preferences":
            return [self.preferences()]
        return list(self.entities[entity].values())

    def query(self, text: str) -> tuple[str, list[dict[str, Any]], int, qlang.Query]:
        parsed = qlang.parse(text)
        # The entity name is matched in any case (`select * from customer`), and the answer
        # names it in its own spelling (`QueryResponse.Customer`): docs/sandbox.md, "Queries".
        entity = next((k for k in KNOWN_FIELDS if k.casefold() == parsed.entity.casefold()), None)
        if entity is None:
            raise qlang.validation_error(f"Entity {parsed.entity} not found")
        parsed.entity = entity
        rows = self.rows(parsed.entity)
        if parsed.entity in NAME_LISTS and not any(c.field == "Active" for c in parsed.where):
            # Name lists answer with active records unless the query asks about `Active`.
            rows = [r for r in rows if r.get("Active", True)]
        page, total = qlang.execute(parsed, rows, KNOWN_FIELDS[parsed.entity])
        found = [copy.deepcopy(dict(r)) for r in page]
        if not parsed.star:  # a property list: those named, plus what identifies the row
            keep = {*parsed.properties, "Id", "SyncToken", "domain"}
            found = [{k: v for k, v in r.items() if k in keep} | {"sparse": True} for r in found]
        return parsed.entity, found, total, parsed

    def read(self, entity: str, entity_id: str) -> dict[str, Any]:
        if entity == "Preferences":
            return self.preferences()
        return copy.deepcopy(self._current(entity, entity_id))

    def _current(self, entity: str, entity_id: str) -> dict[str, Any]:
        found = self.entities[entity].get(entity_id)
        if found is None:
            if any(e == entity and i == entity_id for e, i, _ in self.deleted):
                raise deleted_object()
            raise not_found(entity, entity_id)
        return found

    def changed_since(self, entities: Iterable[str], since: datetime) -> dict[str, list[Any]]:
        out: dict[str, list[Any]] = {}
        for name in entities:
            rows: list[Any] = [
                copy.deepcopy(e)
                for e in self.entities.get(name, {}).values()
                if datetime.fromisoformat(e["MetaData"]["LastUpdatedTime"]) >= since
            ]
            rows += [
                {"domain": "QBO", "status": "Deleted", "Id": i, "MetaData": {"LastUpdatedTime": t}}
                for e, i, t in self.deleted
                if e == name and datetime.fromisoformat(t) >= since
            ]
            out[name] = rows
        return out

    # --- writes ---------------------------------------------------------------------------

    def create(
        self, entity: str, body: Mapping[str, Any], *, allow_duplicate_doc: bool = False
    ) -> dict[str, Any]:
        if entity not in WRITABLE:
            raise unsupported(f"Operation create on {entity} is not supported.")
        data = copy.deepcopy(dict(body))
        data.pop("Id", None)
        data.pop("SyncToken", None)
        rules = RULES[entity]
        built = rules.build(self, data, allow_duplicate_doc=allow_duplicate_doc)
        built["Id"] = self.new_id(entity)
        self.stamped(built)
        self.entities[entity][built["Id"]] = built
        self._index(entity, None, built)
        if rules.settle:
            rules.settle(self, None, built)
        return copy.deepcopy(built)

    def _index(
        self, entity: str, old: Mapping[str, Any] | None, new: Mapping[str, Any] | None
    ) -> None:
        if entity not in _NUMBERED:
            return
        if old is not None and old.get("DocNumber"):
            owners = self._docs.get(old["DocNumber"], [])
            if (entity, old["Id"]) in owners:
                owners.remove((entity, old["Id"]))
            if not owners:
                self._docs.pop(old["DocNumber"], None)
        if new is not None and new.get("DocNumber"):
            self._docs.setdefault(new["DocNumber"], []).append((entity, new["Id"]))

    def _for_write(self, entity: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """The stored entity an update/void/delete names, its SyncToken checked (5010)."""
        entity_id = str(body.get("Id") or "")
        if not entity_id:
            raise required_missing("Id")
        if "SyncToken" not in body:
            raise required_missing("SyncToken")
        current = self._current(entity, entity_id)
        if str(body.get("SyncToken")) != current["SyncToken"]:
            raise stale_object(entity)
        return current

    def update(
        self, entity: str, body: Mapping[str, Any], *, allow_duplicate_doc: bool = False
    ) -> dict[str, Any]:
        """Full update (omitted writable fields are cleared) or sparse (`"sparse": true`)."""
        current = self._for_write(entity, body)
        entity_id = current["Id"]
        if body.get("sparse") is True:
            merged = copy.deepcopy(current)
            for key, value in body.items():
                if key not in _NOT_COPIED_ON_SPARSE:
                    merged[key] = copy.deepcopy(value)
        else:
            merged = {k: copy.deepcopy(v) for k, v in body.items() if k != "MetaData"}
        if "Line" in merged:
            merged["Line"] = [
                ln
                for ln in listing(merged["Line"], "Line")
                if ln.get("DetailType") != "SubTotalLineDetail"
            ]
        rules = RULES[entity]
        rebuilt = rules.build(
            self, merged, allow_duplicate_doc=allow_duplicate_doc, updating=entity_id
        )
        if rules.revise:
            rules.revise(current, rebuilt)
        return self._replace(entity, current, rebuilt)

    def _replace(self, entity: str, current: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
        new["Id"] = current["Id"]
        new["SyncToken"] = current["SyncToken"]
        new["MetaData"] = dict(current["MetaData"])
        new["domain"], new["sparse"] = "QBO", False
        self.touch(new)
        self._index(entity, current, new)
        self.entities[entity][current["Id"]] = new
        settle = RULES[entity].settle
        if settle:
            settle(self, current, new)
        return copy.deepcopy(new)

    def void(self, body: Mapping[str, Any], entity: str = "Invoice") -> dict[str, Any]:
        """Invoices: `?operation=void`; payments: `?operation=update&include=void`."""
        current = self._for_write(entity, body)
        voided = copy.deepcopy(current)
        if entity == "Invoice":
            invoices.void(voided)
        elif entity == "Payment":
            payments.void(voided)
        else:
            raise unsupported(f"Operation void on {entity} is not supported.")
        return self._replace(entity, current, voided)

    def delete(self, entity: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """Transactions only: names are made inactive, never deleted (2010 otherwise)."""
        if entity not in TRANSACTIONS | {"Attachable"}:
            raise unsupported(f"Operation delete on {entity} is not supported.")
        current = self._for_write(entity, body)
        if entity != "Payment" and any(
            t.get("TxnType") == "Payment" for t in current.get("LinkedTxn", [])
        ):
            raise business_error(
                "This transaction has payments applied. Delete the payments first."
            )
        entity_id = current["Id"]
        del self.entities[entity][entity_id]
        self.files.pop(entity_id, None)
        self._index(entity, current, None)
        settle = RULES[entity].settle
        if settle:
            settle(self, current, None)
        self.deleted.append((entity, entity_id, self.stamp()))
        return {"domain": "QBO", "status": "Deleted", "Id": entity_id}

    def record_payment(
        self,
        invoice_id: str,
        amount: Decimal | None = None,
        *,
        method: str = "",
        reference: str = "",
        txn_date: str = "",
    ) -> dict[str, Any]:
        """Admin helper: the customer pays (all of the balance when `amount` is None). Creates
        a real Payment, as QuickBooks' "Receive payment" does; returns the invoice."""
        current = self._current("Invoice", invoice_id)
        pay = current["Balance"] if amount is None else amount
        body: dict[str, Any] = {
            "CustomerRef": current["CustomerRef"],
            "TotalAmt": pay,
            "Line": [{"Amount": pay, "LinkedTxn": [{"TxnId": invoice_id, "TxnType": "Invoice"}]}],
        }
        if method:
            body["PaymentMethodRef"] = {"value": method, "name": method}
        if reference:
            body["PaymentRefNum"] = reference
        if txn_date:
            body["TxnDate"] = txn_date
        self.create("Payment", body)
        return copy.deepcopy(self._current("Invoice", invoice_id))

    def send(self, entity: str, txn_id: str, send_to: str | None) -> dict[str, Any]:
        """The send operation of an invoice or a credit memo (`POST /{entity}/{id}/send`)."""
        current = self._current(entity, txn_id)
        self.sent.append(invoices.send(self, entity, current, send_to))
        self.touch(current)
        return copy.deepcopy(current)

    def pdf(self, entity: str, entity_id: str) -> bytes:
        """`GET /{entity}/{id}/pdf`: a PDF of the transaction."""
        return pdf.render(self.name, entity, self._current(entity, entity_id))
