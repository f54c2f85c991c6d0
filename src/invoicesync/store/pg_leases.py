"""What proves a run alive on PostgreSQL shared state: session advisory locks.

Each run holds two while it goes on: one keeps its claims (store/claims.py: `Leases`), one says
it is running (store/history.py: `RunHolds`). Any other session sees them in `pg_locks` without
taking them, and the server drops them when the holder's session ends, however it ends: a held
lock proves its run alive on whichever machine, a missing one proves it gone. The keys carry the
schema (`current_schema()`), so two teams sharing one database never see each other's runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import psycopg

from invoicesync.errors import InvoiceSyncError

# A run's claim lease: a session advisory lock on this key, held from its first claim to its
# release.
_LEASE_KEY = "hashtextextended('invoicesync:claim:' || current_schema() || ':' || {run}, 0)"
# Whether some session holds a claim row's lease, read from pg_locks (visible to every role),
# so checking another run never takes its lock. An advisory lock on a bigint key shows as
# classid (high 32 bits) and objid (low 32 bits), objsubid 1.
_LEASE_HELD = (
    "EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1 "
    "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
    "AND ((classid::bigint << 32) | objid::bigint) = "
    + _LEASE_KEY.format(run="claims.run_id")
    + ")"
)


class _Session(Protocol):
    """What the locks use of `PostgresStore`: its schema, statements and connection."""

    schema: str
    conn: psycopg.Connection[Any]

    def _exec(self, sql: str, params: Sequence[Any] = ()) -> Any: ...
    def _scalar(self, sql: str, params: Sequence[Any] = ()) -> Any: ...


class AdvisoryLocks:
    """The `Leases` and `RunHolds` of one PostgreSQL session."""

    holder_dead = f"(claims.lease IS NOT NULL AND NOT {_LEASE_HELD})"
    holder_unknown = "claims.lease IS NULL"  # rows older versions wrote, without a lease

    def __init__(self, session: _Session) -> None:
        self.session = session
        self._leases: set[str] = set()

    def begin_lease(self, run_id: str) -> None:
        if run_id in self._leases:
            return
        key = f"invoicesync:claim:{self.session.schema}:{run_id}"
        if not self.session._scalar("SELECT pg_try_advisory_lock(hashtextextended(?, 0))", (key,)):
            raise InvoiceSyncError(f"the claim lease of run {run_id} is held by another session")
        self._leases.add(run_id)

    def end_lease(self, run_id: str) -> None:
        if run_id in self._leases and not self.session.conn.broken:
            key = f"invoicesync:claim:{self.session.schema}:{run_id}"
            self.session._exec("SELECT pg_advisory_unlock(hashtextextended(?, 0))", (key,))
        self._leases.discard(run_id)

    def _run_key(self, run_id: str) -> str:
        return f"invoicesync:alive:{self.session.schema}:{run_id}"

    def hold_run(self, run_id: str) -> None:
        """A session advisory lock held while the run goes on: another host sees it in
        pg_locks, and the server drops it when the run's session ends, however it ends."""
        self.session._scalar(
            "SELECT pg_try_advisory_lock(hashtextextended(?, 0))", (self._run_key(run_id),)
        )

    def release_run(self, run_id: str) -> None:
        if not self.session.conn.broken:
            self.session._scalar(
                "SELECT pg_advisory_unlock(hashtextextended(?, 0))", (self._run_key(run_id),)
            )

    def runs_alive(self, run_ids: Sequence[str]) -> set[str] | None:
        alive = set()
        for run_id in run_ids:
            held = self.session._scalar(
                "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND objsubid = 1 AND database = (SELECT oid FROM pg_database WHERE "
                "datname = current_database()) AND ((classid::bigint << 32) | objid::bigint) "
                "= hashtextextended(?, 0))",
                (self._run_key(run_id),),
            )
            if held:
                alive.add(run_id)
        return alive
