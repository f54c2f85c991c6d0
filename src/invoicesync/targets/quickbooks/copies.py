"""Copies: QuickBooks records carrying our marker for one source number, and what makes one
record a copy of another.

Without a shared state, two machines can create the same invoice at the same instant; the push
checks for that right after each single create and keeps the lowest Id (the same rule on every
writer, so they converge). A marker alone proves nothing (anyone can type it into a memo, and
QuickBooks' "make a copy" carries it to another job's invoice), so a record is deleted as a
copy only when its content is the same invoice's: customer, date, currency, DocNumber (where we
sent ours), total, tax and every line (`content`). A delete is sent at the copy's SyncToken
under a requestid of that Id and token; when its answer is lost and the retries fail, the
record is read back before anyone says whether it is gone (`delete`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from invoicesync.ledger.base import Checked, CopyRecord, Created, Draft, Found, RemoteInvoice
from invoicesync.models import DocKind
from invoicesync.targets.quickbooks.api import QBOClient, wire
from invoicesync.targets.quickbooks.api import errors as qerr
from invoicesync.targets.quickbooks.api import query as qq
from invoicesync.targets.quickbooks.api.rows import Entity
from invoicesync.targets.quickbooks.edits import rows_by_id
from invoicesync.targets.quickbooks.errors import translating
from invoicesync.targets.quickbooks.lifecycle import difference
from invoicesync.targets.quickbooks.records import QBORecord, entity_of

# Content labels that are not the invoice's identity when QuickBooks numbers the records.
NUMBERED_BY_QUICKBOOKS = ("DocNumber",)


def entity_of_draft(draft: Draft) -> Entity:
    """Where a draft is created: an invoice, or a credit memo for a credit note."""
    return entity_of(DocKind.of(draft.invoice))


def id_order(row: RemoteInvoice) -> tuple[int, str]:
    """QuickBooks Ids are numbers in creation order; compare them as numbers."""
    return len(row.id), row.id


@dataclass(frozen=True)
class Marked:
    """A record carrying a marker: its typed view and the row as QuickBooks sent it."""

    view: QBORecord
    row: Mapping[str, Any]


def marked(
    client: QBOClient, entity: Entity, customer_ids: Sequence[str], dates: Sequence[str]
) -> dict[str, list[Marked]]:
    """Every record carrying a marker among these customers' records of these dates."""
    found: dict[str, list[Marked]] = {}
    for id_part in qq.chunks(sorted(set(customer_ids))):
        for date_part in qq.chunks(sorted(set(dates))):
            where = [("CustomerRef", "IN", id_part), ("TxnDate", "IN", date_part)]
            for row in client.query(qq.select(entity, where)):
                view = QBORecord.from_row(row, entity)
                if view.marker:
                    found.setdefault(view.marker, []).append(Marked(view, row))
    return found


def marked_for(client: QBOClient, drafts: Sequence[Draft]) -> dict[str, list[Marked]]:
    """Every record carrying our marker among these drafts' customers' records of their
    dates (one paged query per entity)."""
    found: dict[str, list[Marked]] = {}
    for entity in sorted({entity_of_draft(d) for d in drafts}):
        mine = [d for d in drafts if entity_of_draft(d) == entity]
        dates = [d.invoice.issue_date.isoformat() for d in mine]
        for number, rows in marked(client, entity, [d.customer_id for d in mine], dates).items():
            found.setdefault(number, []).extend(rows)
    return found


# --- what makes a record this invoice ------------------------------------------------------------


def _money(value: Any) -> str:
    if value is None:
        return ""
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent > -2:
        amount = amount.quantize(Decimal("0.01"))
    return f"{amount:f}"


def _number(value: Any) -> str:
    if value is None:
        return ""
    try:
        return f"{Decimal(str(value)).normalize():f}"
    except InvalidOperation:
        return str(value)


def _ref(value: Any) -> str:
    if not isinstance(value, Mapping) or value.get("value") is None:
        return ""
    name = value.get("name")
    return f"{name} ({value['value']})" if name else str(value["value"])


def _line(line: Mapping[str, Any]) -> str:
    kind = str(line.get("DetailType") or "")
    detail = line.get(kind)
    detail = detail if isinstance(detail, Mapping) else {}
    if kind != "SalesItemLineDetail":
        return f"{kind} {_money(line.get('Amount'))}"
    item = detail.get("ItemRef")
    name = item.get("name") or item.get("value") if isinstance(item, Mapping) else ""
    parts = [
        f"{name} {_number(detail.get('Qty'))} × {_number(detail.get('UnitPrice'))} = "
        f"{_money(line.get('Amount'))}",
        str(line.get("Description") or ""),
        f"tax {_ref(detail.get('TaxCodeRef'))}" if detail.get("TaxCodeRef") else "",
        str(detail.get("ServiceDate") or ""),
    ]
    return " · ".join(p for p in parts if p)


def content(row: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """What makes a record this invoice, as (label, value) in the order a person reads it."""
    tax = row.get("TxnTaxDetail")
    out = [
        ("customer", _ref(row.get("CustomerRef"))),
        ("date", str(row.get("TxnDate") or "")),
        ("currency", _ref(row.get("CurrencyRef"))),
        ("DocNumber", str(row.get("DocNumber") or "")),
        ("total", _money(row.get("TotalAmt"))),
        ("tax", _money(tax.get("TotalTax")) if isinstance(tax, Mapping) else ""),
    ]
    lines = [
        ln
        for ln in row.get("Line") or []
        if isinstance(ln, Mapping) and ln.get("DetailType") != "SubTotalLineDetail"
    ]
    out += [(f"line {n}", _line(ln)) for n, ln in enumerate(lines, start=1)]
    return tuple(out)


def record(m: Marked) -> CopyRecord:
    """A marked record as `reconcile` judges it; `document` is the row, exact decimals kept."""
    sent = m.row.get("EmailStatus") == "EmailSent"
    return CopyRecord(m.view, content(m.row), sent, wire.dumps(m.row))


def _same(a: Marked, b: Marked, skip: Sequence[str] = NUMBERED_BY_QUICKBOOKS) -> bool:
    left, right = content(a.row), content(b.row)
    return [x for x in left if x[0] not in skip] == [x for x in right if x[0] not in skip]


# --- deleting a copy ---------------------------------------------------------------------------


def _requestid(entity: Entity, remote: RemoteInvoice) -> str:
    """One per record and SyncToken: a retry replays, a later try at a changed record (or after
    a refusal) is a fresh request."""
    key = f"{entity}\x1f{remote.id}\x1f{remote.version}"
    return f"del-{hashlib.sha256(key.encode()).hexdigest()[:24]}"


def delete(client: QBOClient, remote: RemoteInvoice) -> tuple[bool | None, str]:
    """Delete a record at its SyncToken, through its own entity's endpoint: (True, "") gone,
    (False, why) still there, (None, why) unknown. A delete whose answer is lost (a dropped
    connection, then 5xx on every retry) may have committed, so the record is read back before
    anything is said about it."""
    entity = entity_of(remote.ref.kind)
    try:
        client.request(
            "POST",
            entity.path,
            params={"operation": "delete"},
            body={"Id": remote.id, "SyncToken": remote.version},
            requestid=_requestid(entity, remote),
            kind="update",
        )
    except qerr.NotFoundError:
        return True, ""  # already gone
    except qerr.QBOError as exc:
        if exc.definitive:
            return False, str(exc)
        try:
            client.read(entity, remote.id)
        except qerr.NotFoundError:
            return True, ""
        except qerr.QBOError as again:
            return None, f"{exc}; reading it back: {again}"
        return False, str(exc)
    return True, ""


# --- the push's check after a single create -------------------------------------------------------


def check_created(
    client: QBOClient, drafts: Sequence[Draft], created: Mapping[str, Created]
) -> dict[str, Created]:
    """Where two writers created the same invoice at once, the lowest Id stays: the writer
    that made a higher one deletes its own copy and links the survivor. Every writer applies
    the same rule after its own create, so they converge. A check that cannot run, a copy that
    cannot be deleted, or another record that carries our marker but is not the same invoice
    is said (`Checked`), never passed over."""
    out = dict(created)
    made = {n: r for n, r in created.items() if isinstance(r, QBORecord)}
    if not made:
        return out
    mine = [d for d in drafts if d.number in made]
    try:
        groups = marked_for(client, mine)
    except qerr.QBOError as exc:
        why = (
            f"the copy check after the create could not run ({exc}): another machine may have "
            "created the same invoice at the same moment; `invoicesync reconcile` shows a copy"
        )
        out.update({n: Checked(r, why) for n, r in made.items()})
        return out
    for d in mine:
        out[d.number] = _keep_one(client, d, made[d.number], groups.get(d.number, []))
    return out


def _keep_one(client: QBOClient, draft: Draft, mine: QBORecord, group: Sequence[Marked]) -> Created:
    entity = entity_of_draft(draft)
    own = next((m for m in group if m.view.id == mine.id), None)
    others = [m for m in group if m.view.id != mine.id and not m.view.voided]
    if not others:
        return mine
    if own is None:
        return _not_seen(client, draft, mine, others)
    unlike = [m.view.id for m in others if not _same(own, m)]
    note = (
        f"{entity} {', '.join(unlike)} also carries our marker for this number but is not the "
        "same invoice: nothing deleted; `invoicesync reconcile` shows the differences"
        if unlike
        else ""
    )
    lower = [m for m in others if _same(own, m) and id_order(m.view) < id_order(mine)]
    if not lower:
        return Checked(mine, note) if note else mine
    keep = min((m.view for m in lower), key=id_order)
    gone, why = delete(client, own.view)
    race = f"another writer created the same invoice at the same moment ({entity} {keep.id})"
    if gone is True:
        said = f"{race}: it stays, and our copy {mine.id} was deleted"
        return Checked(keep, f"{said}; {note}" if note else said, attention=bool(note))
    if gone is False:
        said = (
            f"{race}; deleting ours ({mine.id}) failed ({why}): "
            "`invoicesync reconcile --remove-copies` removes it"
        )
        return Checked(mine, said)
    said = (
        f"{race}; the delete of ours ({mine.id}) may have committed unheard ({why}), so "
        f"nothing is linked: re-run push, it links {keep.id}"
    )
    return Checked(None, said)


def _not_seen(
    client: QBOClient, draft: Draft, mine: QBORecord, others: Sequence[Marked]
) -> Created:
    """Our record is not among those carrying our marker: read it. Gone means a writer that
    sent our very requestid (QuickBooks replayed one create to both) deleted it as a copy of
    the survivor, which both then link; present means the search did not see it yet."""
    entity = entity_of_draft(draft)
    try:
        row = client.read(entity, mine.id)
    except qerr.NotFoundError:
        same = [m.view for m in others if not difference(draft.payload, m.row)[1]]
        if same:
            keep = min(same, key=id_order)
            why = f"{entity} {mine.id} was deleted as a copy of {keep.id}, which stays"
            return Checked(keep, why, attention=False)
        why = f"{entity} {mine.id} is gone and no other record is this invoice: re-run push"
        return Checked(None, why)
    except qerr.QBOError as exc:
        ids = ", ".join(m.view.id for m in others)
        why = (
            f"the copy check could not read {entity} {mine.id} just created ({exc}), beside "
            f"{ids} carrying our marker: `invoicesync reconcile` shows whether they are copies"
        )
        return Checked(mine, why)
    return _keep_one(client, draft, mine, [Marked(QBORecord.from_row(row, entity), row), *others])


def pick(draft: Draft, group: Sequence[Marked]) -> Found:
    """Of the records carrying the draft's marker, the lowest live one that is the draft's
    invoice (the same survivor every writer's copy check keeps), else the lowest live one,
    else the lowest; the other live ones are its copies."""
    live = sorted((m for m in group if not m.view.voided), key=lambda m: id_order(m.view))
    changes = {m.view.id: tuple(difference(draft.payload, m.row)[1]) for m in group}
    same = [m for m in live if not changes[m.view.id]]
    chosen = (same or live or sorted(group, key=lambda m: id_order(m.view)))[0]
    copies = tuple(m.view for m in live if m.view.id != chosen.view.id)
    return Found(chosen.view, copies, changes[chosen.view.id])


class QuickBooksCopies:
    """What `reconcile` asks about copies: a component the ledger holds and delegates
    `Copies` to."""

    def __init__(self, client: QBOClient) -> None:
        self.client = client

    def copies(self, kind: DocKind, linked: Sequence[RemoteInvoice]) -> dict[str, list[CopyRecord]]:
        """Markers that two or more live (not voided) records carry, among the customers and
        dates of `linked`, each list lowest Id first."""
        customers = [r.customer_id for r in linked if r.customer_id]
        dates = [r.txn_date for r in linked if r.txn_date]
        if not customers or not dates:
            return {}
        with translating("looking for copies"):
            found = marked(self.client, entity_of(kind), customers, dates)
        out = {}
        for number, rows in found.items():
            live = sorted((m for m in rows if not m.view.voided), key=lambda m: id_order(m.view))
            if len(live) > 1:
                out[number] = [record(m) for m in live]
        return out

    def copy_records(self, kind: DocKind, remote_ids: Sequence[str]) -> dict[str, CopyRecord]:
        """The records read again by Id (one query), just before a delete is decided."""
        entity = entity_of(kind)
        with translating("reading the copies again"):
            rows = rows_by_id(self.client, entity, remote_ids)
        return {str(r["Id"]): record(Marked(QBORecord.from_row(r, entity), r)) for r in rows}

    def remove_copy(self, remote: RemoteInvoice) -> tuple[bool | None, str]:
        return delete(self.client, remote)
