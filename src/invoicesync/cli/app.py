"""The Typer application: global options, the error boundary, and the entry point.

The error boundary is the one place an `InvoiceSyncError` becomes a message and its exit
code. Heavy modules (httpx, the sandbox, sqlite) are imported inside commands so that
`invoicesync --version` and `--help` start fast.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from typer.core import TyperArgument, TyperGroup

from invoicesync import __version__, targets
from invoicesync.cli import render
from invoicesync.errors import (
    EXIT_INTERRUPTED,
    EXIT_UNEXPECTED,
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
    profile: str | None = None  # --profile; None: INVOICESYNC_PROFILE or the top level
    # Seams for tests and the demo: an httpx transport for QuickBooks and Intuit, and the
    # function that opens the authorize URL.
    transport: Any = None
    browser: Any = None
    json: bool = False  # the command was asked for --json: failures answer with a document too
    _settings: Settings | None = field(default=None, repr=False)

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
                profile=self.profile,
            )
        return self._settings


# Global options, so they can be written after the command too (`invoices --source x`).
GLOBAL_WITH_VALUE = ("--config", "--source")
GLOBAL_FLAGS = ("--verbose", "-v", "--quiet", "-q", "--non-interactive")
HELP = {"help_option_names": ["-h", "--help"]}


def hoist_globals(args: list[str]) -> list[str]:
    """Move global options written after the command in front of it; `--` ends the search."""
    i = 0
    while i < len(args) and args[i].startswith("-") and args[i] != "--":
        i += 2 if args[i] in GLOBAL_WITH_VALUE else 1
    front, rest = list(args[: i + 1]), []
    j = i + 1
    while j < len(args):
        arg = args[j]
        if arg == "--":
            rest += args[j:]
            break
        if arg in GLOBAL_WITH_VALUE and j + 1 < len(args):
            front[:0] = args[j : j + 2]
            j += 2
            continue
        if arg in GLOBAL_FLAGS or arg.startswith(tuple(f"{o}=" for o in GLOBAL_WITH_VALUE)):
            front.insert(0, arg)
        else:
            rest.append(arg)
        j += 1
    return front + rest


class _Argument(TyperArgument):
    """An argument shown as people write it: `INVOICE`, `[QBO_ID]`, `[INVOICE]...`, without
    Typer's Python type (`<list[str]>`) or braces."""

    def display_type(self, ctx: Any) -> str:
        return ""

    def _usage_display_name(self) -> str:
        name = self.display_name_raw
        name = name if self.required else f"[{name}]"
        return name + ("..." if self.nargs != 1 else "")


class InvoiceSyncGroup(TyperGroup):
    """Runs every command (nested ones too) inside the error boundary."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for command in self.commands.values():
            for param in command.params:
                if type(param) is TyperArgument:
                    param.__class__ = _Argument

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if ctx.parent is None:
            args = hoist_globals(args)
        result: list[str] = super().parse_args(ctx, args)
        return result

    def invoke(self, ctx: Any) -> Any:
        if ctx.parent is not None:
            return self._guarded(ctx)
        from invoicesync.store import runs  # not at import: `--help` stays fast

        run = runs.begin(self._command_line(ctx))
        code = EXIT_UNEXPECTED
        try:
            result = self._guarded(ctx)
            code = 0
            return result
        except typer.Abort:
            code = EXIT_INTERRUPTED
            raise
        except Exception as exc:  # typer.Exit and click's usage errors carry their code
            code = getattr(exc, "exit_code", EXIT_UNEXPECTED)
            raise
        finally:
            runs.finish(run, code)

    def _command_line(self, ctx: Any) -> str:
        """What `runs` shows as the command: its name (and subcommand) and the options given,
        never their values (a value may be a path or an address nobody asked to keep)."""
        args = [*getattr(ctx, "_protected_args", ()), *ctx.args]
        words = args[:1]
        sub = self.get_command(ctx, args[0]) if args else None
        commands = [sub]
        if isinstance(sub, TyperGroup) and len(args) > 1 and not args[1].startswith("-"):
            words.append(args[1])
            commands.append(sub.get_command(ctx, args[1]))
        # Only the command's own option names: an argument that merely starts with "-" may be
        # a value (even a secret's).
        known = {o for c in commands for p in getattr(c, "params", ()) for o in p.opts}
        flags = [a.split("=", 1)[0] for a in args[1:]]
        flags = [f for f in flags if f in known and f.startswith("-")]
        return " ".join(words + sorted(set(flags), key=flags.index))

    def _guarded(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except InvoiceSyncError as exc:
            _fail(ctx, exc.exit_code, exc.message, exc.details)
            _debug_traceback(ctx)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            message = "interrupted; state is consistent, re-run the command to continue"
            _fail(ctx, EXIT_INTERRUPTED, message)
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except (typer.Exit, typer.Abort):
            raise
        except Exception as exc:
            if type(exc).__module__.startswith(("click", "typer")):
                raise
            message = (
                f"unexpected error ({type(exc).__name__}): {exc}. This is a bug: rerun with "
                "--verbose and report it"
            )
            _fail(ctx, EXIT_UNEXPECTED, message)
            _debug_traceback(ctx)
            raise typer.Exit(EXIT_UNEXPECTED) from None


def _fail(ctx: Any, code: int, message: str, details: Sequence[str] = ()) -> None:
    """The one-line message on stderr; under --json, also the error document on stdout (unless
    the command already wrote its own)."""
    render.error(message, details)
    state = ctx.find_object(AppState)
    if state is not None and state.json and not render.json_written():
        render.emit_json(error_document(code, message, details))


def error_document(code: int, message: str, details: Sequence[str] = ()) -> dict[str, Any]:
    return {
        "schema": "invoicesync.error/1",
        "exit_code": code,
        "error": message,
        "details": list(details),
    }


def _debug_traceback(ctx: Any) -> None:
    state = ctx.find_object(AppState)
    if state is not None and state.verbose:
        sys.stderr.write(redact(traceback.format_exc()))


app = typer.Typer(
    cls=InvoiceSyncGroup,
    name="invoicesync",
    help=f"Push invoices into {targets.names()} exactly once, and keep them linked.\n\n"
    "Global options may come before or after the command: "
    "`invoicesync invoices --source x.csv` works like `invoicesync --source x.csv invoices`.",
    no_args_is_help=True,
    context_settings=HELP,
    pretty_exceptions_show_locals=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"invoicesync {__version__}")
        raise typer.Exit(0)


@app.callback()
def _global(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config", metavar="FILE", help="Config file (default: app dir/config.toml)."
        ),
    ] = None,
    source: Annotated[
        Path | None,
        typer.Option(
            "--source",
            metavar="PATH",
            help="Source invoices: a file or folder (JSON, JSONL, CSV, XLSX).",
        ),
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
    profile: Annotated[
        str | None,
        typer.Option("--profile", help="Use [profiles.NAME] of config.toml (INVOICESYNC_PROFILE)."),
    ] = None,
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
        profile=profile,
        transport=seeded.transport,
        browser=seeded.browser,
    )
    render.start_run(quiet)
    _logging(verbose)


def _logging(verbose: bool) -> None:
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


def state_of(ctx: typer.Context) -> AppState:
    state = ctx.find_object(AppState)
    if state is None:  # pragma: no cover - the callback always runs first
        state = AppState()
    return state


def _terminate(signum: int, frame: object) -> None:
    """SIGTERM (a timeout, CI cancellation, systemd) stops a run the way Ctrl-C does."""
    raise KeyboardInterrupt


def main() -> NoReturn:
    """Console-script entry point."""
    os.environ.setdefault("PYTHONIOENCODING", "utf-8")
    signal.signal(signal.SIGTERM, _terminate)
    code: int | str | None = 0
    try:
        app()
    except SystemExit as exc:  # typer always ends this way
        code = exc.code
    except KeyboardInterrupt:
        render.error("interrupted")
        code = EXIT_INTERRUPTED
    render.flush_at_exit()
    sys.exit(code)
