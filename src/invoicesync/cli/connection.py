"""`connect`, `disconnect`, `status`."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from invoicesync.cli import render, views
from invoicesync.cli.app import AppState, app, state_of
from invoicesync.cli.options import JSON_OPT, opened_session, warn_all
from invoicesync.errors import NotConnected, UsageError

if TYPE_CHECKING:
    from invoicesync.auth import DisconnectReport
    from invoicesync.config import Settings
    from invoicesync.usecases.connection import Browser


@app.command()
def connect(
    ctx: typer.Context,
    environment: Annotated[
        str | None,
        typer.Option(
            "--environment", metavar="ENV", help="production, sandbox (Intuit's) or local (ours)."
        ),
    ] = None,
    manual: Annotated[
        bool,
        typer.Option(
            "--manual",
            help="Paste the redirect URL instead of a local listener (default for production).",
        ),
    ] = False,
    port: Annotated[
        int | None,
        typer.Option("--port", metavar="PORT", help="Port of the local redirect listener."),
    ] = None,
    client_id: Annotated[
        str | None, typer.Option("--client-id", metavar="ID", help="The Intuit app's client id.")
    ] = None,
    no_browser: Annotated[
        bool, typer.Option("--no-browser", help="Print the URL but do not open a browser.")
    ] = False,
) -> None:
    """Connect to a QuickBooks company (OAuth 2.0 authorization code flow).

    \b
    Examples:
      invoicesync connect --environment sandbox
      invoicesync connect --environment production --manual
    """
    from invoicesync.usecases import connection

    state = state_of(ctx)
    settings = _settings_for(state, environment)
    cid, secret = _credentials(state, client_id or settings.client_id, settings.client_secret)
    manual = manual or (settings.environment == "production" and port is None)
    if manual and not state.interactive and state.browser is None:
        raise UsageError("--manual needs a terminal to paste the redirect URL into")
    result = connection.connect(
        settings,
        client_id=cid,
        client_secret=secret,
        manual=manual,
        port=settings.redirect_port if port is None else port,
        browser=_browser(state, no_browser),
        transport=state.transport,
    )
    render.success(
        f"Connected to {result.company_name} (realm {result.realm_id}, {result.environment}); "
        f"tokens stored in the {result.store}"
    )


def _settings_for(state: AppState, environment: str | None) -> Settings:
    from invoicesync.config import load_settings

    settings = state.settings()
    if not environment:
        return settings
    return load_settings(
        config_path=state.config_path,
        source=state.source,
        environment=environment,
        non_interactive=settings.non_interactive,
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

    from invoicesync.usecases.connection import Browser

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


@app.command()
def disconnect(ctx: typer.Context) -> None:
    """Revoke the connection at Intuit and delete the stored tokens (idempotent).

    \b
    Example:
      invoicesync disconnect
    """
    from invoicesync.usecases import connection

    state = state_of(ctx)
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


def _what_happened(report: DisconnectReport) -> str:
    places = "; ".join(report.deleted)
    if report.revoked and places:
        return f"tokens revoked and deleted ({places})"
    if report.revoked:
        return "token revoked (none was stored in this home)"
    if places:
        return f"tokens deleted ({places}); none to revoke"
    return "connection file deleted; no tokens were stored"


@app.command()
def status(ctx: typer.Context, json_: JSON_OPT = False) -> None:
    """Company, environment, token expiry, link counts and warnings.

    \b
    Example:
      invoicesync status --json | jq .refresh_expires_at
    """
    from invoicesync.usecases import connection

    with opened_session(state_of(ctx)) as opened:
        report = connection.status(opened)
    if json_:
        render.emit_json(views.status_document(report))
        return
    render.show(views.status_table(report))
    warn_all(report.warnings)


@app.command("ci-seed")
def ci_seed(
    ctx: typer.Context,
    to_terminal: Annotated[
        bool,
        typer.Option(
            "--to-terminal",
            help="Print the token even when stdout is a terminal (it stays in the scrollback).",
        ),
    ] = False,
) -> None:
    """Print the stored refresh token, to seed a CI secret (INVOICESYNC_REFRESH_TOKEN).

    The token is a live credential: pipe it straight into your secret store. It is never
    printed to a terminal unless you pass --to-terminal. The realm id to set as
    INVOICESYNC_REALM_ID is printed on stderr.

    \b
    Example:
      invoicesync ci-seed | gh secret set QBO_REFRESH_TOKEN
    """
    from invoicesync.usecases import connection

    if render.stdout_is_terminal() and not to_terminal:
        raise UsageError(
            "refusing to print a refresh token to the terminal: pipe it into your secret store "
            "(`invoicesync ci-seed | gh secret set QBO_REFRESH_TOKEN`) or pass --to-terminal"
        )
    seed = connection.ci_seed(state_of(ctx).settings())
    render.warn(
        f"this is the live refresh token of realm {seed.realm_id} ({seed.environment}), from "
        f"the {seed.store}: keep it only in a CI secret. Set INVOICESYNC_REALM_ID="
        f"{seed.realm_id} there too. The token rotates: whoever refreshes first (CI or this "
        "machine) supersedes the other's copy, so give CI a connection of its own"
    )
    render.emit_secret(seed.refresh_token)
