"""`list-candidates`, `link`, `unlink`, `reconcile`."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer

from invoicesync.cli import link_views, render, views
from invoicesync.cli.app import AppState, app, state_of
from invoicesync.cli.options import JSON_OPT, WAIT_OPT, opened_session, warn_all
from invoicesync.errors import EXIT_DRIFT, UsageError
from invoicesync.models import DocKind

if TYPE_CHECKING:
    from invoicesync.models import Candidate, LocalInvoice
    from invoicesync.usecases.reconcile import ReconcileReport


@app.command("list-candidates")
def list_candidates(
    ctx: typer.Context,
    number: Annotated[str, typer.Argument(metavar="INVOICE", help="The local invoice number.")],
    limit: Annotated[
        int, typer.Option("--limit", min=1, max=100, metavar="N", help="At most N rows.")
    ] = 10,
    json_: JSON_OPT = False,
) -> None:
    """QuickBooks invoices (credit memos, for a credit note) that could be this invoice, best
    first, with the reasons.

    \b
    Example:
      invoicesync list-candidates INV-2026-0111
    """
    from invoicesync.usecases import link as usecase
    from invoicesync.usecases.invoices import load_invoices

    state = state_of(ctx)
    local = load_invoices(state.settings(), render.warn)
    with opened_session(state) as opened:
        inv, found = usecase.list_candidates(opened, local, number, limit=limit)
    if json_:
        render.emit_json(link_views.candidates_document(inv, found))
    elif not found:
        render.info(
            f"No QuickBooks {DocKind.of(inv).label} looks like {number} (same DocNumber, or "
            "same customer "
            f"within {usecase.CANDIDATE_WINDOW_DAYS} days)."
        )
    else:
        render.show(link_views.candidates_table(inv, found))


def _picker(inv: LocalInvoice) -> Callable[[list[Candidate]], str | None]:
    """On a terminal: show the candidates and ask which one to link."""

    def pick(candidates: list[Candidate]) -> str | None:
        render.show(link_views.candidates_table(inv, candidates))
        answer: str = typer.prompt(
            "Link to which row (number, or QBO id; empty to cancel)",
            default="",
            show_default=False,
            err=True,
        ).strip()
        if not answer:
            return None
        if answer.isdigit() and 1 <= int(answer) <= len(candidates):
            return candidates[int(answer) - 1].qbo_id
        if any(c.qbo_id == answer for c in candidates):
            return answer
        raise UsageError(f"{answer!r} is not a row number or a candidate's QBO id")

    return pick


_QBO_ID = Annotated[
    str | None,
    typer.Argument(
        metavar="QBO_ID", help="The QuickBooks invoice id (a credit note: the credit memo id)."
    ),
]
_DOC_NUMBER = Annotated[
    str | None,
    typer.Option(
        "--doc-number",
        metavar="DOCNUMBER",
        help="Find the QBO invoice (or credit memo) by DocNumber.",
    ),
]


@app.command()
def link(
    ctx: typer.Context,
    number: Annotated[str, typer.Argument(metavar="INVOICE", help="The local invoice number.")],
    qbo_id: _QBO_ID = None,
    doc_number: _DOC_NUMBER = None,
    best: Annotated[
        bool, typer.Option("--best", help="Take the top candidate if it is strong and unambiguous.")
    ] = False,
    no_marker: Annotated[
        bool, typer.Option("--no-marker", help="Do not write our marker into the QBO invoice.")
    ] = False,
    json_: JSON_OPT = False,
    wait: WAIT_OPT = None,
) -> None:
    """Link a local invoice to an existing QuickBooks invoice (a credit note to a credit memo).

    \b
    Examples:
      invoicesync link INV-2026-0111 1
      invoicesync link INV-2026-0111 --doc-number 1037
      invoicesync link INV-2026-0111 --best
    """
    from invoicesync.usecases import link as usecase
    from invoicesync.usecases.invoices import find_invoice, load_invoices

    state = state_of(ctx)
    local = load_invoices(state.settings(), render.warn)
    pick = None
    if state.interactive and not json_:
        pick = _picker(find_invoice(local, number))
    request = usecase.LinkRequest(number, qbo_id, doc_number, best, pick, not no_marker, wait)
    with opened_session(state) as opened:
        result = usecase.link(opened, local, request)
        target = opened.ledger.name
    if json_:
        render.emit_json(link_views.link_document(result))
    elif result.already_linked:
        render.info(
            f"{result.invoice} is already linked to {target} {result.kind.label} "
            f"{result.qbo_id}; nothing to do."
        )
    else:
        render.success(
            f"Linked {result.invoice} to {target} {result.kind.label} {result.qbo_id} "
            f"(DocNumber {result.doc_number or '-'}, "
            f"{views.shown(result.total, result.currency)})"
        )
    warn_all(result.warnings)


@app.command()
def unlink(
    ctx: typer.Context,
    number: Annotated[str, typer.Argument(metavar="INVOICE", help="The local invoice number.")],
    json_: JSON_OPT = False,
    wait: WAIT_OPT = None,
) -> None:
    """Remove a link and our marker; the QuickBooks invoice or credit memo itself is left
    untouched (idempotent).

    \b
    Example:
      invoicesync unlink INV-2026-0111
    """
    from invoicesync.usecases import link as usecase

    state = state_of(ctx)
    with opened_session(state) as opened:
        result = usecase.unlink(opened, number, wait=wait)
        target = opened.ledger.name
    if not result.was_linked:
        _known(state, number)
    if json_:
        render.emit_json(link_views.unlink_document(result))
    elif not result.was_linked:
        render.info(f"{number} is not linked; nothing to do.")
    else:
        extra = " and removed our marker from it" if result.marker_removed else ""
        what = result.kind.label if result.kind else "document"
        render.success(
            f"Unlinked {number} from {target} {what} {result.qbo_id}{extra}. The "
            f"{target} {what} itself was not changed or deleted; "
            + (
                "a later push creates a new one."
                if target == "QuickBooks"
                else "its number stays taken there, so a later push reports a conflict."
            )
        )
    warn_all(result.warnings)


def _known(state: AppState, number: str) -> None:
    """Neither linked nor in the source: most likely a typo, so say so (exit 2) rather than
    report success. A link whose invoice left the source can still be removed."""
    from invoicesync.usecases.invoices import load_invoices

    if state.settings().source is None:
        return
    if all(inv.number != number for inv in load_invoices(state.settings(), render.warn)):
        raise UsageError(
            f"{number} is neither linked nor in the source; `invoicesync invoices` lists the "
            "numbers"
        )


@app.command()
def reconcile(
    ctx: typer.Context,
    json_: JSON_OPT = False,
    rebuild: Annotated[
        bool, typer.Option("--rebuild", help="Recreate missing links from QuickBooks first.")
    ] = False,
    exit_code: Annotated[
        bool,
        typer.Option(
            "--exit-code",
            help="Exit 10 if a linked invoice was changed, voided, deleted or copied in "
            "QuickBooks (as `git diff --exit-code` does for changes).",
        ),
    ] = False,
    remove_copies: Annotated[
        bool,
        typer.Option(
            "--remove-copies",
            help="Delete unpaid copies of linked invoices; the first (lowest Id) stays.",
        ),
    ] = False,
    wait: WAIT_OPT = None,
) -> None:
    """Check every linked QuickBooks invoice: changed, paid, voided or deleted since linking.

    Also finds copies: another QuickBooks invoice carrying our marker for a linked number.

    \b
    Examples:
      invoicesync reconcile --rebuild
      invoicesync reconcile --exit-code --json > drift.json || notify-me
      invoicesync reconcile --remove-copies
    """
    from invoicesync.usecases import reconcile as usecase
    from invoicesync.usecases.invoices import load_invoices

    state = state_of(ctx)
    local = load_invoices(state.settings(), render.warn) if rebuild else []
    with opened_session(state) as opened:
        report = usecase.reconcile(
            opened, rebuild=rebuild, invoices=local, wait=wait, remove_copies=remove_copies
        )
    if json_:
        render.emit_json(link_views.reconcile_document(report))
    else:
        _show_reconcile(report)
    if exit_code and report.drifted:
        raise typer.Exit(EXIT_DRIFT)


def _show_reconcile(report: ReconcileReport) -> None:
    for ln in report.rebuilt:
        render.success(f"Rebuilt link {ln.invoice_number} → QuickBooks {ln.ref}")
    if not report.drifts:
        render.info("No links to check.")
        return
    render.show(link_views.reconcile_table(report))
    render.info(views.counts_line(report.counts()))
