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
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any

from invoicesync.cli import legacy
from invoicesync.errors import redact

if TYPE_CHECKING:  # rich is imported when something is printed: `--help` never loads it
    from rich.console import Console
    from rich.progress import Progress

    from invoicesync.cli.views import TableView

_quiet = False
_json_written = False

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
    from rich.markup import escape

    return escape(terminal_safe(text))


def _silence(stream: Any) -> None:
    """Point a stream whose reader went away at /dev/null, so later writes and the
    interpreter's final flush stay quiet (what Python's docs recommend for SIGPIPE)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, stream.fileno())
    except (OSError, ValueError):  # not a real file (tests swap the streams)
        pass
    finally:
        os.close(devnull)


@contextmanager
def _guard(stream: Any = None) -> Iterator[None]:
    """Writing to a closed pipe (`invoicesync invoices --json | head`) stops the output
    quietly, as Unix tools do; the command finishes and exits with its own code."""
    try:
        yield
    except BrokenPipeError:
        _silence(stream or sys.stdout)


@cache
def _console_class() -> type[Console]:
    """rich's console, except that a reader who left is not a failure (rich exits 1); made
    on first use so that importing this module does not import rich."""
    from rich.console import Console

    class _Console(Console):
        def on_broken_pipe(self) -> None:
            _silence(self.file)

    return _Console


def flush_at_exit() -> None:
    """Flush both streams before exit, silencing a reader that has gone away meanwhile."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BrokenPipeError:
            _silence(stream)
        except (OSError, ValueError):  # already closed: nothing left to say
            pass


def start_run(quiet: bool) -> None:
    """A command starts: `--quiet` suppresses informational messages and progress (errors
    still print), and no JSON document has been written yet."""
    global _quiet, _json_written
    _quiet = quiet
    _json_written = False


def stdout_is_terminal() -> bool:
    """Whether the data (tables) reach the person's eyes, not a file or a pipe."""
    return sys.stdout.isatty()


def _err() -> Console:
    return _console_class()(stderr=True, highlight=False, soft_wrap=True)


def _out() -> Console:
    # Piped data should not be cut to 80 columns; a terminal keeps its own width.
    width = None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 160
    return _console_class()(highlight=False, width=width)


def _say(markup: str) -> None:
    with _guard(sys.stderr):
        _err().print(markup)


def info(message: str) -> None:
    if not _quiet:
        _say(_markup(message))


def success(message: str) -> None:
    if not _quiet:
        _say(f"[green]✓[/green] {_markup(message)}")


def warn(message: str) -> None:
    _say(f"[yellow]warning:[/yellow] {_markup(message)}")


def error(message: str, details: Sequence[str] = ()) -> None:
    _say(f"[red]error:[/red] {_markup(message)}")
    for line in details:
        _say(f"  {_markup(line)}")


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def json_written() -> bool:
    """Whether this run already wrote its JSON document (a run writes exactly one)."""
    return _json_written


def with_run(document: Any) -> Any:
    """A document with the id of the run that wrote (`run_id`, docs/json.md) when this command
    wrote to the state: the key to `invoicesync runs show`."""
    from invoicesync.store.runs import recorded_id

    run_id = recorded_id()
    if run_id is None or not isinstance(document, dict) or "run_id" in document:
        return document
    return {**document, "run_id": run_id}


def emit_json(data: Any) -> None:
    """Stable JSON on stdout: money as strings (exact decimals), keys in a fixed order."""
    global _json_written
    _json_written = True
    data = with_run(data)
    if legacy.renamed(data):
        data = legacy.with_old_names(data)
    # JSON escapes every control character itself; only secrets need removing.
    _write(redact(json.dumps(data, indent=2, default=_default, ensure_ascii=False)))


def emit_json_stream(head: dict[str, Any], key: str, items: Iterable[Any]) -> None:
    """A JSON document too big to build at once (100,000 invoices): `head`'s fields, then
    `key`'s list written as it is produced, one item a line (the C encoder: an indented dump
    goes through Python's and takes seconds). Each chunk is redacted like `emit_json`."""
    global _json_written
    _json_written = True
    head = with_run(head)
    if legacy.renamed(head):  # the items carry their own old names (views.invoice_entry)
        head = legacy.with_old_names(head)
    write = sys.stdout.write
    with _guard():
        opening = json.dumps(head, indent=2, ensure_ascii=False)[:-2]  # without "\n}"
        write(redact(f'{opening},\n  "{key}": ['))
        encode = json.JSONEncoder(default=_default, ensure_ascii=False).encode  # one encoder
        sep, chunk = "\n    ", []
        for item in items:
            chunk.append(sep + encode(item))
            sep = ",\n    "
            if len(chunk) == 1000:
                write(redact("".join(chunk)))
                chunk = []
        write(redact("".join(chunk)) + ("\n  ]\n}\n" if sep != "\n    " else "]\n}\n"))
        sys.stdout.flush()


# Stands for the column separator while the text is made terminal-safe (which escapes tabs).
_SEP = "\ue000"


def emit_lines(header: Sequence[str], chunks: Iterable[Sequence[Sequence[str]]]) -> None:
    """Rows as tab-separated lines, the header first, written a chunk at a time (a table of
    100,000 rows would take rich a minute). Every cell is terminal-safe and redacted, in one
    pass over each chunk's text (per cell it would cost seconds at 100,000 rows)."""
    with _guard():
        for i, rows in enumerate(chunks):
            lines = [_SEP.join(map(_cell, row)) for row in ([header] if i == 0 else []) + [*rows]]
            sys.stdout.write(terminal_safe("\n".join(lines)).replace(_SEP, "\t") + "\n")
        sys.stdout.flush()


def _cell(text: str) -> str:
    return text.replace("\t", " ").replace("\n", " ").replace(_SEP, " ")


def emit_secret(text: str) -> None:
    """The one unredacted write: a secret the person asked for (`ci-seed`), on stdout."""
    with _guard():
        sys.stdout.write(text + "\n")
        sys.stdout.flush()


def emit_text(text: str) -> None:
    _write(terminal_safe(text))


def _write(text: str) -> None:
    with _guard():
        sys.stdout.write(text + "\n")
        sys.stdout.flush()


FOLD_MIN = 16  # a free-text column keeps at least this many characters before others go


def _natural(view: TableView) -> list[int]:
    """Each column's width without wrapping: its longest cell (and header)."""
    from rich.cells import cell_len

    widths = []
    for i, column in enumerate(view.columns):
        cells = [cell_len(row[i]) for row in view.rows]
        widths.append(max([cell_len(column.name) if view.header else 0, *cells]))
    return widths


def _needed(
    view: TableView, natural: Sequence[int], kept: Sequence[int], *, wanted: bool = False
) -> int:
    """The table's width with these columns: full width for identifiers and amounts, at least
    FOLD_MIN for a folding column (or the width it wants, with `wanted`), plus rich's borders
    and padding (3 per column, 1 more)."""

    def width(i: int) -> int:
        column = view.columns[i]
        if not column.fold:
            return natural[i]
        return min(natural[i], max(FOLD_MIN, column.want) if wanted else FOLD_MIN)

    return sum(width(i) for i in kept) + 3 * len(kept) + 1


def fit(view: TableView, width: int) -> tuple[list[int], int]:
    """The columns to draw at `width`, and the table's width with them: drop the most
    droppable (rightmost first) until it fits; `drop=0` columns always stay, even if the
    terminal then has to wrap the lines."""
    natural = _natural(view)
    kept = list(range(len(view.columns)))
    droppable = sorted(
        (i for i in kept if view.columns[i].drop > 0), key=lambda i: (view.columns[i].drop, i)
    )
    # Empty columns go first when free text would otherwise have to wrap.
    unfolded = sum(natural[i] for i in kept) + 3 * len(kept) + 1
    if unfolded > width:
        empty = [i for i in droppable if not any(row[i] for row in view.rows)]
        kept = [i for i in kept if i not in empty]
        droppable = [i for i in droppable if i not in empty]
    while _needed(view, natural, kept, wanted=True) > width and droppable:
        kept.remove(droppable.pop())
    return kept, _needed(view, natural, kept)


def show(view: TableView) -> None:
    """Draw a table view (cli.views) on stdout, fitted to the terminal: less important columns
    are left out (and named on stderr) rather than cutting an identifier or an amount."""
    from rich.table import Table

    console = _out()
    kept, needed = fit(view, console.width)
    natural = _natural(view)
    if needed > console.width:  # essentials alone are wider: let the terminal wrap the lines
        console.width = needed
    title = _markup(view.title) if view.title is not None else None
    t = Table(title=title, title_justify="left", show_lines=False, show_header=view.header)
    for i in kept:
        column = view.columns[i]
        t.add_column(
            column.name,
            justify="right" if column.right else "left",
            overflow="fold",
            no_wrap=not column.fold,
            min_width=min(natural[i], FOLD_MIN) if column.fold else None,
        )
    for row in view.rows:
        t.add_row(*(_markup(row[i]) for i in kept))
    with _guard():
        console.print(t)
    hidden = [
        c.name
        for i, c in enumerate(view.columns)
        if i not in kept and any(row[i] for row in view.rows)
    ]
    if hidden and view.rows:
        info(f"Not shown at this width: {', '.join(hidden)} (--json has every field).")


class ProgressReporter:
    """Progress on stderr, only on a TTY and never with --quiet; a no-op otherwise. The bar
    appears only once there is work to show, so a run without any leaves no blank line."""

    def __init__(self, progress: Progress | None) -> None:
        self._progress = progress
        self._task: Any = None

    def start(self, total: int, description: str) -> None:
        if self._progress is not None:
            if self._task is None:
                self._progress.start()
            self._task = self._progress.add_task(description, total=total)

    def stop(self) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.stop()

    def advance(self, n: int = 1) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task, n)


@contextmanager
def progress() -> Iterator[ProgressReporter]:
    console = _err()
    if _quiet or not console.is_terminal:
        yield ProgressReporter(None)
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
    reporter = ProgressReporter(bar)
    try:
        yield reporter
    finally:
        reporter.stop()
