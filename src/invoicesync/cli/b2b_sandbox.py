"""`sandbox serve --target b2brouter`: the local B2BRouter on loopback, and how to use it."""

from __future__ import annotations

from pathlib import Path

from invoicesync.cli import render
from invoicesync.errors import InvalidInput, UsageError

SHIPPED_ACCOUNTS = ("es", "fr")
DEFAULT_PORT = 8771  # beside the QuickBooks sandbox's 8770: both can run at once


def serve_b2brouter(
    port: int | None, accounts: list[str] | None, latency_ms: float, env_file: Path | None = None
) -> None:
    """Serve until interrupted; print `export` lines for a ready connection to the first
    account and, as comments, the profile that uses them."""
    from invoicesync.b2brouter_sandbox import B2BRouterSandbox, B2BRouterServer, Faults

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
