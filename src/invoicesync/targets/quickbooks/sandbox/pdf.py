"""A small, valid PDF of a transaction, written by hand (no PDF library is a dependency).

QuickBooks renders its own invoice template; the sandbox renders the facts a reader checks:
company, number, dates, customer, lines and totals. One A4 page, Helvetica, WinAnsi text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_PAGE_LINES = 60


def _text(value: Any) -> str:
    """A PDF string literal body: Latin-1 only (others become '?'), escapes for ( ) \\."""
    raw = str(value).encode("latin-1", "replace").decode("latin-1")
    printable = "".join(ch if ch >= " " else " " for ch in raw)
    return printable.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def _lines(company_name: str, kind: str, txn: Mapping[str, Any]) -> list[str]:
    title = f"{kind} {txn.get('DocNumber', '')}".strip()
    customer = (txn.get("CustomerRef") or {}).get("name", "")
    currency = (txn.get("CurrencyRef") or {}).get("value", "")
    out = [company_name, title, f"Date: {txn.get('TxnDate', '')}"]
    if txn.get("DueDate"):
        out.append(f"Due: {txn['DueDate']}")
    out += [f"Bill to: {customer}", ""]
    for line in txn.get("Line", []):
        kind_ = line.get("DetailType")
        if kind_ == "SalesItemLineDetail":
            detail = line["SalesItemLineDetail"]
            item = detail.get("ItemRef", {}).get("name", "")
            qty = detail.get("Qty", "")
            desc = line.get("Description") or ""
            out.append(f"{item}  {desc}  {qty} x {detail.get('UnitPrice', '')} = {line['Amount']}")
        elif kind_ == "DescriptionOnly":
            out.append(str(line.get("Description", "")))
        elif kind_ == "DiscountLineDetail":
            out.append(f"Discount: -{line['Amount']}")
    tax = (txn.get("TxnTaxDetail") or {}).get("TotalTax", 0)
    out += ["", f"Tax: {tax} {currency}", f"Total: {txn.get('TotalAmt', '')} {currency}"]
    if "Balance" in txn:
        out.append(f"Balance due: {txn['Balance']} {currency}")
    return out[:_PAGE_LINES]


def render(company_name: str, kind: str, txn: Mapping[str, Any]) -> bytes:
    """The PDF bytes: header, five objects, a cross-reference table with exact offsets."""
    rows = _lines(company_name, kind, txn)
    ops = ["BT", "/F1 11 Tf", "14 TL", "50 800 Td"]
    for i, row in enumerate(rows):
        if i:
            ops.append("T*")
        ops.append(f"({_text(row)}) Tj")
    ops.append("ET")
    stream = "\n".join(ops).encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)
