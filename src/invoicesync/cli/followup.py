"""`payments`, `send` and `pdf`: what comes after the push."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from invoicesync.cli import followup_views as fviews
from invoicesync.cli import render
from invoicesync.cli.app import AppState, app, state_of
from invoicesync.cli.options import JSON_OPT, WAIT_OPT, opened_session, warn_all
from invoicesync.errors import EXIT_USAGE, InvoiceSyncError, UsageError

if TYPE_CHECKING:
    from invoicesync.usecases.send import SendReport


@app.command()
def payments(
    ctx: typer.Context,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            metavar="DATE",
            help="Only invoices paid on or after DATE (or voided or deleted since).",
        ),
    ] = None,
    json_: JSON_OPT = False,
    csv_file: Annotated[
        Path | None,
        typer.Option(
            "--csv", metavar="FILE", help="Write the CSV to import back (docs/after-push.md)."
        ),
    ] = None,
) -> None:
    """What the target says was paid of each linked invoice.

    \b
    Examples:
      invoicesync payments
      invoicesync payments --since 2026-11-01 --csv paid.csv
      invoicesync payments --json
    """
    from datetime import date

    from invoicesync.files import write_atomic
    from invoicesync.usecases.payments import payments as read_payments

    if json_ and csv_file is not None:
        raise UsageError("choose --json or --csv, not both")
    try:
        since_date = date.fromisoformat(since) if since is not None else None
    except ValueError:
        raise UsageError(f"--since {since!r} is not a date (YYYY-MM-DD)") from None
    with opened_session(state_of(ctx)) as opened:
        report = read_payments(opened, since_date)
        warn_all(opened.warnings)
    if csv_file is not None:
        write_atomic(csv_file, fviews.payments_csv(report), mode=0o644)  # for an importer
        render.info(f"Wrote {len(report.invoices)} invoice(s) to {csv_file}.")
    elif json_:
        render.emit_json(fviews.payments_document(report))
    else:
        render.show(fviews.payments_table(report))
        if not report.invoices:
            render.info("No linked invoices." if since is None else "Nothing paid since then.")


@app.command()
def send(
    ctx: typer.Context,
    numbers: Annotated[
        list[str], typer.Argument(metavar="INVOICE", help="Invoice numbers to send.")
    ],
    to: Annotated[
        str | None,
        typer.Option(
            "--to", metavar="EMAIL", help="Send to EMAIL instead of the invoice's billing e-mail."
        ),
    ] = None,
    again: Annotated[
        bool, typer.Option("--again", help="Send even if it was sent before.")
    ] = False,
    paid: Annotated[
        bool,
        typer.Option("--paid", help="Send even if the target shows it paid (a copy, on purpose)."),
    ] = False,
    json_: JSON_OPT = False,
    wait: WAIT_OPT = None,
) -> None:
    """The target sends linked invoices (and credit memos) to the customer (once, unless
    --again): QuickBooks e-mails them; B2BRouter delivers them on the contact's channel.

    Voided and deleted invoices are refused, and paid ones unless --paid.

    \b
    Examples:
      invoicesync send INV-2026-0101
      invoicesync send INV-2026-0101 --to ap@client.example
      invoicesync send INV-2026-0101 --again
    """
    from invoicesync.usecases.send import send as run_send

    if to is not None and ("@" not in to or any(c.isspace() or ord(c) < 32 for c in to)):
        raise UsageError(f"--to {to!r} is not an e-mail address")
    with opened_session(state_of(ctx)) as opened:
        report = run_send(opened, numbers, to=to, again=again, paid=paid, wait=wait)
        warn_all(opened.warnings)
    _typos(state_of(ctx), report)
    if json_:
        render.emit_json(fviews.send_document(report))
    else:
        render.show(fviews.send_table(report))
    if report.exit_code:
        raise typer.Exit(report.exit_code)


def _typos(state: AppState, report: SendReport) -> None:
    """A number neither linked nor in the source is most likely a typo: say that, as `unlink`
    does, rather than "push it first" (which cannot work)."""
    from invoicesync.usecases.invoices import load_invoices

    unlinked = [r for r in report.results if r.status == "failed" and r.exit_code == EXIT_USAGE]
    if not unlinked or state.settings().source is None:
        return
    try:
        known = {inv.number for inv in load_invoices(state.settings())}
    except InvoiceSyncError:  # an unreadable source: the send's own message stands
        return
    for result in unlinked:
        if result.ref is None and result.invoice not in known:
            result.message = (
                f"{result.invoice} is neither linked nor in the source; `invoicesync invoices` "
                "lists the numbers"
            )


@app.command()
def pdf(
    ctx: typer.Context,
    numbers: Annotated[list[str], typer.Argument(metavar="INVOICE", help="Invoice numbers.")],
    output: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--output",
            metavar="FILE|DIR",
            help="FILE for one invoice, or an existing DIR (default: here, NUMBER.pdf).",
        ),
    ] = None,
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            metavar="pdf|ubl|facturae|original",
            help="The PDF, or where the target serves them the UBL BIS 3, Facturae 3.2.2 or the "
            "legal original.",
        ),
    ] = "pdf",
    force: Annotated[bool, typer.Option("--force", help="Replace existing files.")] = False,
    json_: JSON_OPT = False,
) -> None:
    """Download the documents of linked invoices and credit memos (written atomically, never
    over an existing file without --force). B2BRouter makes its PDF asynchronously: invoicesync
    waits up to 60 s for it, then exits 7.

    \b
    Examples:
      invoicesync pdf INV-2026-0101 -o INV-2026-0101.pdf
      invoicesync pdf INV-2026-0101 INV-2026-0102 -o pdfs/
      invoicesync --profile es pdf ES-2026-0101 --format ubl -o einvoices/
    """
    from invoicesync.usecases.pdf import pdf as run_pdf

    waiting = render.info if sys.stderr.isatty() else None
    with opened_session(state_of(ctx)) as opened:
        report = run_pdf(opened, numbers, output, fmt=fmt, force=force, progress=waiting)
        warn_all(opened.warnings)
    if json_:
        render.emit_json(fviews.pdf_document(report))
    else:
        render.show(fviews.pdf_table(report))
    if report.exit_code:
        raise typer.Exit(report.exit_code)
