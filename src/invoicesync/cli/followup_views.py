"""`payments`, `send` and `pdf` as their `--json` documents, tables and the payments CSV.
Typed and pure, like `views.py` (docs/json.md, docs/after-push.md)."""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING

from invoicesync.cli.views import Column, Document, JSONValue, TableView, money, remote_cell, shown

if TYPE_CHECKING:
    from invoicesync.usecases.payments import PaidInvoice, PaymentsReport
    from invoicesync.usecases.pdf import PdfReport
    from invoicesync.usecases.send import SendReport

CSV_COLUMNS = (
    "source_number",
    "remote_id",
    "remote_number",
    "currency",
    "total",
    "balance",
    "amount_paid",
    "state",
    "last_payment_date",
    "payment_id",
    "payment_date",
    "payment_amount",
    "payment_method",
    "payment_reference",
    "kind",
    "credit_number",
    "credit_amount",
    "credit_remaining",
)


def payments_document(report: PaymentsReport) -> Document:
    return {
        "schema": "invoicesync.payments/2",
        "account": report.account,
        "since": report.since.isoformat() if report.since else None,
        "invoices": [_paid_entry(r) for r in report.invoices],
    }


def _paid_entry(r: PaidInvoice) -> JSONValue:
    cur = r.currency
    payments: list[JSONValue] = [
        {
            "id": p.id,
            "date": p.date,
            "amount": money(p.amount, cur),
            "method": p.method,
            "reference": p.reference,
        }
        for p in r.payments
    ]
    credits: list[JSONValue] = [
        {
            "credit_memo_id": c.credit_memo_id,
            "credit_number": c.credit_number,
            "credit_note": c.credit_note,
            "payment_id": c.payment_id,
            "date": c.date,
            "amount": money(c.amount, cur),
        }
        for c in r.credits
    ]
    applied: list[JSONValue] = [
        {
            "invoice_id": a.invoice_id,
            "invoice": a.invoice,
            "payment_id": a.payment_id,
            "date": a.date,
            "amount": money(a.amount, cur),
        }
        for a in r.applied_to
    ]
    return {
        "invoice": r.invoice,
        "kind": r.kind,
        "remote_id": r.remote_id,
        "doc_number": r.doc_number,
        "currency": cur,
        "total": money(r.total, cur),
        "balance": money(r.balance, cur),
        "amount_paid": money(r.amount_paid, cur),
        "state": r.state,
        "last_payment_date": r.last_payment_date,
        "payments": payments,
        "credit_applied": money(r.credit_applied, cur),
        "credit_remaining": money(r.credit_remaining, cur),
        "credits": credits,
        "applied_to": applied,
    }


def payments_table(report: PaymentsReport) -> TableView:
    columns = [
        Column("Invoice"),
        Column("Remote id", drop=2),
        Column("DocNumber", drop=3),
        Column("Total", right=True),
        Column("Paid", right=True),
        Column("Balance", right=True, drop=1),
        Column("State"),
        Column("Last payment", drop=1),
        Column("Payments and credits", fold=True),
    ]
    rows = [
        (
            r.invoice,
            r.remote_id,
            r.doc_number or "",
            shown(r.total, r.currency),
            shown(r.amount_paid),
            shown(r.balance),
            r.state,
            r.last_payment_date or "",
            ", ".join(_movements(r)),
        )
        for r in report.invoices
    ]
    return TableView(f"Payments in {report.target}", columns, rows)


def _movements(r: PaidInvoice) -> list[str]:
    """Payments as "date amount"; credits as "credit NUMBER amount", never like a payment."""
    out = [f"{p.date or '?'} {shown(p.amount)}" for p in r.payments]
    out += [f"credit {c.credit_number or c.credit_memo_id} {shown(c.amount)}" for c in r.credits]
    out += [f"applied to {a.invoice or a.invoice_id} {shown(a.amount)}" for a in r.applied_to]
    return out


def payments_csv(report: PaymentsReport) -> str:
    """One row per real payment of an invoice, one per credit applied to it (payment columns
    empty), one per credit note (its credit applied and remaining); an invoice with neither
    has one row with those columns empty. Amounts are plain decimals in the currency's minor
    units. docs/after-push.md: "one Protemos payment per payment_id" stays true."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for r in report.invoices:
        cur = r.currency
        head = [
            r.invoice,
            r.remote_id,
            r.doc_number or "",
            cur or "",
            money(r.total, cur) or "",
            money(r.balance, cur) or "",
            money(r.amount_paid, cur) or "",
            r.state,
            r.last_payment_date or "",
        ]
        none = ["", "", "", "", ""]
        if r.kind != "invoice":
            credit = [r.doc_number or "", money(r.credit_applied, cur) or ""]
            writer.writerow([*head, *none, r.kind, *credit, money(r.credit_remaining, cur) or ""])
            continue
        for p in r.payments:
            paid = [
                p.id,
                p.date or "",
                money(p.amount, cur) or "",
                p.method or "",
                p.reference or "",
            ]
            writer.writerow([*head, *paid, r.kind, "", "", ""])
        for c in r.credits:
            credit = [c.credit_number or "", money(c.amount, cur) or ""]
            writer.writerow([*head, *none, r.kind, *credit, ""])
        if not r.payments and not r.credits:
            writer.writerow([*head, *none, r.kind, "", "", ""])
    return out.getvalue()


def send_document(report: SendReport) -> Document:
    results: list[JSONValue] = [
        {
            "invoice": r.invoice,
            "status": r.status,
            "remote_id": r.remote_id,
            "kind": None if r.kind is None else r.kind.value,
            "to": r.to,
            "sent_at": r.sent_at,
            "message": r.message,
        }
        for r in report.results
    ]
    return {"schema": "invoicesync.send/2", "account": report.account, "results": results}


def send_table(report: SendReport) -> TableView:
    rows = [
        (
            r.invoice,
            r.status,
            remote_cell(r.remote_id, r.kind),
            r.to or "",
            r.sent_at or "",
            r.message,
        )
        for r in report.results
    ]
    columns = [
        Column("Invoice"),
        Column("Status"),
        Column("Remote id", drop=2),
        Column("To"),
        Column("Sent at", drop=1),
        Column("Message", fold=True),
    ]
    return TableView("Send", columns, rows)


def pdf_document(report: PdfReport) -> Document:
    results: list[JSONValue] = [
        {
            "invoice": r.invoice,
            "status": r.status,
            "remote_id": r.remote_id,
            "kind": None if r.kind is None else r.kind.value,
            "format": r.format,
            "path": r.path,
            "bytes": r.size,
            "message": r.message,
        }
        for r in report.results
    ]
    return {"schema": "invoicesync.pdf/2", "account": report.account, "results": results}


def pdf_table(report: PdfReport) -> TableView:
    rows = [
        (
            r.invoice,
            r.status,
            remote_cell(r.remote_id, r.kind),
            r.path or "",
            str(r.size or ""),
            r.message,
        )
        for r in report.results
    ]
    columns = [
        Column("Invoice"),
        Column("Status"),
        Column("Remote id", drop=2),
        Column("File"),
        Column("Bytes", right=True, drop=1),
        Column("Message", fold=True),
    ]
    return TableView("PDF", columns, rows)
