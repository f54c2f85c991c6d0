"""Claims: which run may send which invoice number, when several runs share one state.

A mixin of `SqlStore` (its `_exec`, `transaction` and the backend's SQL for the clock and row
locks), kept apart so the store's core stays small. PostgreSQL shared state is where claims
matter: two machines pushing the same company each send only the numbers they hold.
"""

from __future__ import annotations

import os
import platform
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, ClassVar

from invoicesync.store.contract import DEFAULT_CLAIM_TTL, Claim, chunks_of


class ClaimsTable:
    """The `claims` table's statements."""

    _NOW: ClassVar[str]  # SQL for the database's clock, whole seconds since the epoch
    _LOCK_ROWS: ClassVar[str] = ""  # PostgreSQL locks the rows it is about to change

    if TYPE_CHECKING:  # provided by `SqlStore`

        def _exec(self, sql: str, params: Sequence[Any] = ()) -> Any: ...
        def transaction(self, *, durable: bool = False) -> AbstractContextManager[Any]: ...

    def claim(
        self,
        realm_id: str,
        numbers: Sequence[str],
        run_id: str,
        *,
        ttl: int = DEFAULT_CLAIM_TTL,
        holder: str = "",
    ) -> set[str]:
        """Claim invoice numbers for `run_id`; returns the ones this run now holds. `holder`
        (default: host name and process id) is recorded to tell users who holds what.

        The rule, enforced by one atomic upsert per number: a number is free, already held by
        this run, or held by another run whose claim has expired (its `expires_at`, on the
        database's clock, has passed). Anything else stays with its holder. A run that dies
        stops renewing, so its claims expire after `ttl` seconds and another run takes them
        over. Taking over is safe because the dead run's intent was committed before its send:
        the new holder must treat a pending journal entry as an uncertain outcome (look the
        invoice up, adopt it, or resend with the same requestid) and never create blindly.
        Numbers are claimed in sorted order in one transaction, so two runs claiming
        overlapping sets cannot deadlock, and the claim is committed before this returns."""
        held: set[str] = set()
        holder = holder or f"{platform.node()}:{os.getpid()}"
        with self.transaction(durable=True):
            for number in sorted(set(numbers)):
                row = self._exec(
                    "INSERT INTO claims (realm_id, invoice_number, run_id, holder, expires_at) "
                    f"VALUES (?, ?, ?, ?, {self._NOW} + ?) "
                    "ON CONFLICT (realm_id, invoice_number) DO UPDATE SET "
                    "run_id = excluded.run_id, holder = excluded.holder, "
                    "expires_at = excluded.expires_at "
                    f"WHERE claims.run_id = excluded.run_id OR claims.expires_at <= {self._NOW} "
                    "RETURNING invoice_number",
                    (realm_id, number, run_id, holder, ttl),
                ).fetchone()
                if row is not None:
                    held.add(str(row[0]))
        return held

    def renew_claims(self, realm_id: str, run_id: str, *, ttl: int = DEFAULT_CLAIM_TTL) -> set[str]:
        """Extend this run's claims by `ttl` seconds from now; returns those it still holds.

        Call it before each send: a number missing from the answer was taken over after this
        run's claim expired, and must not be sent by this run."""
        with self.transaction(durable=True):
            rows = self._exec(
                f"UPDATE claims SET expires_at = {self._NOW} + ? "
                f"WHERE realm_id = ? AND invoice_number IN ({self._own_rows()}) "
                "RETURNING invoice_number",
                (ttl, realm_id, realm_id, run_id),
            ).fetchall()
        return {str(r[0]) for r in rows}

    def _own_rows(self, among: int = 0) -> str:
        """A run's claim rows (of `among` numbers, if given), locked in number order."""
        only = f"AND invoice_number IN ({','.join('?' * among)}) " if among else ""
        return (
            f"SELECT invoice_number FROM claims WHERE realm_id = ? AND run_id = ? {only}"
            f"ORDER BY invoice_number{self._LOCK_ROWS}"
        )

    def release_claims(
        self, realm_id: str, run_id: str, numbers: Sequence[str] | None = None
    ) -> None:
        """Give up this run's claims (all, or those `numbers`): other runs may take them now."""
        with self.transaction(durable=True):
            if numbers is None:
                self._exec(
                    "DELETE FROM claims WHERE realm_id = ? "
                    f"AND invoice_number IN ({self._own_rows()})",
                    (realm_id, realm_id, run_id),
                )
                return
            for part in chunks_of(sorted(set(numbers)), 500):
                self._exec(
                    "DELETE FROM claims WHERE realm_id = ? "
                    f"AND invoice_number IN ({self._own_rows(len(part))})",
                    (realm_id, realm_id, run_id, *part),
                )

    def claims(self, realm_id: str) -> list[Claim]:
        rows = self._exec(
            "SELECT realm_id, invoice_number, run_id, holder, expires_at FROM claims "
            "WHERE realm_id = ? ORDER BY invoice_number",
            (realm_id,),
        ).fetchall()
        return [Claim(r[0], r[1], r[2], r[3], int(r[4])) for r in rows]
