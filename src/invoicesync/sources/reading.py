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
SUFFIXES = {".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv"}
MAX_FILE_BYTES = 512 * 1024 * 1024


@dataclass(frozen=True)
class Input:
    """One file's text, how to read it, and the folder its attachment paths start from."""

    name: str
    text: str
    fmt: str  # json | jsonl | csv
    base: Path


def is_stdin(path: Path) -> bool:
    return str(path) == STDIN


def files(path: Path) -> list[Path]:
    """The files a source path stands for: itself, or a folder's .json/.jsonl/.csv files."""
    mode = _mode(path, path)
    if stat.S_ISDIR(mode):
        found = sorted(p for p in path.iterdir() if p.suffix.lower() in SUFFIXES)
        if not found:
            raise SourceError(f"{_show(path)}: no .json, .jsonl or .csv files in this folder")
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


def decode(name: str, data: bytes) -> str:
    """UTF-8 text without a byte-order mark; an empty or blank file is an error."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SourceError(
            f"{name}: not UTF-8 text (byte {exc.start}); save the export as UTF-8"
        ) from None
    text = text.removeprefix("\ufeff")
    if not text.strip():
        what = "file is empty" if not data else "file is blank (only white space)"
        raise SourceError(f"{name}: {what}; a complete export has at least a header or []")
    return text
