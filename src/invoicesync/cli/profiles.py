"""`profiles`, and `connect`, `disconnect`, `status` for a B2BRouter profile."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from invoicesync.cli import render
from invoicesync.cli.app import AppState, app, state_of
from invoicesync.cli.options import JSON_OPT, warn_all
from invoicesync.cli.views import Column, TableView, delivery_cell, delivery_fields
from invoicesync.errors import NotConnected

if TYPE_CHECKING:
    from invoicesync.usecases.b2b_connection import B2BStatusReport
    from invoicesync.usecases.session import Session


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


def connect_b2brouter(state: AppState) -> None:
    """The API key from INVOICESYNC_B2BROUTER_API_KEY or a hidden prompt (never a flag), the
    account id from the profile, INVOICESYNC_B2BROUTER_ACCOUNT or a prompt."""
    from invoicesync.usecases import b2b_connection

    settings = state.settings()
    key = settings.b2brouter_api_key
    if not key:
        if not state.interactive:
            raise NotConnected(
                "no B2BRouter API key: set INVOICESYNC_B2BROUTER_API_KEY (it is never a flag)"
            )
        key = str(typer.prompt("B2BRouter API key", hide_input=True, err=True))
    account = settings.b2brouter_account
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
    from invoicesync.usecases import b2b_connection

    result = b2b_connection.disconnect(state.settings())
    if not result.was_connected:
        render.info("Not connected; nothing to do.")
        return
    render.success(
        f"Disconnected from B2BRouter account {result.account}; the stored API key was deleted "
        "(revoke it in B2BRouter under Developers → API keys if it leaked)."
    )


def status_b2brouter(opened: Session, json_: bool) -> None:
    from invoicesync.usecases.b2b_connection import status
    from invoicesync.usecases.b2b_session import B2BRouterSession

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
