"""`invoices` and `push`."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated

import typer

from invoicesync.cli import render, views
from invoicesync.cli.app import app, state_of
from invoicesync.cli.options import JSON_OPT, WAIT_OPT, opened_session, warn_all
from invoicesync.errors import UsageError

if TYPE_CHECKING:
    from invoicesync.usecases.invoices import InvoiceRow
    from invoicesync.usecases.push_report import PushReport


# More rows than this are not drawn as a table unless asked for (`--limit`): rich lays out
# about 1,300 rows a second, so 100,000 took 75 s (issue 21).
TABLE_ROWS = 1000


@app.command()
def invoices(
    ctx: typer.Context,
    json_: JSON_OPT = False,
    unlinked: Annotated[
        bool, typer.Option("--unlinked", help="Only invoices not linked yet.")
    ] = False,
    limit: Annotated[
        int | None,
        typer.Option("--limit", min=0, help="At most N invoices (a table of N on a terminal)."),
    ] = None,
) -> None:
    """List source invoices with their link state (no QuickBooks call).

    Over 1,000 invoices, a terminal gets the first 1,000 as a table and a count, and a pipe
    gets every invoice as tab-separated lines."""
    from invoicesync.usecases.invoices import invoice_rows

    rows = invoice_rows(state_of(ctx).settings(), unlinked=unlinked, warn=render.warn)
    chosen = rows[:limit] if limit else rows
    if json_:
        entries = (views.invoice_entry(r) for r in chosen)
        render.emit_json_stream({"schema": views.INVOICES_SCHEMA}, "invoices", entries)
        return
    show_invoices(chosen, asked=limit is not None)
    if not rows:
        render.info("No invoices." if not unlinked else "Every invoice is linked.")


def show_invoices(rows: Sequence[InvoiceRow], *, asked: bool) -> None:
    """A table when it is short or asked for; otherwise plain lines on a pipe, or the first
    TABLE_ROWS on a terminal with a count of the rest."""
    if len(rows) <= TABLE_ROWS or (asked and sys.stdout.isatty()):
        render.show(views.invoices_table(rows))
    elif not sys.stdout.isatty():
        for start in range(0, len(rows), TABLE_ROWS):  # a chunk at a time: flat memory
            view = views.invoices_table(rows[start : start + TABLE_ROWS])
            sys.stdout.write(plain_lines(view.rows, view.columns if start == 0 else None))
        sys.stdout.flush()
    else:
        render.show(views.invoices_table(rows[:TABLE_ROWS]))
        render.info(
            f"{TABLE_ROWS:,} of {len(rows):,} invoices shown; --limit N shows N, "
            "--json or a pipe gives every one"
        )


# Stands for the column separator while the text is made terminal-safe (which escapes tabs).
_SEP = "\ue000"


def plain_lines(rows: Sequence[Sequence[str]], header: Sequence[str] | None) -> str:
    """Tab-separated lines (the header first, if given): every cell terminal-safe and
    redacted, in one pass over the text (per cell it would cost seconds at 100,000 rows)."""
    lines = [_SEP.join(map(_cell, row)) for row in ([header] if header else []) + list(rows)]
    return render.terminal_safe("\n".join(lines)).replace(_SEP, "\t") + "\n"


def _cell(text: str) -> str:
    return text.replace("\t", " ").replace("\n", " ").replace(_SEP, " ")


@app.command()
def push(
    ctx: typer.Context,
    numbers: Annotated[list[str] | None, typer.Argument(help="Invoice numbers to push.")] = None,
    all_: Annotated[
        bool, typer.Option("--all", help="Every sent or paid invoice not yet linked.")
    ] = False,
    since: Annotated[
        str | None,
        typer.Option("--since", help="With --all: only invoices issued on or after DATE."),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Resolve and print the plan and payloads; write nothing."),
    ] = False,
    adopt_existing: Annotated[
        bool,
        typer.Option(
            "--adopt-existing", help="Link an existing QBO invoice with the same DocNumber."
        ),
    ] = False,
    json_: JSON_OPT = False,
    wait: WAIT_OPT = None,
) -> None:
    """Create QuickBooks invoices from source invoices, exactly once."""
    from datetime import date

    from invoicesync.usecases.invoices import load_invoices
    from invoicesync.usecases.push import PushRequest
    from invoicesync.usecases.push import push as run_push

    state = state_of(ctx)
    since_date = None
    if since is not None:
        try:
            since_date = date.fromisoformat(since)
        except ValueError:
            raise UsageError(f"--since {since!r} is not a date (YYYY-MM-DD)") from None
        if not all_:
            raise UsageError("--since goes with --all")
    local = load_invoices(state.settings(), render.warn)
    request = PushRequest(numbers or [], all_, since_date, dry_run, adopt_existing, wait)
    with opened_session(state) as opened, render.progress() as bar:
        report = run_push(opened, local, request, bar)
        warn_all(opened.warnings)
    if json_:
        render.emit_json(views.push_document(report))
    else:
        _show_push(report)
    if report.fatal is not None:
        render.error(report.fatal.message)
    if report.exit_code:
        raise typer.Exit(report.exit_code)


def _show_push(report: PushReport) -> None:
    if not report.results:
        render.info(
            "Nothing to push: no sent or paid invoices in the source (with --since, none "
            "issued since that date)."
        )
        return
    render.show(views.push_table(report))
    if report.dry_run:
        from invoicesync.qbo.client import dumps

        for r in report.results:
            if r.payload is not None:
                render.emit_text(f"# {r.invoice}\n" + dumps(r.payload, indent=2))
    for r in report.results:
        for problem in r.problems:
            render.info(f"{r.invoice}: {problem}")
    counts = report.counts()
    if counts:
        render.info(views.counts_line(counts))
