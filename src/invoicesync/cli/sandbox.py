"""`sandbox serve` and `demo`: a local target (each target serves its own) and the story."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from invoicesync import targets
from invoicesync.cli.app import HELP, AppState, InvoiceSyncGroup, app, state_of
from invoicesync.targets.target import SandboxOptions

sandbox_app = typer.Typer(
    cls=InvoiceSyncGroup,
    help=f"A local {targets.names()} for tests, demos and your own scripts.",
    no_args_is_help=True,
    context_settings=HELP,
)
app.add_typer(sandbox_app, name="sandbox")

TARGET_OPT = Annotated[
    str, typer.Option(metavar="|".join(targets.known()), help="Which service to serve.")
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
            help="real: enforce the service's limits (429s); off: no limits.",
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
    target: TARGET_OPT = targets.DEFAULT,
    env_file: ENV_FILE_OPT = None,
) -> None:
    """Serve a local QuickBooks Online (or with --target b2brouter, a B2BRouter) on 127.0.0.1
    until interrupted.

    Prints `export` lines for the environment, including a realm id and refresh token for the
    first company, so `invoicesync` (or your script) can use it without connecting.

    \b
    Examples:
      invoicesync sandbox serve --port 0 --env-file sandbox.env &   # no old sandbox.env
      until [ -e sandbox.env ]; do sleep 0.1; done
      . ./sandbox.env && invoicesync status
    """
    from invoicesync import targets

    options = SandboxOptions(
        port, tuple(company or ()), latency_ms, env_file, limits, time_scale, auto_approve
    )
    targets.get(target).commands().serve_sandbox(options)


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
    from invoicesync.targets.demo import run_demo

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
