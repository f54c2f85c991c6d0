"""Getting a source's text: files, folders and standard input, refusing what cannot be one.

A FIFO, device or socket would block or never end, so only regular files are read (and
standard input, by `-`); a symbolic link loop or a dangling link is named as such; an empty or
blank file is an error, because a nightly export that came out empty is a failure to notice,
not "nothing to do".
"""

from __future__ import annotations

import errno
import os
import stat
import sys
from dataclasses import dataclass
from pathlib import Path

from invoicesync.errors import SourceError
from invoicesync.sources.fields import safe

STDIN = "-"
SUFFIXES = {
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".csv": "csv",
    ".xlsx": "xlsx",
}
# Files that look like exports but cannot be read as they are: what to save them as.
SAVE_AS = {
    ".xls": "an Excel 97-2003 workbook (.xls); save it as Excel Workbook (.xlsx) or as CSV UTF-8",
    ".xlsm": "a macro workbook (.xlsm); save it as Excel Workbook (.xlsx) or as CSV UTF-8",
    ".ods": "an OpenDocument spreadsheet (.ods); save it as Excel Workbook (.xlsx) or as CSV UTF-8",
}
ZIP = b"PK\x03\x04"  # an .xlsx workbook is a zip archive
MAX_FILE_BYTES = 512 * 1024 * 1024


@dataclass(frozen=True)
class Input:
    """One file's text, how to read it, and the folder its attachment paths start from."""

    name: str
    text: str
    fmt: str  # json | jsonl | csv | xlsx
    base: Path
    data: bytes = b""  # xlsx: the workbook (text is empty)


def is_stdin(path: Path) -> bool:
    return str(path) == STDIN


def files(path: Path) -> list[Path]:
    """The files a source path stands for: itself, or a folder's .json, .jsonl, .csv and
    .xlsx files."""
    mode = _mode(path, path)
    if stat.S_ISDIR(mode):
        found = sorted(p for p in path.iterdir() if p.suffix.lower() in SUFFIXES)
        if not found:
            raise SourceError(
                f"{_show(path)}: no .json, .jsonl, .csv or .xlsx files in this folder"
            )
        return found
    _require_regular(path, mode)
    return [path]


def _require_regular(path: Path, mode: int) -> None:
    if not stat.S_ISREG(mode):
        kind = "a folder" if stat.S_ISDIR(mode) else "a FIFO, device or socket"
        raise SourceError(
            f"{_show(path)}: {kind}, not a regular file; to read a pipe use --source -"
        )


def _show(path: Path) -> str:
    return safe(str(path))


def _mode(path: Path, shown: Path) -> int:
    """`stat` that names a loop, a dangling link and a missing path as what they are."""
    try:
        return os.stat(path).st_mode
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise SourceError(f"{_show(shown)}: a symbolic link loop; fix the link") from None
        if exc.errno == errno.ENOENT and os.path.lexists(path):
            raise SourceError(
                f"{_show(shown)}: a symbolic link to {_show(Path(os.readlink(path)))}, which "
                "does not exist"
            ) from None
        if exc.errno == errno.ENOENT:
            raise SourceError(f"{_show(shown)}: no such file or folder; check --source") from None
        raise SourceError(f"{_show(shown)}: cannot read: {exc.strerror}") from None


def read_file(path: Path) -> bytes:
    """A regular file's bytes. Opened without blocking and checked on the open descriptor, so a
    FIFO swapped in after a check is still refused rather than waited on."""
    _require_regular(path, _mode(path, path))
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise SourceError(f"{_show(path)}: cannot read: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as file:
        mode = os.fstat(file.fileno())
        _require_regular(path, mode.st_mode)
        if mode.st_size > MAX_FILE_BYTES:
            raise SourceError(f"{_show(path)}: larger than 512 MiB; split the export")
        return file.read()


def read_stdin() -> bytes:
    """Standard input, refused when it is a terminal (nobody would type an export)."""
    stream = sys.stdin
    if stream is None:
        raise SourceError("--source -: there is no standard input; pipe the invoices in")
    if stream.isatty():
        raise SourceError(
            "--source -: standard input is a terminal; pipe the invoices in, e.g. "
            "export-invoices | invoicesync push --all --source -"
        )
    data = stream.buffer.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise SourceError("--source -: larger than 512 MiB; split the export")
    return data


def sniff(text: str) -> str:
    """The format of standard input: `[` is a JSON array; `{` a JSON object, or JSON Lines
    when the first line is a whole object and more follow; anything else CSV."""
    body = text.lstrip()
    if body.startswith("["):
        return "json"
    if not body.startswith("{"):
        return "csv"
    first, _, rest = body.partition("\n")
    return "jsonl" if rest.strip() and first.rstrip().endswith("}") else "json"


def decode(name: str, data: bytes, encoding: str | None = None) -> str:
    """The text of a file, without a byte-order mark; an empty or blank file is an error.

    A file that is valid UTF-8 is UTF-8 whatever `encoding` says: a folder may hold UTF-8 JSON
    beside a Windows-1252 CSV, and reading UTF-8 as cp1252 would turn "ü" into "Ã¼" without a
    word. Only a file that is not UTF-8 is read as `encoding` ([source] encoding), and without
    one it is an error that names where it stops being UTF-8 and the setting to use."""
    # UTF-8 text never holds a NUL byte; UTF-16 text of ASCII is half NULs (and may be UTF-8).
    utf8_first = encoding is None or _ascii_based(encoding) or b"\x00" not in data
    try:
        text = data.decode("utf-8" if utf8_first or encoding is None else encoding)
    except UnicodeDecodeError as exc:
        if encoding is None or not utf8_first:
            raise SourceError(_not_text(name, data, exc, encoding)) from None
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError as again:
            raise SourceError(_not_text(name, data, again, encoding)) from None
    text = text.removeprefix("\ufeff")
    if not text.strip():
        what = "file is empty" if not data else "file is blank (only white space)"
        raise SourceError(f"{name}: {what}; a complete export has at least a header or []")
    return text


def _ascii_based(encoding: str) -> bool:
    """Whether `encoding` writes ASCII as ASCII (cp1252, latin-1: UTF-8 is tried first), unlike
    UTF-16 and UTF-32, whose files would often decode as UTF-8 full of NUL characters."""
    try:
        return "a,;\n".encode(encoding) == b"a,;\n"
    except UnicodeError:  # pragma: no cover - a text encoding that cannot write ASCII
        return False


def _not_text(name: str, data: bytes, exc: UnicodeDecodeError, encoding: str | None) -> str:
    """Where the bytes stop being text (line and character) and what to do about it."""
    start = exc.start
    line_start = data.rfind(b"\n", 0, start) + 1
    line = data.count(b"\n", 0, start) + 1
    before = data[line_start:start].decode(encoding or "utf-8", errors="replace")
    where = (
        f"{name}:{line}:{len(before) + 1}: not {encoding or 'UTF-8'} text "
        f"(byte 0x{data[start]:02X})"
    )
    if encoding is not None:
        return (
            f"{where}; set encoding under [source] in config.toml to the encoding the export "
            "was saved in"
        )
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return f'{where}; it is UTF-16 (Excel\'s "Unicode Text"): save the export as "CSV UTF-8"'
    try:
        data.decode("cp1252")
    except UnicodeDecodeError:
        return (
            f'{where}; set encoding = "…" under [source] in config.toml to the encoding the '
            'export was saved in, or save it as "CSV UTF-8"'
        )
    return (
        f'{where}; it reads as Windows-1252, what Excel saves as "CSV" on Western European '
        'Windows: set encoding = "cp1252" under [source] in config.toml, or save the export as '
        '"CSV UTF-8"'
    )
