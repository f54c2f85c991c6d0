"""PDF: the invoice as QuickBooks renders it, written atomically next to the user's files."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from invoicesync.errors import EXIT_CONFLICT, EXIT_PARTIAL, EXIT_USAGE, UsageError
from invoicesync.files import write_atomic
from invoicesync.ledger.base import Gone
from invoicesync.usecases.session import Session


@dataclass
class PdfResult:
    invoice: str
    status: str  # written, failed
    qbo_id: str | None = None
    path: str | None = None
    size: int | None = None
    message: str = ""
    exit_code: int = 0


@dataclass
class PdfReport:
    realm_id: str
    results: list[PdfResult] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        failures = [r for r in self.results if r.status == "failed"]
        if not failures:
            return 0
        return failures[0].exit_code if len(self.results) == 1 else EXIT_PARTIAL


def file_name(number: str) -> str:
    """A safe file name for an invoice number (`INV/7` → `INV_7.pdf`)."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", number).lstrip(".") + ".pdf"


def destinations(numbers: Sequence[str], output: Path | None) -> dict[str, Path]:
    """Where each PDF goes: `-o FILE` for one invoice, `-o DIR` (or the current folder) for any
    number of them, each as `<number>.pdf`."""
    if output is not None and not output.is_dir():
        if len(numbers) != 1:
            raise UsageError(f"{output} is not a folder; with several invoices give -o DIR")
        return {numbers[0]: output}
    folder = output or Path(".")
    return {n: folder / file_name(n) for n in numbers}


def pdf(session: Session, numbers: Sequence[str], output: Path | None) -> PdfReport:
    wanted = list(dict.fromkeys(numbers))
    targets = destinations(wanted, output)
    report = PdfReport(session.realm_id)
    store = session.existing_store()
    for number in wanted:
        link = store.link(session.realm_id, number) if store else None
        if link is None:
            message = f"{number} is not linked to a QuickBooks invoice; push or link it first"
            report.results.append(
                PdfResult(number, "failed", message=message, exit_code=EXIT_USAGE)
            )
            continue
        try:
            data = session.ledger.pdf(link.qbo_id)
        except Gone:
            message = f"QuickBooks invoice {link.qbo_id} no longer exists; run reconcile"
            report.results.append(
                PdfResult(number, "failed", link.qbo_id, message=message, exit_code=EXIT_CONFLICT)
            )
            continue
        write_atomic(targets[number], data, mode=0o644)  # a document to share, not a secret
        report.results.append(
            PdfResult(number, "written", link.qbo_id, str(targets[number]), len(data))
        )
    return report
