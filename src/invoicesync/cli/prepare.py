"""`prepare`: create the customers, services and terms the invoices need; and its views, which
`push --prepare` shows too."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from invoicesync.cli import render
from invoicesync.cli.app import AppState, app, state_of
from invoicesync.cli.options import JSON_OPT, WAIT_OPT, opened_session, warn_all
from invoicesync.cli.views import Column, TableView, counts_line

if TYPE_CHECKING:
    from collections.abc import Sequence

    from invoicesync.ledger.base import Prerequisite
    from invoicesync.models import LocalInvoice
    from invoicesync.usecases.prepare import PreparePlan, PrepareReport
    from invoicesync.usecases.push import PushRequest
    from invoicesync.usecases.session import Session

PREPARE_OPT = Annotated[
    bool,
    typer.Option("--prepare", help="First create the customers, services and terms they need."),
]
YES_OPT = Annotated[bool, typer.Option("--yes", help="With --prepare: create without asking.")]


def prepare_document(report: PrepareReport) -> dict[str, Any]:
    return {
        "schema": "invoicesync.prepare/2",
        "account": report.account,
        "dry_run": report.dry_run,
        "items": [
            {
                "kind": i.kind,
                "name": i.name,
                "invoices": list(i.invoices),
                "status": i.status,
                "message": i.message,
                "payload": i.payload,
                "id": i.remote_id,
                "exit_code": i.exit_code,
            }
            for i in report.items
        ],
        "summary": report.counts(),
        "exit_code": report.exit_code,
        "error": report.fatal.message if report.fatal else None,
    }


def prepare_table(report: PrepareReport) -> TableView:
    rows = [
        (i.kind, i.name, i.status, i.remote_id or "", ", ".join(i.invoices)) for i in report.items
    ]
    title = "What the invoices need (dry run)" if report.dry_run else "What the invoices need"
    columns = [
        Column("Kind"),
        Column("Name"),
        Column("Status"),
        Column("Id", drop=1),
        Column("Invoices", fold=True),
    ]
    return TableView(title, columns, rows)


def show_prepare(report: PrepareReport, *, payloads: bool) -> None:
    """The table, the payloads (a dry run), each refusal's reason, and the counts."""
    from invoicesync.exactjson import dumps

    if not report.items:
        render.info(f"Nothing to prepare: {report.target} has every name the invoices use.")
        return
    render.show(prepare_table(report))
    for item in report.items:
        if payloads and item.payload is not None and item.status == "would create":
            render.emit_text(f"# {item.kind} {item.name}\n" + dumps(item.payload, indent=2))
    for item in report.items:
        if item.message:
            render.info(f"{item.kind} {item.name!r}: {item.message}")
    render.info(counts_line(report.counts()))


@app.command()
def prepare(
    ctx: typer.Context,
    numbers: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="INVOICE", help="Invoice numbers whose needs to prepare.", show_default=False
        ),
    ] = None,
    all_: Annotated[
        bool, typer.Option("--all", help="Every sent or paid invoice in the source.")
    ] = False,
    only: Annotated[
        str | None,
        typer.Option(
            "--only",
            metavar="KINDS",
            help="Only these kinds: customers, services, terms (comma list).",
        ),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Print what would be created, with payloads; write nothing."
        ),
    ] = False,
    json_: JSON_OPT = False,
    wait: WAIT_OPT = None,
) -> None:
    """Create the customers, services and terms the invoices need and the target lacks.

    Exactly once, like a push; tax codes are listed, never created. Names are matched after
    the [aliases.*] tables of config.toml; services get [prepare] income_account.

    \b
    Examples:
      invoicesync prepare --all --dry-run
      invoicesync prepare INV-2026-0113 --only customers,services
    """
    from invoicesync.usecases.invoices import load_invoices
    from invoicesync.usecases.prepare import PrepareRequest, parse_only
    from invoicesync.usecases.prepare import prepare as run_prepare

    state = state_of(ctx)
    request = PrepareRequest(numbers or [], all_, parse_only(only), dry_run, wait=wait)
    local = load_invoices(state.settings(), render.warn)
    with opened_session(state) as opened:
        report = run_prepare(opened, local, request)
        warn_all(opened.warnings)
    if json_:
        render.emit_json(prepare_document(report))
    else:
        show_prepare(report, payloads=dry_run)
    if report.fatal is not None:
        render.error(report.fatal.message)
    if report.exit_code:
        raise typer.Exit(report.exit_code)


def show_needs(needs: Sequence[Prerequisite]) -> None:
    """What `push --prepare` would create, and the names it will not (stderr, so `--json`
    stays one document)."""
    from invoicesync.usecases.prepare import planned

    items = [planned(n) for n in needs]
    for item in items:
        if item.status != "would create":
            render.warn(f"prepare: {item.kind} {item.name!r}: {item.message}")
    for item in items:
        if item.status == "would create":
            render.info(
                f"prepare would create {item.kind} {item.name!r} (for {', '.join(item.invoices)})"
            )


def prepare_before_push(
    state: AppState,
    opened: Session,
    invoices: Sequence[LocalInvoice],
    push: PushRequest,
    *,
    yes: bool,
) -> None:
    """`push --prepare` (the use case is `prepare.before_push`): show what would be created,
    ask on a terminal unless `--yes`, then show what was. `invoices` is the source the push
    already read (read once, not once per step)."""
    from invoicesync.errors import UsageError
    from invoicesync.usecases.prepare import before_push

    def ask(plan: PreparePlan) -> bool:
        show_needs(plan.needs)
        if not plan.to_create or yes:
            return True
        count = f"{len(plan.to_create)} record(s)"
        if not state.interactive:
            raise UsageError(
                f"push --prepare would create {count} in {plan.target} (listed above); add "
                "--yes to allow it, or run `invoicesync prepare` first"
            )
        return typer.confirm(f"Create these {count} in {plan.target}?", err=True)

    done = before_push(opened, invoices, push, ask)
    if done is None:
        return
    for item in done.items:
        if item.status == "created":
            render.success(f"created {item.kind} {item.name!r} ({done.target} Id {item.remote_id})")
        elif item.status in {"failed", "uncertain"}:
            render.warn(f"prepare: {item.kind} {item.name!r}: {item.status}: {item.message}")
    if done.fatal is not None:
        raise done.fatal
