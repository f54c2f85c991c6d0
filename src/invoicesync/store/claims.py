"""Claims: which run may send which invoice number, when several runs share one state.

A component the store holds (`SqlStore`), on the store's `_exec` and `transaction`, the
backend's SQL for the clock and row locks, and its `Leases`: how that backend proves a holder
alive or dead. PostgreSQL shared state is where claims matter: two machines pushing the same
company each send only the numbers they hold.

Each claim carries a lease: the holder's identity (store/identity.py), and on PostgreSQL a
session advisory lock the holder keeps while it runs. Whether a holder is alive is proven, not
guessed from a host name: a live holder's claims are never taken, a dead holder's are
free at once, and only claims whose holder can be proven neither (older versions' rows without
a lease; with SQLite, a process this one cannot see) end by expiring.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from invoicesync.store import identity
from invoicesync.store.contract import DEFAULT_CLAIM_TTL, Claim, chunks_of
from invoicesync.store.journal import Sql

# The holder's lease (identity; NULL in rows older versions wrote). Appended to both
# backends' migrations (store/sqlite.py, store/postgres.py).
SQLITE_MIGRATION = "ALTER TABLE claims ADD COLUMN lease TEXT"
POSTGRES_MIGRATION = ["ALTER TABLE claims ADD COLUMN lease TEXT"]


class Leases(Protocol):
    """How a backend proves a claim's holder alive or dead (PostgreSQL: a session advisory lock
    per run, store/pg_leases.py; SQLite: the holder's process, store/sqlite.py)."""

    # SQL over a `claims` row: its holder is provably gone (the claim is free at once), and its
    # holder can be proven neither alive nor dead (the claim ends when it expires).
    holder_dead: str
    holder_unknown: str

    def begin_lease(self, run_id: str) -> None:
        """Before a run's first claim: what keeps its claims alive while it runs."""

    def end_lease(self, run_id: str) -> None:
        """After a run released all its claims."""


class ClaimsTable:
    """The `claims` table's statements. `now` is SQL for the database's clock (whole seconds
    since the epoch); `lock_rows` what locks the rows a statement is about to change
    (PostgreSQL), appended to the select of a run's rows."""

    def __init__(self, sql: Sql, leases: Leases, *, now: str, lock_rows: str) -> None:
        self.sql, self.leases, self.now, self.lock_rows = sql, leases, now, lock_rows

    def claim(
        self,
        account: str,
        numbers: Sequence[str],
        run_id: str,
        *,
        ttl: int = DEFAULT_CLAIM_TTL,
        holder: str = "",
    ) -> set[str]:
        """Claim invoice numbers for `run_id`; returns the ones this run now holds. `holder`
        (default: host name and process id) is recorded to tell users who holds what; the
        lease beside it (this process's identity) is what proves the holder alive or dead.

        The rule, enforced by one atomic upsert per number: a number is free, already held by
        this run, held by a run that is provably gone (its database session ended; with SQLite
        its process is gone from this machine), or held by a run that can be proven neither
        alive nor dead and whose claim has expired (its `expires_at`, on the database's clock,
        has passed). A provably live run keeps its claims, however long it takes. Taking over
        is safe because the dead run's intent was committed before its send: the new holder
        must treat a pending journal entry as an uncertain outcome (look the invoice up, adopt
        it, or resend with the same requestid) and never create blindly. Numbers are claimed
        in sorted order in one transaction, so two runs claiming overlapping sets cannot
        deadlock, and the claim is committed before this returns."""
        held: set[str] = set()
        me = identity.this_process()
        self.leases.begin_lease(run_id)
        with self.sql.transaction(durable=True):
            for number in sorted(set(numbers)):
                row = self.sql._exec(
                    "INSERT INTO claims (account, invoice_number, run_id, holder, expires_at, "
                    f"lease) VALUES (?, ?, ?, ?, {self.now} + ?, ?) "
                    "ON CONFLICT (account, invoice_number) DO UPDATE SET "
                    "run_id = excluded.run_id, holder = excluded.holder, "
                    "expires_at = excluded.expires_at, lease = excluded.lease "
                    f"WHERE claims.run_id = excluded.run_id OR {self.leases.holder_dead} "
                    f"OR ({self.leases.holder_unknown} AND claims.expires_at <= {self.now}) "
                    "RETURNING invoice_number",
                    (account, number, run_id, holder or me.display(), ttl, me.lease()),
                ).fetchone()
                if row is not None:
                    held.add(str(row[0]))
        return held

    def renew_claims(self, account: str, run_id: str, *, ttl: int = DEFAULT_CLAIM_TTL) -> set[str]:
        """Extend this run's claims by `ttl` seconds from now; returns those it still holds.

        Call it before each send: a number missing from the answer was taken over after this
        run's claim expired, and must not be sent by this run."""
        with self.sql.transaction(durable=True):
            rows = self.sql._exec(
                f"UPDATE claims SET expires_at = {self.now} + ? "
                f"WHERE account = ? AND invoice_number IN ({self._own_rows()}) "
                "RETURNING invoice_number",
                (ttl, account, account, run_id),
            ).fetchall()
        return {str(r[0]) for r in rows}

    def _own_rows(self, among: int = 0) -> str:
        """A run's claim rows (of `among` numbers, if given), locked in number order."""
        only = f"AND invoice_number IN ({','.join('?' * among)}) " if among else ""
        return (
            f"SELECT invoice_number FROM claims WHERE account = ? AND run_id = ? {only}"
            f"ORDER BY invoice_number{self.lock_rows}"
        )

    def release_claims(
        self, account: str, run_id: str, numbers: Sequence[str] | None = None
    ) -> None:
        """Give up this run's claims (all, or those `numbers`): other runs may take them now."""
        if numbers is None:
            with self.sql.transaction(durable=True):
                self.sql._exec(
                    "DELETE FROM claims WHERE account = ? "
                    f"AND invoice_number IN ({self._own_rows()})",
                    (account, account, run_id),
                )
            self.leases.end_lease(run_id)
            return
        with self.sql.transaction(durable=True):
            for part in chunks_of(sorted(set(numbers)), 500):
                self.sql._exec(
                    "DELETE FROM claims WHERE account = ? "
                    f"AND invoice_number IN ({self._own_rows(len(part))})",
                    (account, account, run_id, *part),
                )

    def claims(self, account: str) -> list[Claim]:
        rows = self.sql._exec(
            "SELECT account, invoice_number, run_id, holder, expires_at, lease FROM claims "
            "WHERE account = ? ORDER BY invoice_number",
            (account,),
        ).fetchall()
        return [Claim(r[0], r[1], r[2], r[3], int(r[4]), r[5]) for r in rows]
