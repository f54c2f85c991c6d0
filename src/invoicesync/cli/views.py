"""Each report as its `--json` document and as table rows. Typed; no rendering here.

The documents are a contract (docs/json.md): field names and order change only with a new
schema version. Money is a string in the currency's minor units (`"477.50"`), whatever form
QuickBooks used (`477.5`, `0`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, TypeAlias

from invoicesync.cli import legacy
from invoicesync.models import Delivery, DocKind, minor_units

if TYPE_CHECKING:
    from invoicesync.usecases.invoices import InvoiceRow
    from invoicesync.usecases.push_report import PushReport, PushResult

JSONValue: TypeAlias = "str | int | bool | list[JSONValue] | dict[str, JSONValue] | None"
Document = dict[str, JSONValue]


def money(value: Decimal | None, currency: str | None = None) -> str | None:
    """An amount as an exact string in the currency's minor units (half-up, as QBO rounds)."""
    if value is None:
        return None
    places = minor_units(currency)
    return str(value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


def remote_cell(remote_id: str | None, kind: DocKind | None) -> str:
    """A remote id in a table: as it is for an invoice, with its kind for any other document
    (`1 (credit memo)`), since invoice 1 and credit memo 1 are two documents."""
    if remote_id is None:
        return ""
    if kind is None or kind is DocKind.INVOICE:
        return remote_id
    return f"{remote_id} ({kind.label})"


def delivery_fields(seen: Delivery | None) -> dict[str, JSONValue]:
    """An e-invoice's last-seen delivery and registrations in the shape `reconcile --json`
    gives them (docs/json.md), so a script reads both the same way."""
    return {
        "delivery": None if seen is None else {"state": seen.state, "reason": seen.reason},
        "registrations": [
            {"kind": r.kind, "state": r.state, "reason": r.reason}
            for r in (seen.registrations if seen else ())
        ],
    }


def delivery_cell(seen: Delivery | None) -> str:
    """`error: the contact has no transport; Verifactu registered`: what a person acts on."""
    if seen is None:
        return ""
    parts = [f"{seen.state}: {seen.reason}" if seen.reason else seen.state]
    parts += [
        f"{r.kind} {r.state}" + (f": {r.reason}" if r.reason else "") for r in seen.registrations
    ]
    return "; ".join(parts)


def shown(value: Decimal | None, currency: str | None = None) -> str:
    """An amount for a table: grouped thousands, two decimals (with the currency when given),
    blank when unknown."""
    if value is None:
        return ""
    return f"{value:,.2f}" + (f" {currency}" if currency else "")


@dataclass(frozen=True)
class Column:
    """A table column. `drop` ranks what goes first when the terminal is too narrow (0: never;
    higher goes sooner); a `fold` column is free text that wraps instead of being dropped.
    Identifiers and amounts are never folded or cut. `want`: the width a folding column earns
    before droppable columns are kept (a push's message matters more than an id)."""

    name: str
    drop: int = 0
    right: bool = False
    fold: bool = False
    want: int = 0


@dataclass(frozen=True)
class TableView:
    title: str | None
    columns: Sequence[Column]
    rows: Sequence[tuple[str, ...]]
    header: bool = True


# --- invoices ----------------------------------------------------------------------------------


INVOICES_SCHEMA = "invoicesync.invoices/2"


def invoice_entry(r: InvoiceRow) -> JSONValue:
    """One invoice of the `invoices` document (streamed one at a time: cli.invoices)."""
    from invoicesync.sources.json_format import to_canonical

    inv, ln = r.invoice, r.link
    link: JSONValue = None
    if ln is not None:
        link = {
            "remote_id": ln.remote_id,
            "kind": ln.kind.value,
            "doc_number": ln.doc_number,
            "origin": ln.origin,
            "linked_at": ln.linked_at,
            "remote_state": ln.last_state,
            "remote_balance": money(ln.last_balance, ln.currency or inv.currency),
            "checked_at": ln.last_checked_at,
            "changed": r.changed,
            **delivery_fields(ln.last_delivery),
        }
        # Schema 1's names beside the new ones, on the link only (the one object here that
        # has any): aliasing the whole entry would walk every line of 100,000 invoices.
        link = legacy.with_old_names(link)
    canonical: JSONValue = to_canonical(inv)
    return {
        "number": inv.number,
        "customer": inv.customer.name,
        "issue_date": inv.issue_date.isoformat(),
        "currency": inv.currency,
        "total": money(inv.total, inv.currency),
        "status": inv.status,
        "link": link,
        "invoice": canonical,
        "sent_at": r.sent_at,
        "sent_to": r.sent_to,
    }


def invoices_table(rows: Sequence[InvoiceRow]) -> TableView:
    columns = [
        Column("Invoice"),
        Column("Customer", fold=True),
        Column("Date", drop=4),
        Column("Total", right=True),
        Column("Status", drop=3),
        Column("Remote id", drop=5),
        # voided, changed, paid: what a person checks for; on B2BRouter also the delivery and
        # the registration with B2BRouter's reason, which folds (80 columns hold no more).
        Column("Remote state", drop=1, fold=True),
        Column("DocNumber", drop=6),  # mostly the number they typed
        Column("Sent", drop=2),
    ]
    body = [
        (
            r.invoice.number,
            r.invoice.customer.name,
            r.invoice.issue_date.isoformat(),
            ("credit " if r.invoice.is_credit_note else "")
            + shown(r.invoice.total, r.invoice.currency),
            r.invoice.status,
            remote_cell(r.link.remote_id, r.link.kind) if r.link else "",
            _remote_state(r) if r.link else "",
            (r.link.doc_number or "") if r.link else "",
            (r.sent_at or "")[:10],
        )
        for r in rows
    ]
    return TableView(None, columns, body)


def _remote_state(r: InvoiceRow) -> str:
    """`paid`, or on an e-invoicing network `registration error: delivery sent; Verifactu
    error: <reason>`: the last-seen state, then what the network said."""
    assert r.link is not None
    state = "changed" if r.changed else (r.link.last_state or "linked")
    seen = r.link.last_delivery
    return f"{state}: delivery {delivery_cell(seen)}" if seen else state


# --- push --------------------------------------------------------------------------------------


def push_document(report: PushReport) -> Document:
    results: list[JSONValue] = []
    for r in report.results:
        item: Document = {
            "invoice": r.invoice,
            "status": r.status,
            "exit_code": r.exit_code,
            "remote_id": r.remote_id,
            "kind": None if r.kind is None else r.kind.value,
            "doc_number": r.doc_number,
            "total": money(r.total, r.currency),
            "currency": r.currency,
            "message": r.message,
            "problems": list(r.problems),
            "warnings": list(r.warnings),
            "changes": list(r.changes),
            "credit": None
            if r.credit is None
            else {
                "invoice": r.credit.invoice,
                "amount": money(r.credit.amount, r.currency),
                "open_credit": money(r.credit.open_credit, r.currency),
                "payment_id": r.credit.payment_id,
            },
        }
        if report.dry_run:
            payload: JSONValue = _plain(r.payload)
            item["payload"] = payload
        results.append(item)
    summary: JSONValue = dict(report.counts())
    error: JSONValue = None
    if report.fatal is not None:
        error = {"exit_code": report.fatal.exit_code, "message": report.fatal.message}
    return {
        "schema": "invoicesync.push/2",
        "account": report.account,
        "dry_run": report.dry_run,
        "summary": summary,
        "results": results,
        "error": error,
    }


def _plain(value: object) -> JSONValue:
    """A QuickBooks payload as JSON values; exact decimals become plain decimal strings."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (str, int, bool)):
        return value
    return str(value)


MESSAGE_WANT = 48  # a change line ("line 1 amount: 294.00 → 318.50") reads whole at this width


def push_table(
    report: PushReport, done: str = "Push results", only: Sequence[PushResult] | None = None
) -> TableView:
    """A push's (or a void's: `done` names it) results, or `only` these of them; the status
    and the message are what a person reads after it, so the identifiers they typed already go
    first at a narrow width."""
    title = "Push plan (dry run: nothing was written)" if report.dry_run else done
    rows = [
        (
            r.invoice,
            r.status,
            remote_cell(r.remote_id, r.kind),
            shown(r.total, r.currency),
            r.doc_number or "",
            r.message,
        )
        for r in (report.results if only is None else only)
    ]
    columns = [
        Column("Invoice"),
        Column("Status"),
        Column("Remote id", drop=2),
        Column("Total", drop=1, right=True),
        Column("DocNumber", drop=3),
        Column("Message", fold=True, want=MESSAGE_WANT),
    ]
    return TableView(title, columns, rows)


def stopped_line(counts: dict[str, int], *, interrupted: bool) -> str:
    """A run that stopped early: what it did, then what it did not (never "failed" for an
    invoice it did not try)."""
    left = counts.get("not attempted", 0)
    flight = counts.get("interrupted", 0)
    failed = counts.get("failed", 0)
    done = sum(counts.values()) - left - flight - failed
    parts = [f"{done} done"]
    if failed:
        parts.append(f"{failed} failed")
    if flight:
        parts.append(f"{flight} in flight (the next run links them)")
    parts.append(f"{left} not attempted")
    return ("interrupted: " if interrupted else "stopped: ") + ", ".join(parts)


def counts_line(counts: dict[str, int]) -> str:
    return ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
