"""QuickBooks' side of the invoice lifecycle: what an edit would change, sparse
updates, voids and credit applications.

Every write here is guarded by the SyncToken it was decided on: QuickBooks refuses a second
application of the same change with 5010 (the token moved), so a re-sent edit or void can never
land twice, whatever QuickBooks remembers of a `requestid` (how long it does is UNVERIFIED: https://blogs.intuit.com/2015/04/06/15346/).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from invoicesync.models import minor_units
from invoicesync.targets.quickbooks.api import QBOClient
from invoicesync.targets.quickbooks.api.rows import Entity

# Payload fields an update may change, with the label a user reads. DocNumber is the link
# itself and PrivateNote carries our marker: neither is ever rewritten by an edit.
_FIELDS = {
    "CustomerRef": "customer",
    "TxnDate": "date",
    "DueDate": "due date",
    "SalesTermRef": "terms",
    "CurrencyRef": "currency",
    "ExchangeRate": "exchange rate",
    "CustomerMemo": "note to customer",
    "BillEmail": "e-mail",
    "TxnTaxDetail": "tax code",
    "GlobalTaxCalculation": "tax calculation",
}
_LINE = "SalesItemLineDetail"


def _scalar(key: str, value: Any) -> str | None:
    """A payload or row field as comparable text (references by id, amounts as numbers)."""
    if value is None:
        return None
    if key == "BillEmail":
        return str(value.get("Address")) if isinstance(value, Mapping) else None
    if key == "TxnTaxDetail":
        ref = value.get("TxnTaxCodeRef") if isinstance(value, Mapping) else None
        return str(ref.get("value")) if isinstance(ref, Mapping) else None
    if isinstance(value, Mapping):
        return None if value.get("value") is None else str(value["value"])
    if isinstance(value, Decimal | int):
        return format(Decimal(value).normalize(), "f")
    return str(value)


def _line(line: Mapping[str, Any]) -> tuple[str, ...]:
    detail = line.get(_LINE) or {}
    item = detail.get("ItemRef") or {}
    tax = detail.get("TaxCodeRef") or {}

    def num(v: Any) -> str:
        return "" if v is None else format(Decimal(str(v)).normalize(), "f")

    return (
        str(item.get("name") or item.get("value") or ""),
        num(detail.get("Qty")),
        num(detail.get("UnitPrice")),
        num(line.get("Amount")),
        str(line.get("Description") or ""),
        str(tax.get("value") or ""),
        str(detail.get("ServiceDate") or ""),
    )


_LINE_PARTS = ("service", "quantity", "unit price", "amount", "description", "tax", "date")
_MONEY_PARTS = frozenset({"unit price", "amount"})


def _money(text: str, places: int) -> str:
    """A compared amount as money: at least the currency's places (`294` → `294.00`), never
    rounded (a unit price of `0.3185` stays)."""
    if not text:
        return text
    value = Decimal(text)
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent > -places:
        return format(value.quantize(Decimal(1).scaleb(-places)), "f")
    return text


def _line_changes(
    old: Sequence[tuple[str, ...]], new: Sequence[tuple[str, ...]], places: int
) -> list[str]:
    out = []
    for n in range(max(len(old), len(new))):
        if n >= len(old):
            price = _money(new[n][2], places)
            out.append(f"line {n + 1} added: {new[n][0]} {new[n][1]} × {price}")
        elif n >= len(new):
            price = _money(old[n][2], places)
            out.append(f"line {n + 1} removed: {old[n][0]} {old[n][1]} × {price}")
        else:
            for part, a, b in zip(_LINE_PARTS, old[n], new[n], strict=True):
                if a == b:
                    continue
                if part in _MONEY_PARTS:
                    a, b = _money(a, places), _money(b, places)
                out.append(f"line {n + 1} {part}: {a or '—'} → {b or '—'}")
    return out


def difference(
    payload: Mapping[str, Any], row: Mapping[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    """The sparse update that turns `row` into `payload`, and each change in words."""
    fields: dict[str, Any] = {}
    changes: list[str] = []
    for key, label in _FIELDS.items():
        if key not in payload:
            continue
        old, new = _scalar(key, row.get(key)), _scalar(key, payload[key])
        if old != new:
            fields[key] = payload[key]
            changes.append(f"{label}: {old or '—'} → {new or '—'}")
    old_lines = [_line(ln) for ln in row.get("Line", []) if ln.get("DetailType") == _LINE]
    new_lines = [_line(ln) for ln in payload.get("Line", [])]
    if old_lines != new_lines:
        fields["Line"] = payload["Line"]  # lines are replaced as a whole
        currency = _scalar("CurrencyRef", payload.get("CurrencyRef") or row.get("CurrencyRef"))
        changes += _line_changes(old_lines, new_lines, minor_units(currency))
    return fields, changes


def sparse(remote_id: str, token: str | None, fields: Mapping[str, Any]) -> dict[str, Any]:
    """The body of a sparse update at the SyncToken the change was decided on."""
    return {"Id": remote_id, "SyncToken": token, "sparse": True, **fields}


def update(client: QBOClient, entity: Entity, body: Mapping[str, Any], rid: str) -> dict[str, Any]:
    """One sparse update as decided; never re-read and retried on 5010 (that is a conflict)."""
    data = client.request("POST", entity.path, body=body, requestid=rid, kind="update")
    return dict(data[entity.value])


def void(client: QBOClient, row: Mapping[str, Any], reason: str, rid: str) -> dict[str, Any]:
    """Write the reason into the memo, then void: each step at the token it read, so a re-run
    after a crash between them skips the memo it finds written. Invoices only: QuickBooks'
    API voids an invoice (`?operation=void`); a credit memo it can only delete."""
    current = dict(row)
    note = str(current.get("PrivateNote") or "")
    if reason not in note:
        fields = {"PrivateNote": f"{note} {reason}".strip()}
        body = sparse(current["Id"], current["SyncToken"], fields)
        current = update(client, Entity.INVOICE, body, rid + "n")
    data = client.request(
        "POST",
        Entity.INVOICE.path,
        params={"operation": "void"},
        body={"Id": current["Id"], "SyncToken": current["SyncToken"]},
        requestid=rid + "v",
        kind="update",
    )
    return dict(data[Entity.INVOICE.value])


def apply_credit(
    client: QBOClient, customer_id: str, invoice_id: str, credit_id: str, amount: Decimal, rid: str
) -> dict[str, Any]:
    """A payment of total 0 linking the invoice and the credit memo: how QuickBooks applies a
    credit (docs/sandbox.md "Payments")."""
    body = {
        "CustomerRef": {"value": customer_id},
        "TotalAmt": Decimal("0.00"),
        "Line": [
            {
                "Amount": amount,
                "LinkedTxn": [{"TxnId": invoice_id, "TxnType": Entity.INVOICE.value}],
            },
            {
                "Amount": amount,
                "LinkedTxn": [{"TxnId": credit_id, "TxnType": Entity.CREDIT_MEMO.value}],
            },
        ],
    }
    return client.create("Payment", body, requestid=rid)
