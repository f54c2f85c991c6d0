"""invoicesync: push invoices into QuickBooks Online exactly once, and keep them linked."""

__version__ = "0.1.0"


def main() -> None:
    """Console entry point. `--version` is answered before the CLI stack (typer, rich) loads,
    so scripts that probe the version do not pay for it; everything else goes to `cli.main`."""
    import sys

    if sys.argv[1:] == ["--version"]:
        sys.stdout.write(f"invoicesync {__version__}\n")
        sys.exit(0)
    from invoicesync.cli import main as cli_main

    cli_main()
