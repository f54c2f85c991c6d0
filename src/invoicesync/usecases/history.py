"""`history` and `runs`: the audit trail read from the local or shared state.

Local reads only: no connection, no lock, and a state that does not exist yet is an empty
history (nothing is created by reading it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from invoicesync.config import Settings
from invoicesync.errors import InvalidInput, UsageError
from invoicesync.store import existing_store
from invoicesync.store.runs import Event, RunRecord
from invoicesync.usecases.session import local_realm

DEFAULT_RUNS = 50  # how many of the latest runs `runs` lists without --limit


@dataclass(frozen=True)
class HistoryReport:
    """The events of some invoices, oldest first, and the numbers nothing was recorded for."""

    account: str | None
    numbers: list[str]
    events: list[Event]
    missing: list[str]


@dataclass(frozen=True)
class RunReport:
    """One run and every event it wrote, in order."""

    run: RunRecord
    events: list[Event]


def invoice_history(settings: Settings, numbers: Sequence[str]) -> HistoryReport:
    """Every event of these invoices in the configured company (all companies of the state
    when none is configured), oldest first."""
    realm = local_realm(settings)
    wanted = list(dict.fromkeys(numbers))
    store = existing_store(settings)
    events: list[Event] = []
    if store is not None:
        try:
            events = store.history(realm, wanted)
        finally:
            store.close()
    seen = {e.invoice_number for e in events}
    return HistoryReport(realm, wanted, events, [n for n in wanted if n not in seen])


def list_runs(settings: Settings, since: date | None, limit: int = DEFAULT_RUNS) -> list[RunRecord]:
    """The latest `limit` runs (since a day, if given), oldest first."""
    store = existing_store(settings)
    if store is None:
        return []
    try:
        return store.runs(None if since is None else since.isoformat(), limit)
    finally:
        store.close()


def show_run(settings: Settings, run_id: str) -> RunReport:
    """One run, by its id or a prefix of it (4 characters or more) that names only it."""
    store = existing_store(settings)
    if store is None:
        raise InvalidInput(f"no run {run_id}: this state has recorded no runs yet")
    try:
        found = store.run_record(run_id.strip().lower())
        if len(found) > 1:
            raise UsageError(
                f"run {run_id} is ambiguous ({', '.join(r.run_id[:12] for r in found)}, …): "
                "give more of its id"
            )
        if not found:
            raise InvalidInput(f"no run {run_id} in this state; `invoicesync runs` lists them")
        return RunReport(found[0], store.run_events(found[0].run_id))
    finally:
        store.close()
