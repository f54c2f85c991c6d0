"""`history` and `runs`: what happened to an invoice, and what each run did."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer

from invoicesync.cli import history_views as views
from invoicesync.cli import render
from invoicesync.cli.app import HELP, InvoiceSyncGroup, app, state_of
from invoicesync.cli.options import JSON_OPT
from invoicesync.errors import UsageError

runs_app = typer.Typer(
    cls=InvoiceSyncGroup,
    invoke_without_command=True,
    context_settings=HELP,
)
app.add_typer(runs_app, name="runs")


@app.command()
def history(
    ctx: typer.Context,
    numbers: Annotated[
        list[str], typer.Argument(metavar="INV", help="Invoice (or credit note) numbers.")
    ],
    json_: JSON_OPT = False,
) -> None:
    """Everything that happened to these invoices, oldest first: pushed, adopted, linked,
    updated, voided, credited, sent, attached, refused; when, by which run, host and user,
    to which document, and why. Read from the local or shared state: no connection needed.

    \b
    Examples:
      invoicesync history INV-2026-0103
      invoicesync history INV-2026-0102 CN-2026-0001 --json
    """
    from invoicesync.usecases.history import invoice_history

    report = invoice_history(state_of(ctx).settings(), numbers)
    for number in report.missing:
        render.warn(f"{number}: nothing recorded in this state (never pushed or linked here?)")
    if json_:
        render.emit_json(views.history_document(report))
    elif report.events:
        render.show(views.history_table(report))


def _since(since: str | None) -> date | None:
    try:
        return date.fromisoformat(since) if since is not None else None
    except ValueError:
        raise UsageError(f"--since {since!r} is not a date (YYYY-MM-DD)") from None


@runs_app.callback()
def runs(
    ctx: typer.Context,
    since: Annotated[
        str | None,
        typer.Option("--since", metavar="DATE", help="Only runs started on or after DATE (UTC)."),
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", min=1, metavar="N", help="The latest N runs (default 50).")
    ] = 50,
    json_: JSON_OPT = False,
) -> None:
    """The latest runs of commands that wrote to the state (every host's, with a shared
    state): when, host, command, how many invoices were created, adopted, updated, failed and
    sent, the exit code, and whether the run was interrupted.

    \b
    Examples:
      invoicesync runs --since 2026-12-01
      invoicesync runs show 3f9a2c1d
    """
    if ctx.invoked_subcommand is not None:
        return
    from invoicesync.usecases.history import list_runs

    found = list_runs(state_of(ctx).settings(), _since(since), limit)
    if json_:
        render.emit_json(views.runs_document(found))
    elif found:
        render.show(views.runs_table(found))
    else:
        render.info("No runs recorded." if since is None else "No runs since then.")


@runs_app.command("show")
def runs_show(
    ctx: typer.Context,
    run_id: Annotated[
        str, typer.Argument(metavar="RUN_ID", help="A run's id, or its first 4+ characters.")
    ],
    json_: JSON_OPT = False,
) -> None:
    """What one run did: every event it wrote, in order.

    \b
    Examples:
      invoicesync runs show 3f9a2c1d
    """
    from invoicesync.usecases.history import show_run

    report = show_run(state_of(ctx).settings(), run_id)
    if json_:
        render.emit_json(views.run_document(report))
    else:
        render.show(views.run_table(report))
        if not report.events:
            render.info("This run recorded no events.")
