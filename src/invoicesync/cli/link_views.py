"""`list-candidates`, `link` and `unlink` as their `--json` documents and table rows
(`reconcile`'s are in `reconcile_views.py`, the rest in `views.py`). Typed; no rendering here.
Every remote id is printed with its `kind` beside it (docs/json.md): an id alone names no
document.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from invoicesync.cli.views import (
    Column,
    Document,
    JSONValue,
    TableView,
    money,
    shown,
)

if TYPE_CHECKING:
    from invoicesync.models import Candidate, LocalInvoice
    from invoicesync.usecases.link import LinkResult, UnlinkResult


# --- candidates, link, unlink ------------------------------------------------------------------


def candidates_document(inv: LocalInvoice, found: Sequence[Candidate]) -> Document:
    candidates: list[JSONValue] = [
        {
            "remote_id": c.remote_id,
            "kind": c.kind.value,
            "doc_number": c.doc_number,
            "txn_date": c.txn_date,
            "customer": c.customer,
            "total": money(c.total, c.currency),
            "balance": money(c.balance, c.currency),
            "currency": c.currency,
            "score": c.score,
            "reasons": list(c.reasons),
            "linked_to": c.linked_to,
            "has_marker": c.has_marker,
        }
        for c in found
    ]
    return {"schema": "invoicesync.candidates/2", "invoice": inv.number, "candidates": candidates}


def candidates_table(inv: LocalInvoice, found: Sequence[Candidate]) -> TableView:
    title = (
        f"Candidates for {inv.number} ({inv.customer.name}, {inv.issue_date}, "
        f"{shown(inv.total)} {inv.currency})"
    )
    columns = [
        Column("#", right=True),
        Column("Score", right=True),
        Column("Remote id"),
        Column("DocNumber", drop=1),
        Column("Date", drop=3),
        Column("Customer", drop=4, fold=True),
        Column("Total", drop=1, right=True),
        Column("Balance", drop=5, right=True),
        Column("Linked to", drop=2),
        Column("Why", fold=True),
    ]
    rows = [
        (
            str(i),
            str(c.score),
            c.remote_id,
            c.doc_number or "",
            c.txn_date or "",
            c.customer or "",
            shown(c.total, c.currency),
            shown(c.balance),
            c.linked_to or "",
            "; ".join(c.reasons),
        )
        for i, c in enumerate(found, start=1)
    ]
    return TableView(title, columns, rows)


def link_document(r: LinkResult) -> Document:
    return {
        "schema": "invoicesync.link/2",
        "invoice": r.invoice,
        "remote_id": r.remote_id,
        "kind": r.kind.value,
        "doc_number": r.doc_number,
        "total": money(r.total, r.currency),
        "currency": r.currency,
        "warnings": list(r.warnings),
        "marker_written": r.marker_written,
        "already_linked": r.already_linked,
    }


def unlink_document(r: UnlinkResult) -> Document:
    return {
        "schema": "invoicesync.unlink/2",
        "invoice": r.invoice,
        "was_linked": r.was_linked,
        "remote_id": r.remote_id,
        "kind": None if r.kind is None else r.kind.value,
        "marker_removed": r.marker_removed,
        "generation": r.generation,
        "warnings": list(r.warnings),
    }


# --- reconcile ---------------------------------------------------------------------------------
