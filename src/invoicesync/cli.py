"""The command line: parse, call `sync`, render. The one place errors become exit codes.

Heavy modules (httpx, the sandbox, sqlite) are imported inside commands so that
`invoicesync --version` and `--help` start fast.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from typer.core import TyperGroup

from invoicesync import __version__, render
from invoicesync.errors import (
    EXIT_INTERRUPTED,
    EXIT_UNEXPECTED,
    EXIT_USAGE,
    InvoiceSyncError,
    UsageError,
    redact,
)

if TYPE_CHECKING:
    from invoicesync.config import Settings


@dataclass
class AppState:
    """Global options, shared by every command through the click context."""

    config_path: Path | None = None
    source: Path | None = None
    verbose: bool = False
    quiet: bool = False
    non_interactive: bool = False
    # Seams for tests and the demo: an httpx transport for QuickBooks and Intuit, and the
    # function that opens the authorize URL.
    transport: Any = None
    browser: Any = None
    _settings: Any = field(default=None, repr=False)

    @property
    def interactive(self) -> bool:
        return (
            sys.stdin.isatty() and not self.non_interactive and not self.settings().non_interactive
        )

    def settings(self) -> Settings:
        from invoicesync.config import load_settings

        if self._settings is None:
            interactive = sys.stdin.isatty() and not self.non_interactive
            self._settings = load_settings(
                config_path=self.config_path,
                source=self.source,
                non_interactive=not interactive,
            )
        settings: Settings = self._settings
        return settings


class InvoiceSyncGroup(TyperGroup):
    """Runs every command (nested ones too) inside the error boundary."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except InvoiceSyncError as exc:
            render.error(exc.message, exc.details)
            _debug_traceback(ctx)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            render.error("interrupted; state is consistent, re-run the command to continue")
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except (typer.Exit, typer.Abort):
            raise
        except Exception as exc:
            if type(exc).__module__.startswith(("click", "typer")):
                raise
            render.error(
                f"unexpected error ({type(exc).__name__}): {exc}. This is a bug: rerun with "
                "--verbose and report it"
            )
            _debug_traceback(ctx, force_hint=True)
            raise typer.Exit(EXIT_UNEXPECTED) from None


def _debug_traceback(ctx: Any, force_hint: bool = False) -> None:
    state = ctx.find_object(AppState)
    if state is not None and state.verbose:
        sys.stderr.write(redact(traceback.format_exc()))


app = typer.Typer(
    cls=InvoiceSyncGroup,
    name="invoicesync",
    help="Push invoices into QuickBooks Online exactly once, and keep them linked.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
sandbox_app = typer.Typer(
    cls=InvoiceSyncGroup,
    help="A local QuickBooks Online for tests, demos and your own scripts.",
    no_args_is_help=True,
)
app.add_typer(sandbox_app, name="sandbox")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"invoicesync {__version__}")
        raise typer.Exit(0)


@app.callback()
def _global(
    ctx: typer.Context,
    config: Annotated[
        Path | None, typer.Option("--config", help="Config file (default: app dir/config.toml).")
    ] = None,
    source: Annotated[
        Path | None,
        typer.Option("--source", help="Source invoices: a file or folder (JSON, JSONL, CSV)."),
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Debug logging and tracebacks (redacted).")
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Only errors and data; no progress.")
    ] = False,
    non_interactive: Annotated[
        bool,
        typer.Option(
            "--non-interactive",
            help="Never prompt (also INVOICESYNC_NON_INTERACTIVE=1; implied without a TTY).",
        ),
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """Global options apply to every command."""
    if verbose and quiet:
        raise UsageError("--verbose and --quiet cannot be used together")
    seeded = ctx.obj if isinstance(ctx.obj, AppState) else AppState()
    ctx.obj = AppState(
        config_path=config,
        source=source,
        verbose=verbose,
        quiet=quiet,
        non_interactive=non_interactive,
        transport=seeded.transport,
        browser=seeded.browser,
    )
    render.set_quiet(quiet)
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
        force=True,
    )
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.INFO if verbose else logging.WARNING)
    logging.getLogger().handlers[0].addFilter(_RedactFilter())


class _RedactFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = ()
        return True


def _state(ctx: typer.Context) -> AppState:
    state = ctx.find_object(AppState)
    if state is None:  # pragma: no cover - the callback always runs first
        state = AppState()
    return state


# --- sandbox -------------------------------------------------------------------------------------


@sandbox_app.command("serve")
def sandbox_serve(
    port: Annotated[int, typer.Option("--port", help="Loopback port (0 picks a free one).")] = 8770,
    company: Annotated[
        list[str] | None,
        typer.Option(
            "--company",
            help="Company file (TOML/JSON) or a shipped one: us, uk. Repeatable. Default: us, uk.",
        ),
    ] = None,
    latency_ms: Annotated[
        float, typer.Option("--latency-ms", help="Added latency per request, in ms.")
    ] = 0.0,
    limits: Annotated[
        str, typer.Option("--limits", help="real: enforce QBO's limits (429s); off: no limits.")
    ] = "real",
    time_scale: Annotated[
        float,
        typer.Option("--time-scale", help="Sandbox clock speed-up (limits windows, token expiry)."),
    ] = 1.0,
    auto_approve: Annotated[
        bool, typer.Option("--auto-approve", help="Skip the consent page (scripts, CI).")
    ] = False,
) -> None:
    """Serve a local QuickBooks Online on 127.0.0.1 until interrupted.

    Prints `export` lines for the environment, including a realm id and refresh token for the
    first company, so `invoicesync` (or your script) can use it without connecting.
    """
    from invoicesync.config import local_environment
    from invoicesync.sandbox import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Limits, Sandbox
    from invoicesync.sandbox.server import SandboxServer

    if limits not in {"real", "off"}:
        raise UsageError("--limits must be real or off")
    for spec in company or []:
        if spec not in {"us", "uk"} and not Path(spec).is_file():
            raise UsageError(f"--company {spec}: no such file (or use us / uk)")
    try:
        sandbox = Sandbox(
            company or ["us", "uk"],
            time_scale=time_scale,
            limits=Limits(enabled=limits == "real"),
            auto_approve=auto_approve,
        )
    except (KeyError, ValueError, OSError) as exc:
        from invoicesync.errors import InvalidInput

        raise InvalidInput(f"cannot load company file: {exc}") from None
    sandbox.faults.latency_ms = latency_ms
    try:
        server = SandboxServer(sandbox, port=port)
    except OSError as exc:
        raise UsageError(
            f"cannot listen on 127.0.0.1:{port}: {exc.strerror}; try --port 0"
        ) from None
    url = server.url
    # A ready connection to the first company, so scripts and CI need no browser: these are
    # sandbox-only credentials.
    first = next(iter(sandbox.companies.values()))
    grant = sandbox.oauth.issue_grant(DEFAULT_CLIENT_ID, first.realm_id)
    env = {
        **local_environment(url, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET),
        "INVOICESYNC_REALM_ID": first.realm_id,
        "INVOICESYNC_REFRESH_TOKEN": grant.refresh_token,
    }
    render.emit_text("\n".join(f"export {k}={v}" for k, v in env.items()))
    companies = ", ".join(f"{c.name} ({c.realm_id})" for c in sandbox.companies.values())
    render.info(f"Local QuickBooks sandbox on {url} with {companies}. Ctrl-C to stop.")
    try:
        server.serve_forever()
    finally:
        server.server_close()


# --- helpers -------------------------------------------------------------------------------------

JSON_OPT = Annotated[bool, typer.Option("--json", help="Machine-readable output (docs/json.md).")]
WAIT_OPT = Annotated[
    float | None,
    typer.Option("--wait", help="Wait up to N seconds for another run's lock instead of exit 9."),
]


def _money(value: Any) -> str:
    return "" if value is None else f"{value:,.2f}"


def _session(state: AppState) -> Any:
    from invoicesync import sync

    return sync.session(state.settings(), transport=state.transport)


def _warn_all(messages: list[str]) -> None:
    for message in messages:
        render.warn(message)


# --- connect / disconnect / status ---------------------------------------------------------------


@app.command()
def connect(
    ctx: typer.Context,
    environment: Annotated[
        str | None,
        typer.Option("--environment", help="production, sandbox (Intuit's) or local (ours)."),
    ] = None,
    manual: Annotated[
        bool,
        typer.Option(
            "--manual",
            help="Paste the redirect URL instead of a local listener (default for production).",
        ),
    ] = False,
    port: Annotated[
        int | None, typer.Option("--port", help="Port of the local redirect listener.")
    ] = None,
    client_id: Annotated[
        str | None, typer.Option("--client-id", help="The Intuit app's client id.")
    ] = None,
    no_browser: Annotated[
        bool, typer.Option("--no-browser", help="Print the URL but do not open a browser.")
    ] = False,
) -> None:
    """Connect to a QuickBooks company (OAuth 2.0 authorization code flow)."""
    import webbrowser

    from invoicesync import sync
    from invoicesync.config import load_settings
    from invoicesync.errors import NotConnected

    state = _state(ctx)
    base = state.settings()
    settings = (
        load_settings(
            config_path=state.config_path,
            source=state.source,
            environment=environment,
            non_interactive=base.non_interactive,
        )
        if environment
        else base
    )
    interactive = state.interactive
    cid = client_id or settings.client_id
    if not cid:
        if not interactive:
            raise NotConnected("no client id: pass --client-id or set INVOICESYNC_CLIENT_ID")
        cid = typer.prompt("Intuit app client id", err=True)
    secret = settings.client_secret
    if not secret:
        if not interactive:
            raise NotConnected(
                "no client secret: set INVOICESYNC_CLIENT_SECRET (it is never a flag)"
            )
        secret = typer.prompt("Intuit app client secret", hide_input=True, err=True)
    manual = manual or (settings.environment == "production" and port is None)
    if manual and not interactive and state.browser is None:
        raise UsageError("--manual needs a terminal to paste the redirect URL into")

    def show(url: str) -> None:
        render.info("Open this address to authorize invoicesync:")
        sys.stderr.write(url + "\n")
        sys.stderr.flush()

    def ask(url: str) -> str:
        if state.browser is not None:
            return str(state.browser(url))
        return str(typer.prompt("Paste the full address your browser was sent to", err=True))

    def browse(url: str) -> None:
        if state.browser is not None:
            state.browser(url)
        elif not no_browser:
            webbrowser.open(url)

    result = sync.connect(
        settings,
        client_id=cid,
        client_secret=secret,
        manual=manual,
        port=settings.redirect_port if port is None else port,
        browser=browse,
        ask_redirect=ask,
        show_url=show,
        transport=state.transport,
    )
    render.success(
        f"Connected to {result.company_name} (realm {result.realm_id}, {result.environment}); "
        f"tokens stored in the {result.store}"
    )


@app.command()
def disconnect(ctx: typer.Context) -> None:
    """Revoke the connection at Intuit and delete the stored tokens (idempotent)."""
    from invoicesync import sync

    state = _state(ctx)
    result = sync.disconnect(state.settings(), transport=state.transport)
    if not result.was_connected:
        render.info("Not connected; nothing to do.")
        return
    if result.revoked:
        render.success(f"Disconnected from realm {result.realm_id}; tokens revoked and deleted.")
    else:
        render.warn(
            "could not confirm the revocation with Intuit; local tokens were deleted. Remove the "
            "app under QuickBooks > Settings > Apps to be sure."
        )


@app.command()
def status(ctx: typer.Context, json_: JSON_OPT = False) -> None:
    """Company, environment, token expiry, link counts and warnings."""
    from invoicesync import sync

    state = _state(ctx)
    with _session(state) as s:
        report = sync.status(s)
    if json_:
        render.emit_json({"schema": "invoicesync.status/1", **vars(report)})
        return
    rows = [
        ("Company", f"{report.company_name} ({report.country or '?'})"),
        ("Realm", report.realm_id),
        ("Environment", report.environment),
        ("Tokens stored in", report.token_store),
        ("Access token valid until", report.access_expires_at or "-"),
        ("Refresh token valid until", report.refresh_expires_at or "unknown"),
        ("Links", ", ".join(f"{k}: {v}" for k, v in sorted(report.links.items())) or "none"),
        ("Interrupted pushes", str(report.pending)),
    ]
    render.table("invoicesync status", ["", ""], rows, header=False)
    _warn_all(report.warnings)


# --- invoices ------------------------------------------------------------------------------------


@app.command()
def invoices(
    ctx: typer.Context,
    json_: JSON_OPT = False,
    unlinked: Annotated[
        bool, typer.Option("--unlinked", help="Only invoices not linked yet.")
    ] = False,
) -> None:
    """List source invoices with their link state (no QuickBooks call)."""
    from invoicesync import sync
    from invoicesync.sources.json_format import to_canonical

    state = _state(ctx)
    rows = sync.invoice_rows(state.settings(), unlinked=unlinked, warn=render.warn)
    if json_:
        render.emit_json(
            {
                "schema": "invoicesync.invoices/1",
                "invoices": [
                    {
                        "number": r.invoice.number,
                        "customer": r.invoice.customer.name,
                        "issue_date": r.invoice.issue_date.isoformat(),
                        "currency": r.invoice.currency,
                        "total": r.invoice.total,
                        "status": r.invoice.status,
                        "link": None
                        if r.link is None
                        else {
                            "qbo_id": r.link.qbo_id,
                            "doc_number": r.link.doc_number,
                            "origin": r.link.origin,
                            "linked_at": r.link.linked_at,
                            "qbo_state": r.link.last_state,
                            "qbo_balance": r.link.last_balance,
                            "checked_at": r.link.last_checked_at,
                        },
                        "invoice": to_canonical(r.invoice),
                    }
                    for r in rows
                ],
            }
        )
        return
    render.table(
        None,
        [
            "Invoice",
            "Customer",
            "Date",
            "Currency",
            "Total",
            "Status",
            "QBO id",
            "DocNumber",
            "In QuickBooks",
        ],
        [
            (
                r.invoice.number,
                r.invoice.customer.name,
                r.invoice.issue_date,
                r.invoice.currency,
                _money(r.invoice.total),
                r.invoice.status,
                r.link.qbo_id if r.link else "",
                (r.link.doc_number or "") if r.link else "",
                (r.link.last_state or "linked") if r.link else "",
            )
            for r in rows
        ],
        right=["Total"],
    )
    if not rows:
        render.info("No invoices." if not unlinked else "Every invoice is linked.")


# --- push ----------------------------------------------------------------------------------------


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

    from invoicesync import sync
    from invoicesync.store import state_lock

    state = _state(ctx)
    settings = state.settings()
    since_date = None
    if since is not None:
        try:
            since_date = date.fromisoformat(since)
        except ValueError:
            raise UsageError(f"--since {since!r} is not a date (YYYY-MM-DD)") from None
    if since is not None and not all_:
        raise UsageError("--since goes with --all")
    local = sync.load_invoices(settings, render.warn)
    lock = contextlib.nullcontext() if dry_run else state_lock(settings.app_dir, wait=wait)
    with lock, _session(state) as s, render.progress() as bar:
        report = sync.push(
            s,
            invoices=local,
            numbers=numbers or [],
            all_=all_,
            since=since_date,
            dry_run=dry_run,
            adopt_existing=adopt_existing,
            progress=bar,
        )
        _warn_all(s.manager.warnings)
    _render_push(report, json_)
    code = _push_exit_code(report)
    if code:
        raise typer.Exit(code)


def _push_exit_code(report: Any) -> int:
    from invoicesync.errors import EXIT_PARTIAL

    if report.fatal is not None:
        render.error(report.fatal.message)
        return int(report.fatal.exit_code)
    failed = report.failed
    if not failed:
        return 0
    if len(report.results) == 1:
        return int(failed[0].exit_code or EXIT_UNEXPECTED)
    return EXIT_PARTIAL


def _render_push(report: Any, json_: bool) -> None:
    if json_:
        render.emit_json(
            {
                "schema": "invoicesync.push/1",
                "realm_id": report.realm_id,
                "dry_run": report.dry_run,
                "summary": report.counts(),
                "results": [
                    {
                        "invoice": r.invoice,
                        "status": r.status,
                        "qbo_id": r.qbo_id,
                        "doc_number": r.doc_number,
                        "total": r.total,
                        "currency": r.currency,
                        "message": r.message,
                        "problems": r.problems,
                        "warnings": r.warnings,
                        **({"payload": r.payload} if report.dry_run else {}),
                    }
                    for r in report.results
                ],
            }
        )
        return
    if not report.results:
        render.info(
            "Nothing to push: no sent or paid invoices in the source (with --since, none "
            "issued since that date)."
        )
        return
    title = "Push plan (dry run: nothing was written)" if report.dry_run else "Push results"
    render.table(
        title,
        ["Invoice", "Status", "QBO id", "DocNumber", "Total", "Message"],
        [
            (r.invoice, r.status, r.qbo_id or "", r.doc_number or "", _money(r.total), r.message)
            for r in report.results
        ],
        right=["Total"],
    )
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
        render.info(", ".join(f"{v} {k}" for k, v in sorted(counts.items())))


# --- candidates, link, unlink, reconcile ---------------------------------------------------------


@app.command("list-candidates")
def list_candidates(
    ctx: typer.Context,
    number: Annotated[str, typer.Argument(help="The local invoice number.")],
    limit: Annotated[int, typer.Option("--limit", min=1, max=100, help="At most N rows.")] = 10,
    json_: JSON_OPT = False,
) -> None:
    """QuickBooks invoices that could be this invoice, best first, with the reasons."""
    from invoicesync import sync

    state = _state(ctx)
    settings = state.settings()
    local = sync.load_invoices(settings, render.warn)
    with _session(state) as s:
        inv, found = sync.list_candidates(s, local, number, limit=limit)
    if json_:
        render.emit_json(
            {
                "schema": "invoicesync.candidates/1",
                "invoice": inv.number,
                "candidates": [vars(c) for c in found],
            }
        )
        return
    if not found:
        render.info(
            f"No QuickBooks invoice looks like {number} (same DocNumber, or same customer "
            "within 30 days)."
        )
        return
    _candidates_table(inv, found)


def _candidates_table(inv: Any, found: list[Any]) -> None:
    render.table(
        f"Candidates for {inv.number} ({inv.customer.name}, {inv.issue_date}, "
        f"{_money(inv.total)} {inv.currency})",
        [
            "#",
            "Score",
            "QBO id",
            "DocNumber",
            "Date",
            "Customer",
            "Total",
            "Balance",
            "Linked to",
            "Why",
        ],
        [
            (
                i,
                c.score,
                c.qbo_id,
                c.doc_number or "",
                c.txn_date or "",
                c.customer or "",
                _money(c.total),
                _money(c.balance),
                c.linked_to or "",
                "; ".join(c.reasons),
            )
            for i, c in enumerate(found, start=1)
        ],
        right=["Score", "Total", "Balance"],
    )


@app.command()
def link(
    ctx: typer.Context,
    number: Annotated[str, typer.Argument(help="The local invoice number.")],
    qbo_id: Annotated[str | None, typer.Argument(help="The QuickBooks invoice id.")] = None,
    doc_number: Annotated[
        str | None, typer.Option("--doc-number", help="Find the QBO invoice by DocNumber.")
    ] = None,
    best: Annotated[
        bool, typer.Option("--best", help="Take the top candidate if it is strong and unambiguous.")
    ] = False,
    no_marker: Annotated[
        bool, typer.Option("--no-marker", help="Do not write our marker into the QBO invoice.")
    ] = False,
    json_: JSON_OPT = False,
    wait: WAIT_OPT = None,
) -> None:
    """Link a local invoice to an existing QuickBooks invoice."""
    from invoicesync import sync
    from invoicesync.store import state_lock

    state = _state(ctx)
    settings = state.settings()
    local = sync.load_invoices(settings, render.warn)
    interactive = state.interactive and not json_

    def pick(candidates: list[Any]) -> str | None:
        inv = next(i for i in local if i.number == number)
        _candidates_table(inv, candidates)
        answer = typer.prompt(
            "Link to which row (number, or QBO id; empty to cancel)",
            default="",
            show_default=False,
            err=True,
        )
        answer = answer.strip()
        if not answer:
            return None
        if answer.isdigit() and 1 <= int(answer) <= len(candidates):
            return str(candidates[int(answer) - 1].qbo_id)
        if any(c.qbo_id == answer for c in candidates):
            return str(answer)
        raise UsageError(f"{answer!r} is not a row number or a candidate's QBO id")

    with state_lock(settings.app_dir, wait=wait), _session(state) as s:
        result = sync.link(
            s,
            local,
            number,
            qbo_id=qbo_id,
            doc_number=doc_number,
            best=best,
            pick=pick if interactive else None,
            write_marker=not no_marker,
        )
    if json_:
        render.emit_json({"schema": "invoicesync.link/1", **vars(result)})
    else:
        render.success(
            f"Linked {result.invoice} to QuickBooks invoice {result.qbo_id} "
            f"(DocNumber {result.doc_number or '-'}, {_money(result.total)} "
            f"{result.currency or ''})"
        )
    _warn_all(result.warnings)


@app.command()
def unlink(
    ctx: typer.Context,
    number: Annotated[str, typer.Argument(help="The local invoice number.")],
    json_: JSON_OPT = False,
    wait: WAIT_OPT = None,
) -> None:
    """Remove a link; the QuickBooks invoice itself is left untouched (idempotent)."""
    from invoicesync import sync
    from invoicesync.store import state_lock

    state = _state(ctx)
    settings = state.settings()
    with state_lock(settings.app_dir, wait=wait), _session(state) as s:
        result = sync.unlink(s, number)
    if json_:
        render.emit_json({"schema": "invoicesync.unlink/1", **vars(result)})
    elif not result.was_linked:
        render.info(f"{number} is not linked; nothing to do.")
    else:
        extra = " and removed our marker from it" if result.marker_removed else ""
        render.success(
            f"Unlinked {number} from QuickBooks invoice {result.qbo_id}{extra}. The "
            "QuickBooks invoice itself was not changed or deleted; a later push "
            "creates a new one."
        )
    _warn_all(result.warnings)


@app.command()
def reconcile(
    ctx: typer.Context,
    json_: JSON_OPT = False,
    rebuild: Annotated[
        bool, typer.Option("--rebuild", help="Recreate missing links from QuickBooks first.")
    ] = False,
    wait: WAIT_OPT = None,
) -> None:
    """Check every linked QuickBooks invoice: changed, paid, voided or deleted since linking."""
    from invoicesync import sync
    from invoicesync.store import state_lock

    state = _state(ctx)
    settings = state.settings()
    local = sync.load_invoices(settings, render.warn) if rebuild else []
    with state_lock(settings.app_dir, wait=wait), _session(state) as s:
        report = sync.reconcile(s, rebuild=rebuild, invoices=local)
    if json_:
        render.emit_json(
            {
                "schema": "invoicesync.reconcile/1",
                "realm_id": report.realm_id,
                "rebuilt": [
                    {"invoice": ln.invoice_number, "qbo_id": ln.qbo_id, "doc_number": ln.doc_number}
                    for ln in report.rebuilt
                ],
                "links": [vars(d) for d in report.drifts],
            }
        )
        return
    for ln in report.rebuilt:
        render.success(f"Rebuilt link {ln.invoice_number} → QuickBooks invoice {ln.qbo_id}")
    if not report.drifts:
        render.info("No links to check.")
        return
    render.table(
        "Linked invoices in QuickBooks",
        ["Invoice", "QBO id", "State", "Balance", "Details"],
        [
            (d.invoice, d.qbo_id, d.state, _money(d.balance), "; ".join(d.details))
            for d in report.drifts
        ],
        right=["Balance"],
    )
    states: dict[str, int] = {}
    for d in report.drifts:
        states[d.state] = states.get(d.state, 0) + 1
    render.info(", ".join(f"{v} {k}" for k, v in sorted(states.items())))


# --- demo ------------------------------------------------------------------------------------


@app.command()
def demo(
    ctx: typer.Context,
    keep: Annotated[
        Path | None, typer.Option("--keep", help="Keep the demo's files in this folder.")
    ] = None,
) -> None:
    """The whole story against a throw-away local sandbox: no account, browser or network."""
    from invoicesync.demo import run_demo

    state = _state(ctx)
    command = typer.main.get_command(app)

    def invoke(args: list[str], browser: Any) -> int:
        global_args = ["--quiet"] if state.quiet else []
        try:
            result = command.main(
                args=global_args + args,
                prog_name="invoicesync",
                standalone_mode=False,
                obj=AppState(browser=browser),
            )
        except typer.Exit as exc:
            return int(exc.exit_code)
        except Exception as exc:  # usage errors of the vendored click carry their own code
            show = getattr(exc, "show", None)
            if show is None or not hasattr(exc, "exit_code"):
                raise
            show()
            return int(exc.exit_code)
        return int(result) if isinstance(result, int) else 0

    code = run_demo(invoke, keep)
    if code:
        raise typer.Exit(code)


def main() -> NoReturn:
    """Console-script entry point."""
    os.environ.setdefault("PYTHONIOENCODING", "utf-8")
    try:
        app()
    except KeyboardInterrupt:
        render.error("interrupted")
        sys.exit(EXIT_INTERRUPTED)
    sys.exit(0)  # pragma: no cover - typer exits itself


__all__ = ["EXIT_USAGE", "app", "main"]
