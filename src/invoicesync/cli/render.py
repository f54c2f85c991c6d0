"""Terminal output: data on stdout (tables, JSON), messages and progress on stderr.

Only the `cli` package imports rich. Consoles are created per call so that they follow
whatever `sys.stdout`/`sys.stderr` are at the time (tests swap them), and rich's own detection
gives colour only on a TTY and honours `NO_COLOR`.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from invoicesync.cli.views import TableView
from invoicesync.errors import redact

_quiet = False
_json_written = False


def start_run(quiet: bool) -> None:
    """A command starts: `--quiet` suppresses informational messages and progress (errors
    still print), and no JSON document has been written yet."""
    global _quiet, _json_written
    _quiet = quiet
    _json_written = False


def _err() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)


def _out() -> Console:
    # Piped data should not be cut to 80 columns; a terminal keeps its own width.
    width = None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 160
    return Console(highlight=False, width=width)


# Characters that must never reach a terminal from data (invoice numbers, names, QuickBooks'
# DocNumbers, file names): C0 controls but newline, DEL, C1 controls (ESC sequences start
# here), bidi overrides and isolates, and line/paragraph separators.
_UNSAFE = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]"
)


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def terminal_safe(text: str) -> str:
    """Text with secrets redacted and every control, escape or bidi character shown as a
    visible escape (`\\x1b`), so data can never drive the terminal or reorder what it shows."""
    return _UNSAFE.sub(_visible, redact(text))


def _markup(text: str) -> str:
    return escape(terminal_safe(text))


def info(message: str) -> None:
    if not _quiet:
        _err().print(_markup(message))


def success(message: str) -> None:
    if not _quiet:
        _err().print(f"[green]✓[/green] {_markup(message)}")


def warn(message: str) -> None:
    _err().print(f"[yellow]warning:[/yellow] {_markup(message)}")


def error(message: str, details: Sequence[str] = ()) -> None:
    console = _err()
    console.print(f"[red]error:[/red] {_markup(message)}")
    for line in details:
        console.print(f"  {_markup(line)}")


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def json_written() -> bool:
    """Whether this run already wrote its JSON document (a run writes exactly one)."""
    return _json_written


def emit_json(data: Any) -> None:
    """Stable JSON on stdout: money as strings (exact decimals), keys in a fixed order."""
    global _json_written
    _json_written = True
    sys.stdout.write(redact(json.dumps(data, indent=2, default=_default, ensure_ascii=False)))
    sys.stdout.write("\n")
    sys.stdout.flush()


def emit_text(text: str) -> None:
    sys.stdout.write(terminal_safe(text) + "\n")
    sys.stdout.flush()


def table(
    title: str | None,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    right: Sequence[str] = (),
    header: bool = True,
) -> None:
    """A rich table on stdout (it is the command's data); cells are escaped, never markup."""
    shown_title = _markup(title) if title is not None else None
    t = Table(title=shown_title, title_justify="left", show_lines=False, show_header=header)
    for i, name in enumerate(columns):
        last = i == len(columns) - 1
        # Identifiers and amounts never wrap; the last (free-text) column takes what is left.
        t.add_column(
            name,
            justify="right" if name in right else "left",
            overflow="fold",
            no_wrap=not last,
        )
    for row in rows:
        t.add_row(*(_markup("" if cell is None else str(cell)) for cell in row))
    _out().print(t)


def show(view: TableView) -> None:
    """Draw a table view (cli.views) on stdout."""
    table(view.title, view.columns, view.rows, right=view.right, header=view.header)


class ProgressReporter:
    """Progress on stderr, only on a TTY and never with --quiet; a no-op otherwise."""

    def __init__(self, progress: Progress | None) -> None:
        self._progress = progress
        self._task: Any = None

    def start(self, total: int, description: str) -> None:
        if self._progress is not None:
            self._task = self._progress.add_task(description, total=total)

    def advance(self, n: int = 1) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task, n)


@contextmanager
def progress() -> Iterator[ProgressReporter]:
    console = _err()
    if _quiet or not console.is_terminal:
        yield ProgressReporter(None)
        return
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        yield ProgressReporter(bar)
