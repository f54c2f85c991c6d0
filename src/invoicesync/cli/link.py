"""`list-candidates`, `link`, `unlink`, `reconcile`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Annotated

import typer

from invoicesync.cli import link_views, reconcile_views, render, views
from invoicesync.cli.app import AppState, app, state_of
from invoicesync.cli.options import JSON_OPT, WAIT_OPT, opened_session, warn_all
from invoicesync.errors import EXIT_DRIFT, UsageError
from invoicesync.models import DocKind

if TYPE_CHECKING:
    from invoicesync.models import Candidate, LocalInvoice
    from invoicesync.usecases.copies import CopyFinding
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
    """Invoices at the target (credit memos, for a credit note) that could be this invoice, best
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
        target = opened.ledger.name
    if json_:
        render.emit_json(link_views.candidates_document(inv, found))
    elif not found:
        render.info(
            f"No {target} {DocKind.of(inv).label} looks like {number} (same DocNumber, or "
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
            "Link to which row (number, or remote id; empty to cancel)",
            default="",
            show_default=False,
            err=True,
        ).strip()
        if not answer:
            return None
        if answer.isdigit() and 1 <= int(answer) <= len(candidates):
            return candidates[int(answer) - 1].remote_id
        if any(c.remote_id == answer for c in candidates):
            return answer
        raise UsageError(f"{answer!r} is not a row number or a candidate's remote id")

    return pick


_REMOTE_ID = Annotated[
    str | None,
    typer.Argument(
        metavar="REMOTE_ID",
        help="The invoice's id in the profile's target (a credit note: the credit memo's id).",
    ),
]
_DOC_NUMBER = Annotated[
    str | None,
    typer.Option(
        "--doc-number",
        metavar="DOCNUMBER",
        help="Find the invoice (or credit memo) at the target by its number.",
    ),
]


@app.command()
def link(
    ctx: typer.Context,
    number: Annotated[str, typer.Argument(metavar="INVOICE", help="The local invoice number.")],
    remote_id: _REMOTE_ID = None,
    doc_number: _DOC_NUMBER = None,
    best: Annotated[
        bool, typer.Option("--best", help="Take the top candidate if it is strong and unambiguous.")
    ] = False,
    no_marker: Annotated[
        bool,
        typer.Option("--no-marker", help="Do not write our marker into the target's record."),
    ] = False,
    json_: JSON_OPT = False,
    wait: WAIT_OPT = None,
) -> None:
    """Link a local invoice to an existing one at the target (a credit note to a credit memo).

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
    request = usecase.LinkRequest(number, remote_id, doc_number, best, pick, not no_marker, wait)
    with opened_session(state) as opened:
        result = usecase.link(opened, local, request)
        target = opened.ledger.name
    if json_:
        render.emit_json(link_views.link_document(result))
    elif result.already_linked:
        render.info(
            f"{result.invoice} is already linked to {target} {result.kind.label} "
            f"{result.remote_id}; nothing to do."
        )
    else:
        render.success(
            f"Linked {result.invoice} to {target} {result.kind.label} {result.remote_id} "
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
    """Remove a link and our marker; the invoice or credit memo at the target is left
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
            f"Unlinked {number} from {target} {what} {result.remote_id}{extra}. The "
            f"{target} {what} itself was not changed or deleted; "
            + (
                "its number stays taken there, so a later push reports a conflict."
                if result.number_stays_taken
                else "a later push creates a new one."
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


REMOVE_COPIES_OPT = Annotated[
    bool,
    typer.Option(
        "--remove-copies",
        help="Delete proven copies of linked invoices (same content, unpaid, unsent, linked "
        "nowhere else; the survivor checked again first); shows them and asks.",
    ),
]
YES_OPT = Annotated[
    bool, typer.Option("--yes", help="With --remove-copies: delete without asking.")
]


@app.command()
def reconcile(
    ctx: typer.Context,
    json_: JSON_OPT = False,
    rebuild: Annotated[
        bool, typer.Option("--rebuild", help="Recreate missing links from the target first.")
    ] = False,
    exit_code: Annotated[
        bool,
        typer.Option(
            "--exit-code",
            help="Exit 10 if a linked invoice was changed, voided, deleted or copied at the "
            "target (as `git diff --exit-code` does for changes).",
        ),
    ] = False,
    remove_copies: REMOVE_COPIES_OPT = False,
    yes: YES_OPT = False,
    wait: WAIT_OPT = None,
) -> None:
    """Check every linked invoice: changed, paid, voided or deleted at the target since linking.

    Also finds copies: another record carrying our marker for a linked number.
    Only a proven copy is ever deleted, and only once confirmed (docs/reliability.md).

    \b
    Examples:
      invoicesync reconcile --rebuild
      invoicesync reconcile --exit-code --json > drift.json || notify-me
      invoicesync reconcile --remove-copies
      invoicesync reconcile --remove-copies --yes
    """
    from invoicesync.usecases import reconcile as usecase
    from invoicesync.usecases.invoices import load_invoices

    if yes and not remove_copies:
        raise UsageError("--yes goes with --remove-copies")
    state = state_of(ctx)
    local = load_invoices(state.settings(), render.warn) if rebuild else []
    with opened_session(state) as opened:
        asked = _Asked(state.interactive, yes, opened.ledger.name)
        report = usecase.reconcile(
            opened,
            rebuild=rebuild,
            invoices=local,
            wait=wait,
            remove_copies=remove_copies,
            confirm=asked,
        )
    if json_:
        render.emit_json(reconcile_views.reconcile_document(report))
    else:
        _show_reconcile(report)
    if report.unconfirmed:
        _unconfirmed(report, asked)
    if exit_code and report.drifted:
        raise typer.Exit(EXIT_DRIFT)


def _unconfirmed(report: ReconcileReport, asked: _Asked) -> None:
    """Proven copies were found and nothing was deleted: say so, and how to proceed (exit 2,
    like `push --prepare` without `--yes`)."""
    count = sum(len(c.would_remove) for c in report.copies)
    if asked.declined:
        raise UsageError("declined: nothing was deleted")
    raise UsageError(
        f"reconcile --remove-copies found {count} proven cop{'y' if count == 1 else 'ies'} "
        "(listed above) and nothing was deleted: without a terminal it deletes only with --yes"
    )


class _Asked:
    """`--remove-copies`' confirmation: yes with `--yes`; on a terminal, the proven copies
    are listed and the question asked; otherwise no (the command then says how to proceed)."""

    def __init__(self, interactive: bool, yes: bool, target: str) -> None:
        self.interactive = interactive
        self.target = target  # the ledger's name, for the question
        self.yes = yes
        self.declined = False

    def __call__(self, proven: Sequence[CopyFinding]) -> bool:
        if self.yes:
            return True
        if not self.interactive:
            return False
        for line in reconcile_views.proven_lines(self.target, list(proven)):
            render.info(line)
        count = sum(len(c.would_remove) for c in proven)
        ok: bool = typer.confirm(
            f"Delete {'this copy' if count == 1 else f'these {count} copies'} in {self.target}? "
            "(each is journaled whole first)",
            default=False,
            err=True,
        )
        self.declined = not ok
        return ok


def _show_reconcile(report: ReconcileReport) -> None:
    for ln in report.rebuilt:
        render.success(f"Rebuilt link {ln.invoice_number} → {report.target} {ln.ref}")
    if not report.drifts:
        render.info("No links to check.")
        return
    render.show(reconcile_views.reconcile_table(report))
    held = reconcile_views.held_table(report)
    if held is not None:
        render.show(held)
    render.info(views.counts_line(report.counts()))
