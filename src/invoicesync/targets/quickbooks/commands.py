"""QuickBooks' side of `connect`, `disconnect`, `status`, `ci-seed` and `sandbox serve`: the
OAuth code flow's questions and browser, and how the answers are shown."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from invoicesync.cli import render
from invoicesync.cli.options import warn_all
from invoicesync.cli.views import Column, TableView
from invoicesync.errors import InvalidInput, NotConnected, UsageError
from invoicesync.targets.target import ConnectOptions, SandboxOptions

if TYPE_CHECKING:
    from invoicesync.cli.app import AppState
    from invoicesync.config import Settings
    from invoicesync.targets.quickbooks.auth import DisconnectReport
    from invoicesync.targets.quickbooks.connection import Browser, StatusReport
    from invoicesync.targets.quickbooks.sandbox import Sandbox
    from invoicesync.targets.quickbooks.sandbox.server import SandboxServer
    from invoicesync.usecases.session import Session

SHIPPED_COMPANIES = ("us", "uk")


class QuickBooksCommands:
    """The CLI's side of a QuickBooks connection."""

    def connect(self, state: AppState, options: ConnectOptions) -> None:
        """OAuth 2.0 authorization code flow: a local listener, or the pasted redirect."""
        from invoicesync.targets.quickbooks import connection
        from invoicesync.targets.quickbooks import settings as qbo

        settings = _settings_for(state, options.environment)
        own = qbo.of(settings)
        cid, secret = _credentials(state, options.client_id or own.client_id, own.client_secret)
        manual = options.manual or (own.environment == "production" and options.port is None)
        if manual and not state.interactive and state.browser is None:
            raise UsageError("--manual needs a terminal to paste the redirect URL into")
        result = connection.connect(
            settings,
            client_id=cid,
            client_secret=secret,
            manual=manual,
            port=own.redirect_port if options.port is None else options.port,
            browser=_browser(state, options.no_browser),
            transport=state.transport,
        )
        render.success(
            f"Connected to {result.company_name} (realm {result.realm_id}, {result.environment}); "
            f"tokens stored in the {result.store}"
        )

    def disconnect(self, state: AppState) -> None:
        from invoicesync.targets.quickbooks import connection

        report = connection.disconnect(state.settings(), transport=state.transport)
        warn_all([f"could not look for tokens in {place}" for place in report.unchecked])
        if not report.was_connected:
            render.info("Not connected; nothing to do.")
            return
        places = "; ".join(report.deleted)
        if report.revoked is False:
            render.warn(
                f"could not confirm the revocation with Intuit ({report.revoke_problem}); local "
                f"tokens were deleted ({places or 'none were stored'}). Remove the app under "
                "QuickBooks > Settings > Apps to be sure."
            )
            return
        render.success(f"Disconnected from realm {report.realm_id}; {_what_happened(report)}.")

    def status(self, opened: Session, json_: bool) -> None:
        from invoicesync.targets.quickbooks import connection
        from invoicesync.targets.quickbooks.session import QuickBooksSession

        assert isinstance(opened, QuickBooksSession)
        report = connection.status(opened)
        if json_:
            render.emit_json(status_document(report))
            return
        render.show(status_table(report))
        warn_all(report.warnings)

    def ci_seed(self, state: AppState, to_terminal: bool) -> None:
        """Print the live refresh token for a CI secret; never to a terminal by accident."""
        from invoicesync.targets.quickbooks import connection

        if render.stdout_is_terminal() and not to_terminal:
            raise UsageError(
                "refusing to print a refresh token to the terminal: pipe it into your secret "
                "store (`invoicesync ci-seed | gh secret set QBO_REFRESH_TOKEN`) or pass "
                "--to-terminal"
            )
        seed = connection.ci_seed(state.settings())
        render.warn(
            f"this is the live refresh token of realm {seed.realm_id} ({seed.environment}), from "
            f"the {seed.store}: keep it only in a CI secret. Set INVOICESYNC_REALM_ID="
            f"{seed.realm_id} there too. The token rotates: whoever refreshes first (CI or this "
            "machine) supersedes the other's copy, so give CI a connection of its own"
        )
        render.emit_secret(seed.refresh_token)

    def serve_sandbox(self, options: SandboxOptions) -> None:
        from invoicesync.targets.quickbooks.sandbox.server import SandboxServer
        from invoicesync.targets.quickbooks.settings import DEFAULT_LOCAL_PORT

        port = DEFAULT_LOCAL_PORT if options.port is None else options.port
        sandbox = _sandbox(options)
        sandbox.faults.latency_ms = options.latency_ms
        try:
            server = SandboxServer(sandbox, port=port)
        except OSError as exc:
            raise UsageError(
                f"cannot listen on 127.0.0.1:{port}: {exc.strerror}; try --port 0"
            ) from None
        _serve(sandbox, server, options.env_file)


def _settings_for(state: AppState, environment: str | None) -> Settings:
    """The settings, read again when `--environment` changes the endpoints it implies; the
    profile chosen stays, so `connect` writes into that profile and its state folder."""
    from invoicesync.config import load_settings

    settings = state.settings()
    if not environment:
        return settings
    return load_settings(
        config_path=state.config_path,
        source=state.source,
        environment=environment,
        non_interactive=settings.non_interactive,
        profile=state.profile,
    )


def _credentials(state: AppState, cid: str | None, secret: str | None) -> tuple[str, str]:
    """The Intuit app's id and secret: from flags or settings, else asked on a terminal."""
    if not cid:
        if not state.interactive:
            raise NotConnected("no client id: pass --client-id or set INVOICESYNC_CLIENT_ID")
        cid = str(typer.prompt("Intuit app client id", err=True))
    if not secret:
        if not state.interactive:
            raise NotConnected(
                "no client secret: set INVOICESYNC_CLIENT_SECRET (it is never a flag)"
            )
        secret = str(typer.prompt("Intuit app client secret", hide_input=True, err=True))
    return cid, secret


def _browser(state: AppState, no_browser: bool) -> Browser:
    """How `connect` shows the authorize URL, opens it, and gets the redirect back."""
    import webbrowser

    from invoicesync.targets.quickbooks.connection import Browser

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

    def waiting(address: str, timeout: float) -> None:
        minutes, seconds = divmod(int(timeout), 60)
        span = f"{minutes} minutes" if minutes and not seconds else f"{int(timeout)} seconds"
        render.info(
            f"Waiting up to {span} for Intuit's redirect on {address} "
            "(Ctrl-C to give up; `--manual` pastes it instead)."
        )

    return Browser(show_url=show, open_url=browse, ask_redirect=ask, waiting=waiting)


def _what_happened(report: DisconnectReport) -> str:
    places = "; ".join(report.deleted)
    if report.revoked and places:
        return f"tokens revoked and deleted ({places})"
    if report.revoked:
        return "token revoked (none was stored in this home)"
    if places:
        return f"tokens deleted ({places}); none to revoke"
    return "connection file deleted; no tokens were stored"


def _serve(sandbox: Sandbox, server: SandboxServer, env_file: Path | None) -> None:
    """Print the environment, then serve until Ctrl-C: the normal way to stop a server, so
    exit 0 with a goodbye rather than an "interrupted" error. The env file appears whole
    (atomic rename) after the socket listens: a script that waits for it never reads half."""
    from invoicesync.files import write_atomic

    companies = ", ".join(f"{c.name} ({c.realm_id})" for c in sandbox.companies.values())
    try:
        lines = "\n".join(f"export {k}={v}" for k, v in _ready(sandbox, server.url).items())
        if env_file is not None:
            write_atomic(env_file, lines + "\n")
        render.emit_text(lines)
        render.info(f"Local QuickBooks sandbox on {server.url} with {companies}. Ctrl-C to stop.")
        server.serve_forever()
    except KeyboardInterrupt:
        render.info("Sandbox stopped.")
    finally:
        server.server_close()


def _sandbox(options: SandboxOptions) -> Sandbox:
    from invoicesync.targets.quickbooks.sandbox import RateLimits, Sandbox

    if options.limits not in {"real", "off"}:
        raise UsageError("--limits must be real or off")
    for spec in options.company or []:
        if spec not in SHIPPED_COMPANIES and not Path(spec).is_file():
            raise UsageError(f"--company {spec}: no such file (or use us / uk)")
    try:
        return Sandbox(
            list(options.company or SHIPPED_COMPANIES),
            time_scale=options.time_scale,
            limits=RateLimits(enabled=options.limits == "real"),
            auto_approve=options.auto_approve,
        )
    except (KeyError, ValueError, OSError) as exc:
        raise InvalidInput(f"cannot load company file: {exc}") from None


def _ready(sandbox: Sandbox, url: str) -> dict[str, str]:
    """The environment of a ready connection to the first company, so scripts and CI need no
    browser: these are sandbox-only credentials."""
    from invoicesync.targets.quickbooks.sandbox import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
    from invoicesync.targets.quickbooks.settings import local_environment

    first = next(iter(sandbox.companies.values()))
    grant = sandbox.oauth.issue_grant(DEFAULT_CLIENT_ID, first.realm_id)
    return {
        **local_environment(url, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET),
        "INVOICESYNC_REALM_ID": first.realm_id,
        "INVOICESYNC_REFRESH_TOKEN": grant.refresh_token,
    }


# --- status ------------------------------------------------------------------------------------


def status_document(r: StatusReport) -> dict[str, Any]:
    return {
        "schema": "invoicesync.status/1",
        "environment": r.environment,
        "realm_id": r.realm_id,
        "company_name": r.company_name,
        "country": r.country,
        "token_store": r.token_store,
        "access_expires_at": r.access_expires_at,
        "refresh_expires_at": r.refresh_expires_at,
        "hard_expires_at": r.hard_expires_at,
        "links": dict(r.links),
        "pending": r.pending,
        "warnings": list(r.warnings),
        "sent": r.sent,
        "paid": r.paid,
    }


def status_table(r: StatusReport) -> TableView:
    rows = [
        ("Company", f"{r.company_name} ({r.country or '?'})"),
        ("Realm", r.realm_id),
        ("Environment", r.environment),
        ("Tokens stored in", r.token_store),
        ("Access token valid until", r.access_expires_at or "-"),
        ("Refresh token valid until", r.refresh_expires_at or "unknown"),
        ("Links", ", ".join(f"{k}: {v}" for k, v in sorted(r.links.items())) or "none"),
        ("Interrupted pushes", str(r.pending)),
        ("Sent from QuickBooks", str(r.sent)),
        ("Paid (last seen)", str(r.paid)),
    ]
    columns = [Column(""), Column("", fold=True)]
    return TableView("invoicesync status", columns, rows, header=False)
