"""Options several commands share, and small helpers for commands."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer

from invoicesync.cli import render
from invoicesync.cli.app import AppState

if TYPE_CHECKING:
    from invoicesync.usecases.session import Session


def _json_requested(ctx: typer.Context, value: bool) -> bool:
    """Remember --json early, so even a failure answers with a JSON document."""
    state = ctx.find_object(AppState)
    if value and state is not None:
        state.json = True
    return value


JSON_OPT = Annotated[
    bool,
    typer.Option(
        "--json", help="Machine-readable output (docs/json.md).", callback=_json_requested
    ),
]
WAIT_OPT = Annotated[
    float | None,
    typer.Option(
        "--wait",
        min=0,
        metavar="SECONDS",
        help="Wait up to SECONDS for another run's lock (push with a shared state: for the "
        "invoices another run holds) instead of exit 9.",
    ),
]


@contextmanager
def opened_session(state: AppState) -> Iterator[Session]:
    """A connected session for this invocation's settings and transport (opening it says "not
    connected", exit 4, when no refresh token or seed says we are)."""
    from invoicesync.usecases.session import session

    settings = state.settings()
    with session(settings, transport=state.transport, notify=render.warn) as opened:
        yield opened


def warn_all(messages: list[str]) -> None:
    for message in messages:
        render.warn(message)
