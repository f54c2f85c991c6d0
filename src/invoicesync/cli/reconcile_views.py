"""`reconcile`'s report as its `--json` document (docs/json.md) and its tables: the linked
invoices, and the records carrying our marker that are held for a person, with their
differences side by side. Typed; no rendering here."""

from __future__ import annotations

from typing import TYPE_CHECKING

from invoicesync.cli.views import (
    Column,
    Document,
    JSONValue,
    TableView,
    money,
    remote_cell,
    shown,
)

if TYPE_CHECKING:
    from invoicesync.usecases.copies import CopyFinding
    from invoicesync.usecases.reconcile import ReconcileReport


def _finding(c: CopyFinding) -> JSONValue:
    held: list[JSONValue] = [
        {
            "remote_id": h.remote_id,
            "reasons": list(h.reasons),
            "differences": [{"field": f, "survivor": a, "copy": b} for f, a, b in h.differences],
        }
        for h in c.held
    ]
    return {
        "invoice": c.invoice,
        "kind": c.kind.value,
        "survivor": c.survivor,
        "copies": list(c.copies),
        "removed": list(c.removed),
        "kept": list(c.kept),
        "failed": list(c.failed),
        "would_remove": list(c.would_remove),
        "held": held,
    }


def reconcile_document(report: ReconcileReport) -> Document:
    rebuilt: list[JSONValue] = [
        {
            "invoice": ln.invoice_number,
            "remote_id": ln.remote_id,
            "kind": ln.kind.value,
            "doc_number": ln.doc_number,
        }
        for ln in report.rebuilt
    ]
    links: list[JSONValue] = [
        {
            "invoice": d.invoice,
            "remote_id": d.remote_id,
            "kind": d.kind.value,
            "state": d.state,
            "details": list(d.details),
            "balance": money(d.balance),
            "delivery": None
            if d.delivery is None
            else {"state": d.delivery, "reason": d.delivery_reason},
            "registrations": [
                {"kind": r.kind, "state": r.state, "reason": r.reason} for r in d.registrations
            ],
        }
        for d in report.drifts
    ]
    return {
        "schema": "invoicesync.reconcile/2",
        "account": report.account,
        "rebuilt": rebuilt,
        "links": links,
        "copies": [_finding(c) for c in report.copies],
    }


def reconcile_table(report: ReconcileReport) -> TableView:
    rows = [
        (
            d.invoice,
            remote_cell(d.remote_id, d.kind),
            d.state,
            shown(d.balance),
            "; ".join(d.details),
        )
        for d in report.drifts
    ]
    columns = [
        Column("Invoice"),
        Column("Remote id"),
        Column("State"),
        Column("Balance", drop=1, right=True),
        Column("Details", fold=True),
    ]
    return TableView(f"Linked invoices in {report.target}", columns, rows)


def held_table(report: ReconcileReport) -> TableView | None:
    """Each held record's differences from the survivor, side by side; None when none."""
    rows: list[tuple[str, ...]] = []
    for c in report.copies:
        for h in c.held:
            diffs = h.differences or (("", "", ""),)
            for n, (name, kept, this) in enumerate(diffs):
                first = n == 0
                rows.append(
                    (
                        c.invoice if first else "",
                        c.survivor if first else "",
                        h.remote_id if first else "",
                        name,
                        kept,
                        this,
                        "; ".join(h.reasons) if first else "",
                    )
                )
    if not rows:
        return None
    columns = [
        Column("Invoice"),
        Column("Stays"),
        Column("Held"),
        Column("Field"),
        Column("Stays has", fold=True),
        Column("Held has", fold=True),
        Column("Why not deleted", drop=1, fold=True),
    ]
    return TableView("Records carrying our marker, not deleted", columns, rows)


def proven_lines(target: str, findings: list[CopyFinding]) -> list[str]:
    """What `--remove-copies` would delete, one line each (shown before it asks)."""
    return [
        f"would delete {target} {c.kind.label} {cid}, a proven copy of {c.survivor} ({c.invoice})"
        for c in findings
        for cid in c.would_remove
    ]
