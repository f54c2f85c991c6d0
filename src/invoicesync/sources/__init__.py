"""Invoice sources: canonical JSON (object, array, JSON Lines), CSV, a folder of them, or
standard input (`-`)."""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from invoicesync.errors import SourceError
from invoicesync.models import LocalInvoice
from invoicesync.source_config import CsvOptions, SourceOptions
from invoicesync.sources import reading
from invoicesync.sources.base import InvoiceSource, Problems, Record, SourceRules, raise_if_invalid
from invoicesync.sources.csv_format import read_csv
from invoicesync.sources.fields import safe
from invoicesync.sources.json_format import read_json
from invoicesync.sources.validate import Validator
from invoicesync.sources.xlsx_format import read_xlsx

FORMATS = ("json", "csv")
FREEZE_FROM = 10_000  # invoices; below, later collections cost little
STDIN = reading.STDIN


@contextmanager
def _no_gc() -> Iterator[None]:
    """Bulk parsing makes hundreds of thousands of objects that all live on: each automatic
    collection would rescan them (cost growing faster than the file)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class FileSource(InvoiceSource):
    """A file, a folder of `.json`/`.jsonl`/`.csv`/`.xlsx` files, or standard input (`-`),
    validated as one source."""

    def __init__(
        self,
        path: Path,
        *,
        fmt: str | None = None,
        csv_columns: Mapping[str, str] | None = None,
        csv: CsvOptions | None = None,
        options: SourceOptions | None = None,
        rules: SourceRules | None = None,
    ) -> None:
        self.path = path
        self.rules = rules or SourceRules()
        self.fmt = fmt
        self.csv = csv or CsvOptions()
        if csv_columns is not None:
            self.csv = replace(self.csv, columns=dict(csv_columns))
        self.options = options or SourceOptions()
        self._invoices: list[LocalInvoice] | None = None
        self._warnings: list[str] = []

    @property
    def warnings(self) -> list[str]:
        return list(self._warnings)

    def files(self) -> list[Path]:
        return [self.path] if reading.is_stdin(self.path) else reading.files(self.path)

    def _format_of(self, path: Path) -> str:
        fmt = reading.SUFFIXES.get(path.suffix.lower())
        if self.fmt:
            return "jsonl" if self.fmt == "json" and fmt == "jsonl" else self.fmt
        if fmt is None:
            found = reading.SAVE_AS.get(path.suffix.lower())
            raise SourceError(
                f"{safe(str(path))}: "
                + (found or f"unknown file type {path.suffix!r}; use .json, .jsonl, .csv or .xlsx")
            )
        return fmt

    def _inputs(self, problems: Problems) -> Iterator[reading.Input]:
        if reading.is_stdin(self.path):
            data = reading.read_stdin()
            if data.startswith(reading.ZIP):  # a workbook piped in
                yield reading.Input("<stdin>", "", "xlsx", Path.cwd(), data)
                return
            text = reading.decode("<stdin>", data, self.options.encoding)
            yield reading.Input("<stdin>", text, self.fmt or reading.sniff(text), Path.cwd())
            return
        for path in self.files():
            fmt = self._format_of(path)
            try:
                data = reading.read_file(path)
                if fmt == "xlsx":
                    yield reading.Input(safe(str(path)), "", fmt, path.parent, data)
                    continue
                text = reading.decode(safe(str(path)), data, self.options.encoding)
            except SourceError as exc:  # one bad file in a folder: list it with the others
                problems.errors.append(exc.message)
                continue
            yield reading.Input(safe(str(path)), text, fmt, path.parent)

    def _records(self, source: reading.Input, problems: Problems) -> Iterable[Record]:
        if source.fmt == "csv":
            decimal = self.options.decimal
            return read_csv(source.name, source.text, problems, self.csv, decimal)
        if source.fmt == "xlsx":
            return read_xlsx(source.name, source.data, problems, self.csv, self.options)
        lines = source.fmt == "jsonl"
        return read_json(source.name, source.text, problems, lines=lines)

    def invoices(self) -> list[LocalInvoice]:
        if self._invoices is None:
            problems = Problems()
            validator = Validator(self.rules)
            with _no_gc():
                for source in self._inputs(problems):
                    validator.add(self._records(source, problems), source.base)
                invoices, more = validator.finish()
                problems.errors += more.errors
                problems.warnings += more.warnings
                if not problems.errors and len(invoices) >= FREEZE_FROM:
                    # A command keeps its invoices to the end: out of the collector's sight,
                    # the links, rows and output built next do not rescan them (`invoices` over
                    # 100,000: 1.3 of 5 CPU seconds). Frozen before the collector is back on,
                    # or its first collection would scan everything the load made (0.1 s).
                    gc.freeze()
            self._warnings = problems.warnings
            raise_if_invalid(problems, safe(str(self.path)))
            self._invoices = invoices
        return self._invoices


def open_source(
    path: Path | None,
    *,
    fmt: str | None = None,
    csv_columns: Mapping[str, str] | None = None,
    csv: CsvOptions | None = None,
    options: SourceOptions | None = None,
    rules: SourceRules | None = None,
) -> FileSource:
    """The source at `path` (`-`: standard input), read as `options` ([source]) and `csv`
    ([csv]) say; nothing is read until `invoices()`."""
    if path is None:
        raise SourceError(
            "no source invoices configured: pass --source PATH, set INVOICESYNC_SOURCE, or add "
            'source = "..." to config.toml'
        )
    if fmt is not None and fmt not in FORMATS:
        raise SourceError(f"unknown source format {fmt!r}; use json or csv")
    return FileSource(path, fmt=fmt, csv_columns=csv_columns, csv=csv, options=options, rules=rules)


__all__ = ["FORMATS", "STDIN", "FileSource", "InvoiceSource", "open_source"]
