"""`payments`, `send` and `pdf` as their `--json` documents, tables and the payments CSV.
Typed and pure, like `views.py` (docs/json.md, docs/after-push.md)."""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING

from invoicesync.cli.views import Column, Document, JSONValue, TableView, money, remote_cell, shown

if TYPE_CHECKING:
    from invoicesync.usecases.payments import PaymentsReport
    from invoicesync.usecases.pdf import PdfReport
    from invoicesync.usecases.send import SendReport

CSV_COLUMNS = (
    "source_number",
    "qbo_id",
    "qbo_number",
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
)


def payments_document(report: PaymentsReport) -> Document:
    invoices: list[JSONValue] = []
    for r in report.invoices:
        payments: list[JSONValue] = [
            {
                "id": p.id,
                "date": p.date,
                "amount": money(p.amount, r.currency),
                "method": p.method,
                "reference": p.reference,
            }
            for p in r.payments
        ]
        invoices.append(
            {
                "invoice": r.invoice,
                "qbo_id": r.qbo_id,
                "doc_number": r.doc_number,
                "currency": r.currency,
                "total": money(r.total, r.currency),
                "balance": money(r.balance, r.currency),
                "amount_paid": money(r.amount_paid, r.currency),
                "state": r.state,
                "last_payment_date": r.last_payment_date,
                "payments": payments,
            }
        )
    return {
        "schema": "invoicesync.payments/1",
        "realm_id": report.realm_id,
        "since": report.since.isoformat() if report.since else None,
        "invoices": invoices,
    }


def payments_table(report: PaymentsReport) -> TableView:
    columns = [
        Column("Invoice"),
        Column("QBO id", drop=2),
        Column("DocNumber", drop=3),
        Column("Total", right=True),
        Column("Paid", right=True),
        Column("Balance", right=True, drop=1),
        Column("State"),
        Column("Last payment", drop=1),
        Column("Payments", fold=True),
    ]
    rows = [
        (
            r.invoice,
            r.qbo_id,
            r.doc_number or "",
            shown(r.total, r.currency),
            shown(r.amount_paid),
            shown(r.balance),
            r.state,
            r.last_payment_date or "",
            ", ".join(f"{p.date or '?'} {shown(p.amount)}" for p in r.payments),
        )
        for r in report.invoices
    ]
    return TableView("Payments in QuickBooks", columns, rows)


def payments_csv(report: PaymentsReport) -> str:
    """One row per payment of an invoice; an invoice without payments has one row with the
    payment columns empty. Amounts are plain decimals in the currency's minor units."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for r in report.invoices:
        head = [
            r.invoice,
            r.qbo_id,
            r.doc_number or "",
            r.currency or "",
            money(r.total, r.currency) or "",
            money(r.balance, r.currency) or "",
            money(r.amount_paid, r.currency) or "",
            r.state,
            r.last_payment_date or "",
        ]
        if not r.payments:
            writer.writerow([*head, "", "", "", "", ""])
        for p in r.payments:
            amount = money(p.amount, r.currency) or ""
            tail = [p.id, p.date or "", amount, p.method or "", p.reference or ""]
            writer.writerow([*head, *tail])
    return out.getvalue()


def send_document(report: SendReport) -> Document:
    results: list[JSONValue] = [
        {
            "invoice": r.invoice,
            "status": r.status,
            "qbo_id": r.qbo_id,
            "kind": None if r.kind is None else r.kind.value,
            "to": r.to,
            "sent_at": r.sent_at,
            "message": r.message,
        }
        for r in report.results
    ]
    return {"schema": "invoicesync.send/1", "realm_id": report.realm_id, "results": results}


def send_table(report: SendReport) -> TableView:
    rows = [
        (r.invoice, r.status, remote_cell(r.qbo_id, r.kind), r.to or "", r.sent_at or "", r.message)
        for r in report.results
    ]
    columns = [
        Column("Invoice"),
        Column("Status"),
        Column("QBO id", drop=2),
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
            "qbo_id": r.qbo_id,
            "kind": None if r.kind is None else r.kind.value,
            "path": r.path,
            "bytes": r.size,
            "message": r.message,
        }
        for r in report.results
    ]
    return {"schema": "invoicesync.pdf/1", "realm_id": report.realm_id, "results": results}


def pdf_table(report: PdfReport) -> TableView:
    rows = [
        (
            r.invoice,
            r.status,
            remote_cell(r.qbo_id, r.kind),
            r.path or "",
            str(r.size or ""),
            r.message,
        )
        for r in report.results
    ]
    columns = [
        Column("Invoice"),
        Column("Status"),
        Column("QBO id", drop=2),
        Column("File"),
        Column("Bytes", right=True, drop=1),
        Column("Message", fold=True),
    ]
    return TableView("PDF", columns, rows)
