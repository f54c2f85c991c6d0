"""`profiles`, and `connect`, `disconnect`, `status` for a B2BRouter profile."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from invoicesync.cli import render
from invoicesync.cli.app import app, state_of
from invoicesync.cli.options import JSON_OPT
from invoicesync.cli.views import Column, TableView

if TYPE_CHECKING:
    pass


@app.command("profiles")
def profiles_command(ctx: typer.Context, json_: JSON_OPT = False) -> None:
    """The profiles of config.toml, each with its target and connection state.

    \b
    Examples:
      invoicesync profiles
      invoicesync --profile es status
    """
    from invoicesync.usecases.profiles import list_profiles

    state = state_of(ctx)
    settings = state.settings()
    rows = list_profiles(settings, config_path=state.config_path)
    if json_:
        render.emit_json(
            {
                "schema": "invoicesync.profiles/1",
                "config": str(settings.config_path),
                "profiles": [
                    {
                        "name": r.name,
                        "target": r.target,
                        "source": r.source,
                        "connected": r.connected,
                        "account": r.account,
                        "company": r.company,
                        "environment": r.environment,
                        "selected": r.selected,
                    }
                    for r in rows
                ],
            }
        )
        return
    if not rows:
        render.info(
            f"No profiles in {settings.config_path}; add [profiles.NAME] tables "
            "(docs/configuration.md#profiles)."
        )
        return
    table = [
        (
            ("* " if r.selected else "") + r.name,
            r.target,
            r.account or "-",
            r.company or "-",
            r.environment or "-",
            "yes" if r.connected else "no",
            r.source or "-",
        )
        for r in rows
    ]
    names = ["Profile", "Target", "Account", "Company", "Environment", "Connected", "Source"]
    columns = [Column(n, drop=0 if i < 2 else i, fold=n == "Source") for i, n in enumerate(names)]
    render.show(TableView("invoicesync profiles", columns, table))
