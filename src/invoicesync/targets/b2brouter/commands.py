"""B2BRouter's side of `connect`, `disconnect`, `status` and `sandbox serve`: the API key
(never a flag), the account id, and how the answers are shown."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from invoicesync.cli import render
from invoicesync.cli.options import warn_all
from invoicesync.cli.views import Column, TableView, delivery_cell, delivery_fields
from invoicesync.errors import InvalidInput, NotConnected, UsageError
from invoicesync.targets.target import ConnectOptions, SandboxOptions

if TYPE_CHECKING:
    from invoicesync.cli.app import AppState
    from invoicesync.targets.b2brouter.connection import B2BStatusReport
    from invoicesync.usecases.session import Session

SHIPPED_ACCOUNTS = ("es", "fr")
DEFAULT_PORT = 8771  # beside the QuickBooks sandbox's 8770: both can run at once


class B2BRouterCommands:
    """The CLI's side of a B2BRouter connection."""

    def connect(self, state: AppState, options: ConnectOptions) -> None:
        if options.given():
            raise UsageError(
                f"{', '.join(options.given())}: not for a B2BRouter profile, which connects with "
                "its API key (INVOICESYNC_B2BROUTER_API_KEY or a prompt) and account id"
            )
        connect_b2brouter(state)

    def disconnect(self, state: AppState) -> None:
        disconnect_b2brouter(state)

    def status(self, opened: Session, json_: bool) -> None:
        status_b2brouter(opened, json_)

    def serve_sandbox(self, options: SandboxOptions) -> None:
        if options.tuned():
            raise UsageError(
                f"{', '.join(options.tuned())}: only for the QuickBooks sandbox "
                "(--target quickbooks)"
            )
        serve_b2brouter(
            options.port, list(options.company) or None, options.latency_ms, options.env_file
        )


def connect_b2brouter(state: AppState) -> None:
    """The API key from INVOICESYNC_B2BROUTER_API_KEY or a hidden prompt (never a flag), the
    account id from the profile, INVOICESYNC_B2BROUTER_ACCOUNT or a prompt."""
    from invoicesync.targets.b2brouter import connection as b2b_connection
    from invoicesync.targets.b2brouter import settings as b2brouter

    settings = state.settings()
    own = b2brouter.of(settings)
    key = own.api_key
    if not key:
        if not state.interactive:
            raise NotConnected(
                "no B2BRouter API key: set INVOICESYNC_B2BROUTER_API_KEY (it is never a flag)"
            )
        key = str(typer.prompt("B2BRouter API key", hide_input=True, err=True))
    account = own.account
    if not account:
        if not state.interactive:
            raise NotConnected(
                "no B2BRouter account id: set b2brouter_account in the profile or "
                "INVOICESYNC_B2BROUTER_ACCOUNT"
            )
        account = str(typer.prompt("B2BRouter account id", err=True))
    result = b2b_connection.connect(
        settings, api_key=key, account=account, transport=state.transport
    )
    render.success(
        f"Connected to B2BRouter account {result.account_name} ({result.account}, "
        f"{result.environment} key); API key stored in the {result.store}"
    )
    if all(c.matches for c in result.calculation):
        render.info("Calculation settings match the source (half up, round before sum on).")
    warn_all(b2b_connection.mismatches(result.calculation))


def disconnect_b2brouter(state: AppState) -> None:
    from invoicesync.targets.b2brouter import connection as b2b_connection

    result = b2b_connection.disconnect(state.settings())
    if not result.was_connected:
        render.info("Not connected; nothing to do.")
        return
    render.success(
        f"Disconnected from B2BRouter account {result.account}; the stored API key was deleted "
        "(revoke it in B2BRouter under Developers → API keys if it leaked)."
    )


def status_b2brouter(opened: Session, json_: bool) -> None:
    from invoicesync.targets.b2brouter.connection import status
    from invoicesync.targets.b2brouter.session import B2BRouterSession

    assert isinstance(opened, B2BRouterSession)
    r = status(opened)
    if json_:
        render.emit_json(_b2b_status_document(opened.settings.profile, r))
        return
    rows = [
        ("Account", f"{r.account_name} ({r.country or '?'})"),
        ("Account id", r.account),
        (
            "Environment",
            f"{r.environment} (key {'test_…' if r.environment == 'test' else 'production'})",
        ),
        ("Endpoint", r.url),
        ("API key stored in", r.key_store),
        ("Links", ", ".join(f"{k}: {v}" for k, v in sorted(r.links.items())) or "none"),
        ("Interrupted pushes", str(r.pending)),
        (
            "At the last reconcile",
            ", ".join(f"{k}: {v}" for k, v in r.last_states.items()) or "not reconciled yet",
        ),
        ("Delivery", ", ".join(f"{k}: {v}" for k, v in r.deliveries.items()) or "-"),
        ("Registration", ", ".join(f"{k}: {v}" for k, v in r.registrations.items()) or "-"),
        *((f"Invoice {number}", delivery_cell(seen)) for number, seen in r.problems),
        *(
            (
                f"Calculation: {c.setting}",
                c.current if c.matches else f"{c.current} (the source needs {c.required})",
            )
            for c in r.calculation
        ),
    ]
    render.show(
        TableView(
            "invoicesync status (B2BRouter)",
            [Column(""), Column("", fold=True)],
            rows,
            header=False,
        )
    )
    warn_all(r.warnings)


def _b2b_status_document(profile: str | None, r: B2BStatusReport) -> dict[str, Any]:
    return {
        "schema": "invoicesync.b2brouter-status/1",
        "profile": profile,
        "account": r.account,
        "account_name": r.account_name,
        "country": r.country,
        "environment": r.environment,
        "url": r.url,
        "key_store": r.key_store,
        "links": dict(r.links),
        "pending": r.pending,
        "last_states": dict(r.last_states),
        "deliveries": dict(r.deliveries),
        "registrations": dict(r.registrations),
        "problems": [{"invoice": n, **delivery_fields(seen)} for n, seen in r.problems],
        "calculation": [
            {
                "setting": c.setting,
                "required": c.required,
                "current": c.current,
                "matches": c.matches,
            }
            for c in r.calculation
        ],
        "warnings": list(r.warnings),
    }


def serve_b2brouter(
    port: int | None, accounts: list[str] | None, latency_ms: float, env_file: Path | None = None
) -> None:
    """Serve until interrupted; print `export` lines for a ready connection to the first
    account and, as comments, the profile that uses them."""
    from invoicesync.targets.b2brouter.sandbox import B2BRouterSandbox, B2BRouterServer, Faults

    for spec in accounts or []:
        if spec not in SHIPPED_ACCOUNTS and not Path(spec).is_file():
            raise UsageError(f"--company {spec}: no such file (or use es / fr)")
    try:
        sandbox = B2BRouterSandbox(
            accounts or list(SHIPPED_ACCOUNTS), faults=Faults(latency_ms=latency_ms)
        )
    except (KeyError, ValueError, OSError) as exc:
        raise InvalidInput(f"cannot load account file: {exc}") from None
    port = DEFAULT_PORT if port is None else port
    try:
        server = B2BRouterServer(sandbox, port=port)
    except OSError as exc:
        raise UsageError(
            f"cannot listen on 127.0.0.1:{port}: {exc.strerror}; try --port 0"
        ) from None
    key, account = sandbox.default_connection()
    lines = "\n".join(
        [
            f"export INVOICESYNC_B2BROUTER_URL={server.url}",
            f"export INVOICESYNC_B2BROUTER_API_KEY={key}",
            f"export INVOICESYNC_B2BROUTER_ACCOUNT={account}",
            "# a profile for it in config.toml, then `invoicesync --profile b2b connect`:",
            "#   [profiles.b2b]",
            '#   target = "b2brouter"',
            f'#   b2brouter_url = "{server.url}"',
            f'#   b2brouter_account = "{account}"',
        ]
    )
    if env_file is not None:  # whole, after the socket listens (as `sandbox serve` does)
        from invoicesync.files import write_atomic

        write_atomic(env_file, lines + "\n")
    render.emit_text(lines)
    render.info(f"Local B2BRouter sandbox on {server.url} (account {account}). Ctrl-C to stop.")
    try:
        server.serve_forever()
    finally:
        server.server_close()
