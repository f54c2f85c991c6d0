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

JSON_OPT = Annotated[bool, typer.Option("--json", help="Machine-readable output (docs/json.md).")]
WAIT_OPT = Annotated[
    float | None,
    typer.Option(
        "--wait",
        min=0,
        metavar="SECONDS",
        help="Wait up to SECONDS for another run's lock instead of exit 9.",
    ),
]


@contextmanager
def opened_session(state: AppState) -> Iterator[Session]:
    """A connected session for this invocation's settings and transport; "not connected" (exit
    4) when nothing says we are, rather than a complaint about a missing client secret."""
    from invoicesync.usecases.connection import require_connection
    from invoicesync.usecases.session import session

    require_connection(state.settings())
    with session(state.settings(), transport=state.transport) as opened:
        yield opened


def warn_all(messages: list[str]) -> None:
    for message in messages:
        render.warn(message)
