"""`sandbox serve` and `demo`: the local QuickBooks and the story told against it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from invoicesync.cli import render
from invoicesync.cli.app import HELP, AppState, InvoiceSyncGroup, app, state_of
from invoicesync.errors import InvalidInput, UsageError

if TYPE_CHECKING:
    from invoicesync.sandbox import Sandbox
    from invoicesync.sandbox.server import SandboxServer

sandbox_app = typer.Typer(
    cls=InvoiceSyncGroup,
    help="A local QuickBooks Online for tests, demos and your own scripts.",
    no_args_is_help=True,
    context_settings=HELP,
)
app.add_typer(sandbox_app, name="sandbox")

SHIPPED_COMPANIES = ("us", "uk")
TARGET_OPT = Annotated[
    str, typer.Option(metavar="quickbooks|b2brouter", help="Which service to serve.")
]

PORT_OPT = Annotated[
    int | None,
    typer.Option(
        "--port",
        metavar="PORT",
        help="Loopback port (0 picks a free one). Default: 8770; 8771 for b2brouter.",
    ),
]
COMPANY_OPT = Annotated[
    list[str] | None,
    typer.Option(
        "--company",
        metavar="FILE|us|uk",
        help="Company file (TOML/JSON) or a shipped one: us, uk. Repeatable. Default: us, uk.",
    ),
]
ENV_FILE_OPT = Annotated[
    Path | None,
    typer.Option(
        "--env-file",
        metavar="FILE",
        help="Also write the export lines to FILE, whole, once the sandbox listens.",
    ),
]


@sandbox_app.command("serve")
def sandbox_serve(
    port: PORT_OPT = None,
    company: COMPANY_OPT = None,
    latency_ms: Annotated[
        float, typer.Option("--latency-ms", metavar="MS", help="Added latency per request, in ms.")
    ] = 0.0,
    limits: Annotated[
        str,
        typer.Option(
            "--limits",
            metavar="real|off",
            help="real: enforce QBO's limits (429s); off: no limits.",
        ),
    ] = "real",
    time_scale: Annotated[
        float,
        typer.Option(
            "--time-scale",
            metavar="FACTOR",
            help="Sandbox clock speed-up (limits windows, token expiry).",
        ),
    ] = 1.0,
    auto_approve: Annotated[
        bool, typer.Option("--auto-approve", help="Skip the consent page (scripts, CI).")
    ] = False,
    target: TARGET_OPT = "quickbooks",
    env_file: ENV_FILE_OPT = None,
) -> None:
    """Serve a local QuickBooks Online on 127.0.0.1 until interrupted.

    Prints `export` lines for the environment, including a realm id and refresh token for the
    first company, so `invoicesync` (or your script) can use it without connecting.

    \b
    Examples:
      invoicesync sandbox serve --port 0 --env-file sandbox.env &   # no old sandbox.env
      until [ -e sandbox.env ]; do sleep 0.1; done
      . ./sandbox.env && invoicesync status
    """
    from invoicesync.config import DEFAULT_LOCAL_PORT
    from invoicesync.sandbox.server import SandboxServer

    if target != "quickbooks":
        return _other_target(target, port, company, latency_ms, env_file)
    port = DEFAULT_LOCAL_PORT if port is None else port
    sandbox = _sandbox(company, limits, time_scale, auto_approve)
    sandbox.faults.latency_ms = latency_ms
    try:
        server = SandboxServer(sandbox, port=port)
    except OSError as exc:
        raise UsageError(
            f"cannot listen on 127.0.0.1:{port}: {exc.strerror}; try --port 0"
        ) from None
    _serve(sandbox, server, env_file)


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


def _other_target(
    target: str,
    port: int | None,
    company: list[str] | None,
    latency_ms: float,
    env_file: Path | None,
) -> None:
    if target != "b2brouter":
        raise UsageError("--target must be quickbooks or b2brouter")
    from invoicesync.cli.b2b_sandbox import serve_b2brouter

    serve_b2brouter(port, company, latency_ms, env_file)


def _sandbox(
    company: list[str] | None, limits: str, time_scale: float, auto_approve: bool
) -> Sandbox:
    from invoicesync.sandbox import RateLimits, Sandbox

    if limits not in {"real", "off"}:
        raise UsageError("--limits must be real or off")
    for spec in company or []:
        if spec not in SHIPPED_COMPANIES and not Path(spec).is_file():
            raise UsageError(f"--company {spec}: no such file (or use us / uk)")
    try:
        return Sandbox(
            company or list(SHIPPED_COMPANIES),
            time_scale=time_scale,
            limits=RateLimits(enabled=limits == "real"),
            auto_approve=auto_approve,
        )
    except (KeyError, ValueError, OSError) as exc:
        raise InvalidInput(f"cannot load company file: {exc}") from None


def _ready(sandbox: Sandbox, url: str) -> dict[str, str]:
    """The environment of a ready connection to the first company, so scripts and CI need no
    browser: these are sandbox-only credentials."""
    from invoicesync.config import local_environment
    from invoicesync.sandbox import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

    first = next(iter(sandbox.companies.values()))
    grant = sandbox.oauth.issue_grant(DEFAULT_CLIENT_ID, first.realm_id)
    return {
        **local_environment(url, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET),
        "INVOICESYNC_REALM_ID": first.realm_id,
        "INVOICESYNC_REFRESH_TOKEN": grant.refresh_token,
    }


@app.command()
def demo(
    ctx: typer.Context,
    keep: Annotated[
        Path | None,
        typer.Option("--keep", metavar="DIR", help="Keep the demo's files in this folder."),
    ] = None,
) -> None:
    """The whole story against a throw-away local sandbox: no account, browser or network.

    \b
    Example:
      invoicesync demo --keep demo-files
    """
    from invoicesync.cli.demo_story import run_demo

    state = state_of(ctx)
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
