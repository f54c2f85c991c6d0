"""One QuickBooks Online company: its settings and its entity store.

Creating, reading, updating and deleting are generic here; what QuickBooks checks and fills
in per entity lives in `names.py` (customers, items, terms) and `invoices.py`/`lines.py`.
Amounts are `Decimal`; JSON rendering happens in `wire.py`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

from invoicesync.sandbox import invoices, names, pdf
from invoicesync.sandbox import query as qlang
from invoicesync.sandbox.errors import (
    business_error,
    deleted_object,
    not_found,
    required_missing,
    stale_object,
    unsupported,
)
from invoicesync.sandbox.pacific import PACIFIC
from invoicesync.sandbox.schema import KNOWN_FIELDS, WRITABLE
from invoicesync.sandbox.seeding import builtin_company, load_seed, seed_company

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


BUILDERS: dict[str, _Builder] = {
    "Invoice": invoices.build_invoice,
    "Customer": names.build_customer,
    "Item": names.build_item,
    "Term": names.build_term,
}
_NOT_COPIED_ON_SPARSE = {"Id", "SyncToken", "sparse", "MetaData", "domain"}


class Company:
    """Entity store and rules of one realm. Not thread-safe: `app.Sandbox` serialises access."""

    def __init__(self, seed: Mapping[str, Any], now: Callable[[], datetime]) -> None:
        info = seed.get("company", {})
        self.realm_id = str(info.get("realm_id", "9130350000000001"))
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
        self._docs: dict[str, list[str]] = {}  # DocNumber -> invoice ids (the 6140 check)
        self._next_id: dict[str, int] = {}
        self.sent: list[dict[str, str]] = []  # e-mails the send operation "sent"
        self._prefs_meta = {"SyncToken": "0", "CreateTime": "", "LastUpdatedTime": ""}
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
        raise KeyError(f"seed refers to unknown {kind} {name!r}")

    def customer_by_fqn(self, fqn: str) -> dict[str, Any]:
        for entity in self.entities["Customer"].values():
            if entity.get("FullyQualifiedName") == fqn:
                return entity
        raise KeyError(f"seed refers to unknown customer {fqn!r}")

    def doc_owners(self, doc: str) -> list[str]:
        return list(self._docs.get(doc, []))

    def next_doc(self) -> str:
        while str(self.next_doc_number) in self._docs:
            self.next_doc_number += 1
        value = str(self.next_doc_number)
        self.next_doc_number += 1
        return value

    def bump_doc_sequence(self, doc: str) -> None:
        # QBO continues any numeric suffix it sees (quickbooks-api.md §3.4); we follow plain
        # numbers only, which is what the auto-sequence produces.
        if doc.isdigit() and int(doc) >= self.next_doc_number:
            self.next_doc_number = int(doc) + 1

    def preferences(self) -> dict[str, Any]:
        meta = self._prefs_meta
        if not meta["CreateTime"]:
            meta["CreateTime"] = meta["LastUpdatedTime"] = self.stamp()
        prefs: dict[str, Any] = {
            "Id": "1",
            "SyncToken": meta["SyncToken"],
            "domain": "QBO",
            "sparse": False,
            "SalesFormsPrefs": {
                "CustomTxnNumbers": self.custom_txn_numbers,
                "AllowDeposit": True,
                "AllowDiscount": True,
            },
            "CurrencyPrefs": {
                "MultiCurrencyEnabled": self.multicurrency,
                "HomeCurrency": {"value": self.home_currency},
            },
            "TaxPrefs": {"UsingSalesTax": bool(self.entities["TaxCode"])},
            "MetaData": {
                "CreateTime": meta["CreateTime"],
                "LastUpdatedTime": meta["LastUpdatedTime"],
            },
        }
        if self.default_terms:
            prefs["SalesFormsPrefs"]["DefaultTerms"] = {
                "value": self.id_by_name("Term", self.default_terms)
            }
        return prefs

    def update_preferences(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """`POST /preferences`: custom transaction numbers on/off, multicurrency on (only)."""
        current = self.preferences()
        if "SyncToken" not in body:
            raise required_missing("SyncToken")
        if str(body["SyncToken"]) != current["SyncToken"]:
            raise stale_object("Preferences")
        sales = body.get("SalesFormsPrefs") or {}
        currency = body.get("CurrencyPrefs") or {}
        if "MultiCurrencyEnabled" in currency:
            wanted = currency["MultiCurrencyEnabled"] is True
            if self.multicurrency and not wanted:
                raise business_error("Multicurrency cannot be turned off once it is on.")
            self.multicurrency = wanted
        if "CustomTxnNumbers" in sales:
            self.custom_txn_numbers = sales["CustomTxnNumbers"] is True
        self._prefs_meta["SyncToken"] = str(int(current["SyncToken"]) + 1)
        self._prefs_meta["LastUpdatedTime"] = self.stamp()
        return self.preferences()

    # --- reads ----------------------------------------------------------------------------

    def rows(self, entity: str) -> list[dict[str, Any]]:
        if entity == "Preferences":
            return [self.preferences()]
        return list(self.entities[entity].values())

    def query(self, text: str) -> tuple[str, list[dict[str, Any]], int, qlang.Query]:
        parsed = qlang.parse(text)
        if parsed.entity not in KNOWN_FIELDS:
            raise qlang.validation_error(f"Entity {parsed.entity} not found")
        page, total = qlang.execute(parsed, self.rows(parsed.entity), KNOWN_FIELDS[parsed.entity])
        rows = [copy.deepcopy(dict(r)) for r in page]
        if not parsed.star:  # a property list: those named, plus what identifies the row
            keep = {*parsed.properties, "Id", "SyncToken", "domain"}
            rows = [{k: v for k, v in r.items() if k in keep} | {"sparse": True} for r in rows]
        return parsed.entity, rows, total, parsed

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
        built = BUILDERS[entity](self, data, allow_duplicate_doc=allow_duplicate_doc)
        built["Id"] = self.new_id(entity)
        self.stamped(built)
        self.entities[entity][built["Id"]] = built
        self._index(entity, None, built)
        return copy.deepcopy(built)

    def _index(
        self, entity: str, old: Mapping[str, Any] | None, new: Mapping[str, Any] | None
    ) -> None:
        if entity != "Invoice":
            return
        if old is not None and old.get("DocNumber"):
            ids = self._docs.get(old["DocNumber"], [])
            if old["Id"] in ids:
                ids.remove(old["Id"])
            if not ids:
                self._docs.pop(old["DocNumber"], None)
        if new is not None and new.get("DocNumber"):
            self._docs.setdefault(new["DocNumber"], []).append(new["Id"])

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
        current = self._for_write(entity, body)
        entity_id = current["Id"]
        if body.get("sparse") is True:
            merged = copy.deepcopy(current)
            for key, value in body.items():
                if key not in _NOT_COPIED_ON_SPARSE:
                    merged[key] = copy.deepcopy(value)
        else:
            merged = {k: copy.deepcopy(v) for k, v in body.items() if k != "MetaData"}
        if entity == "Invoice":
            invoices.strip_computed(merged)
        rebuilt = BUILDERS[entity](
            self, merged, allow_duplicate_doc=allow_duplicate_doc, updating=entity_id
        )
        if entity == "Invoice":
            invoices.carry_payments(current, rebuilt)
        rebuilt["Id"] = entity_id
        rebuilt["SyncToken"] = current["SyncToken"]
        rebuilt["MetaData"] = dict(current["MetaData"])
        rebuilt["domain"], rebuilt["sparse"] = "QBO", False
        self.touch(rebuilt)
        self._index(entity, current, rebuilt)
        self.entities[entity][entity_id] = rebuilt
        return copy.deepcopy(rebuilt)

    def void(self, body: Mapping[str, Any]) -> dict[str, Any]:
        current = self._for_write("Invoice", body)
        invoices.void(current)
        self.touch(current)
        return copy.deepcopy(current)

    def delete(self, entity: str, body: Mapping[str, Any]) -> dict[str, Any]:
        current = self._for_write(entity, body)
        entity_id = current["Id"]
        del self.entities[entity][entity_id]
        self._index(entity, current, None)
        self.deleted.append((entity, entity_id, self.stamp()))
        return {"domain": "QBO", "status": "Deleted", "Id": entity_id}

    def record_payment(self, invoice_id: str, amount: Decimal | None = None) -> dict[str, Any]:
        """Apply a payment (admin helper: payments are outside invoicesync's API surface)."""
        current = self._current("Invoice", invoice_id)
        invoices.apply_payment(current, amount)
        self.touch(current)
        return copy.deepcopy(current)

    def send(self, invoice_id: str, send_to: str | None) -> dict[str, Any]:
        """The invoice send operation (`POST /invoice/{id}/send`)."""
        current = self._current("Invoice", invoice_id)
        self.sent.append(invoices.send(self, current, send_to))
        self.touch(current)
        return copy.deepcopy(current)

    def pdf(self, entity: str, entity_id: str) -> bytes:
        """`GET /{entity}/{id}/pdf`: a PDF of the transaction."""
        return pdf.render(self.name, entity, self._current(entity, entity_id))
