"""`void`: void linked invoices in QuickBooks (never delete them)."""

from __future__ import annotations

from typing import Annotated

import typer

from invoicesync.cli import render, views
from invoicesync.cli.app import app, state_of
from invoicesync.cli.options import JSON_OPT, WAIT_OPT, opened_session, warn_all


@app.command()
def void(
    ctx: typer.Context,
    numbers: Annotated[
        list[str], typer.Argument(metavar="INV", help="Linked invoice numbers to void.")
    ],
    reason: Annotated[
        str | None,
        typer.Option(
            "--reason",
            metavar="TEXT",
            help="Written into the target's memo (default: cancelled).",
        ),
    ] = None,
    json_: JSON_OPT = False,
    wait: WAIT_OPT = None,
) -> None:
    """Void linked QuickBooks invoices, with the reason in the memo; paid ones are refused,
    and so are credit notes (QuickBooks has no void for a credit memo: exit 3).

    \b
    Examples:
      invoicesync void INV-2026-0109
      invoicesync void INV-2026-0109 --reason "duplicate order"
    """
    from invoicesync.usecases.invoices import load_invoices
    from invoicesync.usecases.void import void as run_void

    state = state_of(ctx)
    local = load_invoices(state.settings(), render.warn)
    with opened_session(state) as opened:
        report = run_void(opened, local, numbers, reason=reason, wait=wait)
        warn_all(opened.warnings)
    if json_:
        render.emit_json(views.push_document(report))
    else:
        render.show(views.push_table(report, "Void results"))
    if report.fatal is not None:
        render.error(report.fatal.message)
    if report.exit_code:
        raise typer.Exit(report.exit_code)
