"""The command line: parse, call `sync`, render. The one place errors become exit codes.

Heavy modules (httpx, the sandbox, sqlite) are imported inside commands so that
`invoicesync --version` and `--help` start fast.
"""

from __future__ import annotations

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
    _settings: Any = field(default=None, repr=False)

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
    ctx.obj = AppState(
        config_path=config,
        source=source,
        verbose=verbose,
        quiet=quiet,
        non_interactive=non_interactive,
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


# --- sandbox ------------------------------------------------------------------------------------


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
    """Serve a local QuickBooks Online on 127.0.0.1 until interrupted."""
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
    render.emit_text(
        "\n".join(
            [
                "export INVOICESYNC_ENVIRONMENT=local",
                f"export INVOICESYNC_API_URL={url}",
                f"export INVOICESYNC_AUTH_URL={url}/connect/oauth2",
                f"export INVOICESYNC_TOKEN_URL={url}/oauth2/v1/tokens/bearer",
                f"export INVOICESYNC_REVOKE_URL={url}/v2/oauth2/tokens/revoke",
                f"export INVOICESYNC_CLIENT_ID={DEFAULT_CLIENT_ID}",
                f"export INVOICESYNC_CLIENT_SECRET={DEFAULT_CLIENT_SECRET}",
            ]
        )
    )
    companies = ", ".join(f"{c.name} ({c.realm_id})" for c in sandbox.companies.values())
    render.info(f"Local QuickBooks sandbox on {url} with {companies}. Ctrl-C to stop.")
    try:
        server.serve_forever()
    finally:
        server.server_close()


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
