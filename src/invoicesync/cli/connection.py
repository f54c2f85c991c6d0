"""`connect`, `disconnect`, `status`."""

from __future__ import annotations

from typing import Annotated

import typer

from invoicesync.cli.app import app, state_of
from invoicesync.cli.options import JSON_OPT, opened_session
from invoicesync.errors import UsageError
from invoicesync.targets.target import ConnectOptions, SeedsCI


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
    """Connect the profile's target: a QuickBooks company (OAuth 2.0 code flow), or a
    B2BRouter account (its API key, from INVOICESYNC_B2BROUTER_API_KEY or a prompt).

    \b
    Examples:
      invoicesync connect --environment sandbox
      invoicesync connect --environment production --manual
    """
    from invoicesync import targets

    state = state_of(ctx)
    options = ConnectOptions(environment, manual, port, client_id, no_browser)
    targets.of(state.settings()).commands().connect(state, options)


@app.command()
def disconnect(ctx: typer.Context) -> None:
    """Revoke the connection at Intuit and delete the stored tokens (idempotent).

    \b
    Example:
      invoicesync disconnect
    """
    from invoicesync import targets

    state = state_of(ctx)
    targets.of(state.settings()).commands().disconnect(state)


@app.command()
def status(ctx: typer.Context, json_: JSON_OPT = False) -> None:
    """Company, environment, token expiry, link counts and warnings.

    \b
    Example:
      invoicesync status --json | jq .refresh_expires_at
    """
    from invoicesync import targets

    state = state_of(ctx)
    with opened_session(state) as opened:
        targets.of(state.settings()).commands().status(opened, json_)


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
    from invoicesync import targets

    state = state_of(ctx)
    target = targets.of(state.settings())
    commands = target.commands()
    if not isinstance(commands, SeedsCI):
        raise UsageError(
            f"ci-seed: a {target.name} profile has no refresh token to seed; give CI its own "
            "credentials as docs/ci.md shows"
        )
    commands.ci_seed(state, to_terminal)
