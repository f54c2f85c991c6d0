"""PDF: the invoice or credit memo as QuickBooks renders it, written atomically next to the
user's files."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from invoicesync.errors import EXIT_CONFLICT, EXIT_PARTIAL, EXIT_USAGE, UsageError
from invoicesync.files import write_atomic
from invoicesync.ledger.base import Gone
from invoicesync.models import DocKind, DocRef
from invoicesync.store import StateStore
from invoicesync.usecases.kinds import KindUnknown, known
from invoicesync.usecases.session import Session


@dataclass
class PdfResult:
    invoice: str
    status: str  # written, failed
    ref: DocRef | None = None  # the document rendered (an invoice or a credit memo)
    path: str | None = None
    size: int | None = None
    message: str = ""
    exit_code: int = 0

    @property
    def qbo_id(self) -> str | None:
        return None if self.ref is None else self.ref.remote_id

    @property
    def kind(self) -> DocKind | None:
        return None if self.ref is None else self.ref.kind


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
        report.results.append(_one(session, store, number, targets[number]))
    return report


def _one(session: Session, store: StateStore | None, number: str, target: Path) -> PdfResult:
    """The PDF of the document the link names, of its kind (a credit memo's from
    `creditmemo/{id}/pdf`)."""
    name = session.ledger.name
    link = store.link(session.realm_id, number) if store else None
    if link is None:
        message = f"{number} is not linked to {name}; push or link it first"
        return PdfResult(number, "failed", message=message, exit_code=EXIT_USAGE)
    try:
        ref = known(session, link).ref
        data = session.ledger.pdf(ref)
    except KindUnknown as exc:
        return PdfResult(number, "failed", message=exc.message, exit_code=exc.exit_code)
    except Gone:
        message = f"{name} {link.ref} no longer exists; run reconcile"
        return PdfResult(number, "failed", link.ref, message=message, exit_code=EXIT_CONFLICT)
    write_atomic(target, data, mode=0o644)  # a document to share, not a secret
    return PdfResult(number, "written", ref, str(target), len(data))
