"""`invoices` and `push`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Annotated

import typer

from invoicesync.cli import render, views
from invoicesync.cli.app import app, state_of
from invoicesync.cli.options import JSON_OPT, WAIT_OPT, opened_session, warn_all
from invoicesync.cli.prepare import PREPARE_OPT, YES_OPT, prepare_before_push
from invoicesync.errors import Interrupted, UsageError

if TYPE_CHECKING:
    from invoicesync.models import LocalInvoice
    from invoicesync.usecases.invoices import InvoiceRow
    from invoicesync.usecases.push import PushRequest
    from invoicesync.usecases.push_report import PushReport, PushResult
    from invoicesync.usecases.session import Session


SEND_OPT = Annotated[
    bool,
    typer.Option(
        "--send", help="The target sends each invoice this run creates, right after creating it."
    ),
]
SEND_UNSENT_OPT = Annotated[
    bool,
    typer.Option(
        "--send-unsent",
        help="Like --send, and also e-mail the selected invoices invoicesync created earlier "
        "and never sent (never adopted, voided, deleted or paid ones).",
    ),
]
UPDATE_OPT = Annotated[
    bool,
    typer.Option(
        "--update", help="Also send source edits of linked invoices and void cancelled ones."
    ),
]
FORCE_OPT = Annotated[
    bool, typer.Option("--force", help="With --update: overwrite invoices changed at the target.")
]

# More rows than this are not drawn as a table unless asked for (`--limit`): rich lays out
# about 1,300 rows a second, so 100,000 take 75 s.
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
        typer.Option(
            "--limit", min=0, metavar="N", help="At most N invoices (a table of N on a terminal)."
        ),
    ] = None,
) -> None:
    """List source invoices with their link state (no call to the target).

    Over 1,000 invoices, a terminal gets the first 1,000 as a table and a count, and a pipe
    gets every invoice as tab-separated lines.

    \b
    Examples:
      invoicesync invoices --unlinked
      invoicesync invoices --source exports/ --json | jq '.invoices[].number'
      invoicesync invoices --limit 50
    """
    from invoicesync.usecases.invoices import invoice_rows

    rows = invoice_rows(state_of(ctx).settings(), unlinked=unlinked, warn=render.warn)
    chosen = rows[:limit] if limit is not None else rows
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
    terminal = render.stdout_is_terminal()
    if len(rows) <= TABLE_ROWS or (asked and terminal):
        render.show(views.invoices_table(rows))
    elif not terminal:
        header = [c.name for c in views.invoices_table([]).columns]
        chunks = (
            views.invoices_table(rows[start : start + TABLE_ROWS]).rows
            for start in range(0, len(rows), TABLE_ROWS)  # a chunk at a time: flat memory
        )
        render.emit_lines(header, chunks)
    else:
        render.show(views.invoices_table(rows[:TABLE_ROWS]))
        render.info(
            f"{TABLE_ROWS:,} of {len(rows):,} invoices shown; --limit N shows N, "
            "--json or a pipe gives every one"
        )


@app.command()
def push(
    ctx: typer.Context,
    numbers: Annotated[
        list[str] | None,
        typer.Argument(metavar="INVOICE", help="Invoice numbers to push.", show_default=False),
    ] = None,
    all_: Annotated[
        bool, typer.Option("--all", help="Every sent or paid invoice not yet linked.")
    ] = False,
    since: Annotated[
        str | None,
        typer.Option(
            "--since", metavar="DATE", help="With --all: only invoices issued on or after DATE."
        ),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Resolve and print the plan and payloads; write nothing."),
    ] = False,
    adopt_existing: Annotated[
        bool,
        typer.Option(
            "--adopt-existing", help="Link an existing invoice at the target with the same number."
        ),
    ] = False,
    send: SEND_OPT = False,
    send_unsent: SEND_UNSENT_OPT = False,
    update: UPDATE_OPT = False,
    force: FORCE_OPT = False,
    prepare: PREPARE_OPT = False,
    yes: YES_OPT = False,
    json_: JSON_OPT = False,
    wait: WAIT_OPT = None,
) -> None:
    """Create invoices and credit notes at the target from the source, exactly once.

    \b
    Examples:
      invoicesync push --all --dry-run
      invoicesync push --all --since 2026-10-01
      invoicesync push INV-2026-0101 INV-2026-0102
      invoicesync push --all --prepare --yes
    """
    from invoicesync.usecases.invoices import load_invoices
    from invoicesync.usecases.push import PushRequest

    state = state_of(ctx)
    since_date = _since(since, all_)
    local = load_invoices(state.settings(), render.warn)
    flags = (dry_run, adopt_existing, wait, send, update, force, send_unsent, prepare)
    request = PushRequest(numbers or [], all_, since_date, *flags)
    with opened_session(state) as opened:
        if dry_run:
            report = _preview(opened, local, request)
        else:
            if prepare:
                prepare_before_push(state, opened, local, request, yes=yes)
            report = _run(opened, local, request)
        warn_all(opened.warnings)
    _finish(report, json_=json_)


def _run(opened: Session, local: Sequence[LocalInvoice], request: PushRequest) -> PushReport:
    from invoicesync.usecases.push import push as run_push

    with render.progress() as bar:
        return run_push(opened, local, request, bar, notify=render.info)


def _preview(opened: Session, local: Sequence[LocalInvoice], request: PushRequest) -> PushReport:
    """`push --dry-run`: the run's plan, rendered as the report it would become; the names
    `--prepare` would create and what `--send` would e-mail go to stderr."""
    from invoicesync.cli.plan_views import preview_report, sends_line
    from invoicesync.cli.prepare import show_needs
    from invoicesync.usecases.push import preview

    planned = preview(opened, local, request)
    if planned.plan is not None:
        show_needs(planned.plan.prerequisites)
        line = sends_line(planned.plan)
        if line is not None:
            render.info(line)
    return preview_report(planned)


def _finish(report: PushReport, *, json_: bool) -> None:
    """The report as JSON or a table, the fatal error, the exit code."""
    if json_:
        render.emit_json(views.push_document(report))
    else:
        _show_push(report)
    if report.fatal is not None:
        render.error(report.fatal.message)
    if report.exit_code:
        raise typer.Exit(report.exit_code)


def _since(since: str | None, all_: bool) -> date | None:
    if since is None:
        return None
    if not all_:
        raise UsageError("--since goes with --all")
    try:
        return date.fromisoformat(since)
    except ValueError:
        raise UsageError(f"--since {since!r} is not a date (YYYY-MM-DD)") from None


def _show_push(report: PushReport) -> None:
    if not report.results:
        render.info(
            "Nothing to push: no sent or paid invoices in the source (with --since, none "
            "issued since that date)."
        )
        return
    only = _stopped(report)
    if only != []:  # a run stopped before anything was done: the summary line says it all
        render.show(views.push_table(report, only=only))
    if report.dry_run:
        from invoicesync.exactjson import dumps

        for r in report.results:
            if r.payload is not None:
                render.emit_text(f"# {r.invoice}\n" + dumps(r.payload, indent=2))
    if not render.stdout_is_terminal():  # on a terminal the table already says why
        for r in report.results:
            for problem in r.problems:
                render.info(f"{r.invoice}: {problem}")
    for r in report.results:
        for change in r.changes:
            render.info(f"{r.invoice}: {change}")
    counts = report.counts()
    if "not attempted" in counts or "interrupted" in counts:
        render.info(views.stopped_line(counts, interrupted=isinstance(report.fatal, Interrupted)))
    elif counts:
        render.info(views.counts_line(counts))


LEFT = frozenset({"not attempted", "interrupted"})  # what a stopped run did not finish


def _stopped(report: PushReport) -> list[PushResult] | None:
    """After a stop (Ctrl-C, a lost connection), the rows of what was done or failed only:
    3,000 rows of "not attempted" would hide them (the summary counts them; --json lists
    each)."""
    if not any(r.status in LEFT for r in report.results):
        return None
    return [r for r in report.results if r.status not in LEFT]
