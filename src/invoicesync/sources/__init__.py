"""Invoice sources: canonical JSON (object, array, JSON Lines), CSV, or a folder of them."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from invoicesync.errors import SourceError
from invoicesync.models import LocalInvoice
from invoicesync.sources.base import (
    InvoiceSource,
    Problems,
    Record,
    raise_if_invalid,
    validate_records,
)
from invoicesync.sources.csv_format import read_csv
from invoicesync.sources.json_format import read_json

FORMATS = ("json", "csv")
_SUFFIXES = {".json": "json", ".jsonl": "json", ".ndjson": "json", ".csv": "csv"}
MAX_FILE_BYTES = 512 * 1024 * 1024


class FileSource(InvoiceSource):
    """A file or a folder of `.json`/`.jsonl`/`.csv` files, validated as one source."""

    def __init__(
        self,
        path: Path,
        *,
        fmt: str | None = None,
        csv_columns: Mapping[str, str] | None = None,
    ) -> None:
        self.path = path
        self.fmt = fmt
        self.csv_columns = dict(csv_columns or {})
        self._invoices: list[LocalInvoice] | None = None
        self._warnings: list[str] = []

    @property
    def warnings(self) -> list[str]:
        return list(self._warnings)

    def files(self) -> list[Path]:
        if self.path.is_dir():
            found = sorted(p for p in self.path.iterdir() if p.suffix.lower() in _SUFFIXES)
            if not found:
                raise SourceError(f"{self.path}: no .json, .jsonl or .csv files in this folder")
            return found
        if not self.path.exists():
            raise SourceError(f"{self.path}: no such file or folder; check --source")
        return [self.path]

    def _format_of(self, path: Path) -> str:
        if self.fmt:
            return self.fmt
        fmt = _SUFFIXES.get(path.suffix.lower())
        if fmt is None:
            raise SourceError(
                f"{path}: unknown file type {path.suffix!r}; use .json, .jsonl or .csv"
            )
        return fmt

    def invoices(self) -> list[LocalInvoice]:
        if self._invoices is None:
            problems = Problems()
            records: list[Record] = []
            for path in self.files():
                fmt = self._format_of(path)
                try:
                    if path.stat().st_size > MAX_FILE_BYTES:
                        raise SourceError(f"{path}: larger than 512 MiB; split the export")
                    text = path.read_bytes().decode("utf-8")
                except UnicodeDecodeError as exc:
                    problems.errors.append(
                        f"{path}: not UTF-8 text (byte {exc.start}); save the export as UTF-8"
                    )
                    continue
                except OSError as exc:
                    raise SourceError(f"{path}: cannot read: {exc.strerror}") from None
                if fmt == "csv":
                    records += read_csv(path, text, problems, self.csv_columns)
                else:
                    records += read_json(path, text.removeprefix("\ufeff"), problems)
            invoices, more = validate_records(records)
            problems.errors += more.errors
            problems.warnings += more.warnings
            self._warnings = problems.warnings
            raise_if_invalid(problems, str(self.path))
            self._invoices = invoices
        return self._invoices


def open_source(
    path: Path | None, *, fmt: str | None = None, csv_columns: Mapping[str, str] | None = None
) -> FileSource:
    if path is None:
        raise SourceError(
            "no source invoices configured: pass --source PATH, set INVOICESYNC_SOURCE, or add "
            'source = "..." to config.toml'
        )
    if fmt is not None and fmt not in FORMATS:
        raise SourceError(f"unknown source format {fmt!r}; use json or csv")
    return FileSource(path, fmt=fmt, csv_columns=csv_columns)


__all__ = ["FORMATS", "FileSource", "InvoiceSource", "open_source"]
