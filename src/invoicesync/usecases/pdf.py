"""`pdf`: the documents of linked invoices, written atomically next to the user's files.

The target renders a PDF of an invoice or credit memo; a target may serve other formats too
(`document_formats`: B2BRouter the e-invoice itself, UBL BIS 3, Facturae 3.2.2 or the legal
original) and make a document asynchronously (`DocumentPending`: a 404 first is normal), so a
pending one is waited for, at most `PDF_WAIT_SECONDS` (docs/b2brouter.md).

File names keep every letter and digit of the invoice number, in any script; any other
character becomes `_`, and a name that lost characters carries a short hash of the number, so
two numbers never share a file (`INV/7` → `INV_7-1a2b3c4d.pdf`, while `INV_7` → `INV_7.pdf`).
An existing file is never replaced without `--force`, and a missing folder is refused.
"""

from __future__ import annotations

import hashlib
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from invoicesync.errors import (
    EXIT_CONFLICT,
    EXIT_INVALID_INPUT,
    EXIT_PARTIAL,
    EXIT_UNAVAILABLE,
    EXIT_USAGE,
    InvalidInput,
    Refused,
    UsageError,
)
from invoicesync.files import write_atomic
from invoicesync.ledger.base import DocumentPending, Gone
from invoicesync.ledger.capabilities import follow_ups
from invoicesync.models import DocKind, DocRef
from invoicesync.store import StateStore
from invoicesync.usecases.kinds import KindUnknown, known
from invoicesync.usecases.session import Session

FORMATS = ("pdf", "ubl", "facturae", "original")
SUFFIXES = {"pdf": ".pdf", "ubl": ".ubl.xml", "facturae": ".facturae.xml"}
PDF_WAIT_SECONDS = 60.0  # the documented bound on waiting for B2BRouter's PDF
_DELAYS = (1.0, 2.0, 4.0, 8.0, 15.0, 15.0, 15.0)  # sums to PDF_WAIT_SECONDS
MAX_STEM = 100  # characters; file systems allow 255 bytes, and 4 bytes a character at most
_pause = time.sleep  # tests replace it: no real waiting in the suite

Progress = Callable[[str], None]


@dataclass
class PdfResult:
    invoice: str
    status: str  # written, failed
    ref: DocRef | None = None  # the document rendered (an invoice or a credit memo)
    path: str | None = None
    size: int | None = None
    message: str = ""
    exit_code: int = 0
    format: str = "pdf"

    @property
    def remote_id(self) -> str | None:
        return None if self.ref is None else self.ref.remote_id

    @property
    def kind(self) -> DocKind | None:
        return None if self.ref is None else self.ref.kind


@dataclass
class PdfReport:
    account: str
    results: list[PdfResult] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        failures = [r for r in self.results if r.status == "failed"]
        if not failures:
            return 0
        return failures[0].exit_code if len(self.results) == 1 else EXIT_PARTIAL


def _digest(number: str) -> str:
    return hashlib.sha256(number.encode("utf-8", "surrogatepass")).hexdigest()[:8]


def file_stem(number: str, *, force_hash: bool = False) -> str:
    """A file name (without suffix) for an invoice number: letters and digits of any script
    kept, `-`, `_` and inner dots kept, anything else `_`; a hash when anything was lost."""
    text = unicodedata.normalize("NFC", number)
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in text)
    safe = "_" + safe[1:] if safe.startswith(".") else safe  # never a hidden file, never ..
    lossy = safe != number or len(safe) > MAX_STEM or not safe
    if lossy or force_hash:
        return f"{safe[:MAX_STEM] or 'invoice'}-{_digest(number)}"
    return safe


def stems(numbers: Sequence[str]) -> dict[str, str]:
    """Distinct stems for a batch, also where the file system ignores case (`inv-1`, `INV-1`)."""
    plain = {n: file_stem(n) for n in numbers}
    seen: dict[str, int] = {}
    for stem in plain.values():
        seen[stem.casefold()] = seen.get(stem.casefold(), 0) + 1
    return {
        n: file_stem(n, force_hash=True) if seen[s.casefold()] > 1 else s for n, s in plain.items()
    }


def suffix(fmt: str, data: bytes) -> str:
    """The original's suffix from what it is (a signed Facturae, a UBL, a PDF...)."""
    if fmt in SUFFIXES:
        return SUFFIXES[fmt]
    if data.startswith(b"%PDF"):
        return ".original.pdf"
    return ".original.xml" if data.lstrip()[:1] == b"<" else ".original.bin"


@dataclass(frozen=True)
class Target:
    """Where a document goes: an exact file, or a folder and a stem (the suffix follows the
    document)."""

    file: Path | None = None
    folder: Path | None = None
    stem: str = ""

    def path(self, fmt: str, data: bytes) -> Path:
        if self.file is not None:
            return self.file
        assert self.folder is not None
        return self.folder / f"{self.stem}{suffix(fmt, data)}"


def destinations(numbers: Sequence[str], output: Path | None) -> dict[str, Target]:
    """`-o FILE` for one invoice, `-o DIR` (or the current folder) for any number of them. A
    folder that does not exist is refused (exit 8), never created."""
    if output is not None and not output.is_dir():
        if len(numbers) != 1:
            raise UsageError(f"{output} is not a folder; with several invoices give -o DIR")
        if not output.parent.is_dir():
            raise InvalidInput(f"the folder {output.parent} does not exist; create it first")
        return {numbers[0]: Target(file=output)}
    folder = output or Path(".")
    return {n: Target(folder=folder, stem=s) for n, s in stems(numbers).items()}


def pdf(
    session: Session,
    numbers: Sequence[str],
    output: Path | None,
    *,
    fmt: str = "pdf",
    force: bool = False,
    progress: Progress | None = None,
) -> PdfReport:
    if fmt not in FORMATS:
        raise UsageError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    formats = follow_ups(session.ledger, "PDF").document_formats
    if fmt not in formats:
        offered = ", ".join(f"--format {f}" for f in formats)
        raise UsageError(
            f"{session.ledger.name} has no {fmt} document: only {offered} (each target serves "
            "its own formats: docs/commands.md, `pdf`)"
        )
    wanted = list(dict.fromkeys(numbers))
    targets = destinations(wanted, output)
    report = PdfReport(session.account)
    store = session.existing_store()
    for number in wanted:
        job = _Job(session, number, targets[number], fmt, force, progress)
        report.results.append(job.run(store))
    return report


@dataclass
class _Job:
    session: Session
    number: str
    target: Target
    fmt: str
    force: bool
    progress: Progress | None

    def failed(self, message: str, code: int, ref: DocRef | None = None) -> PdfResult:
        return PdfResult(self.number, "failed", ref, None, None, message, code, self.fmt)

    def run(self, store: StateStore | None) -> PdfResult:
        """The document of the one the link names, of its kind (a credit memo's from
        `creditmemo/{id}/pdf`)."""
        name = self.session.ledger.name
        link = store.link(self.session.account, self.number) if store else None
        if link is None:
            return self.failed(
                f"{self.number} is not linked to {name}; push or link it first", EXIT_USAGE
            )
        known_file = self.target.file  # a link there is refused by write_atomic, as before
        if known_file is not None and _occupied(known_file) and not self.force:
            return self.failed(
                f"{known_file} exists; give --force to replace it", EXIT_INVALID_INPUT
            )
        try:
            ref = known(self.session, link).ref
            data = self.fetch(ref)
        except KindUnknown as exc:
            return self.failed(exc.message, exc.exit_code)
        except Gone:
            return self.failed(
                f"{name} {link.ref} no longer exists; run reconcile", EXIT_CONFLICT, link.ref
            )
        except Refused as exc:
            return self.failed(exc.message, exc.exit_code, link.ref)
        except DocumentPending:
            return self.failed(
                f"{name} has not generated the PDF of {link.ref} after {PDF_WAIT_SECONDS:.0f} "
                f"s; run `invoicesync pdf {self.number}` again in a few minutes",
                EXIT_UNAVAILABLE,
                link.ref,
            )
        return self.write(ref, data)

    def fetch(self, ref: DocRef) -> bytes:
        """The document; one the target generates asynchronously waited for, bounded, with
        progress when asked."""
        ledger = follow_ups(self.session.ledger, "PDF")
        for delay in (*_DELAYS, None):
            try:
                return ledger.document(ref, self.fmt)
            except DocumentPending:
                if delay is None:
                    raise
                if self.progress is not None:
                    self.progress(
                        f"{self.number}: {self.session.ledger.name} is generating the PDF; waiting"
                    )
                _pause(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def write(self, ref: DocRef, data: bytes) -> PdfResult:
        path = self.target.path(self.fmt, data)
        try:
            # A document to share, not a secret; never replacing a file unless --force.
            write_atomic(path, data, mode=0o644, replace=self.force)
        except FileExistsError:
            return self.failed(
                f"{path} exists; give --force to replace it", EXIT_INVALID_INPUT, ref
            )
        return PdfResult(self.number, "written", ref, str(path), len(data), "", 0, self.fmt)


def _occupied(path: Path) -> bool:
    return path.exists() and not path.is_symlink()
