"""The journal of writes, its statements written once in SQL both backends accept.

Every write to a target is journaled alike (`contract.Journal`): an intent row carrying the
write's deterministic request id commits before the request is sent; the outcome closes it as
done (with what the target answered) or failed (why it refused); an intent still pending after
a crash or an unknown outcome is what the next run looks up before it writes again.

Four kinds of write keep the tables they always had, so no row changes meaning and a state a
crashed older version left is read as it was written: creates (`push_journal`), edits, voids
and credit applications (`lifecycle_journal`, store/lifecycle.py), sends and attachments
(`followups`, store/followups.py), and prerequisites (`prepare_journal`, store/prepared.py).
A `Table` says how one kind's entries map to its columns; `SqlJournal` holds the statements
that open, close and read an intent, on the store's `_exec` and `transaction`. Each kind's
journal is a component the store holds (`SqlStore.journals`), which adds only what that kind
records beside the row: its events, and the link a write moves.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from invoicesync.models import DocKind, Link
from invoicesync.store.contract import JournalEntry, now_iso

E = TypeVar("E")


class Sql(Protocol):
    """What a journal uses of `SqlStore`."""

    def _exec(self, sql: str, params: Sequence[Any] = ()) -> Any: ...
    def transaction(self, *, durable: bool = False) -> AbstractContextManager[Any]: ...
    def _event(
        self, account: str, number: str | None, kind: str, detail: dict[str, Any]
    ) -> None: ...


@dataclass(frozen=True)
class Table(Generic[E]):
    """One kind of write's table: the columns an intent fills (`intent`, from `values`), what
    a read selects and makes of a row, and what intending a failed entry again does (`reopen`,
    a SET clause; None keeps the row as it is)."""

    name: str
    intent: tuple[str, ...]
    values: Callable[[E], tuple[Any, ...]]
    columns: str
    entry: Callable[[Sequence[Any]], E]
    reopen: str | None = None


class SqlJournal(Generic[E]):
    """The statements of one table's intents and outcomes."""

    def __init__(self, sql: Sql, table: Table[E]) -> None:
        self.sql, self.table = sql, table
        t = table.name
        conflict = (
            "DO NOTHING"
            if table.reopen is None
            else f"DO UPDATE SET {table.reopen} WHERE {t}.state = 'failed'"
        )
        marks = ",".join("?" for _ in table.intent)
        self._insert = (
            f"INSERT INTO {t} ({', '.join(table.intent)}, state, created_at, updated_at) "
            f"VALUES ({marks},'pending',?,?) ON CONFLICT (account, request_id) {conflict}"
        )

    def intend(self, entries: Sequence[E]) -> None:
        """Open intents (an existing one is kept; a failed one reopens where the table says so),
        all in one commit that is durable before this returns: the request that follows must
        never be the only trace of a write."""
        stamp = now_iso()
        with self.sql.transaction(durable=True):
            for e in entries:
                self.sql._exec(self._insert, (*self.table.values(e), stamp, stamp))

    def close(
        self,
        account: str,
        request_id: str,
        state: str,
        values: Mapping[str, Any],
        *,
        pending_only: bool,
        returning: str = "id",
    ) -> Sequence[Any] | None:
        """Set an intent's outcome inside the caller's transaction (which writes its events and
        link with it); None when no row matched (with `pending_only`: closed before)."""
        sets = "".join(f", {column} = ?" for column in values)
        guard = " AND state = 'pending'" if pending_only else ""
        row: Sequence[Any] | None = self.sql._exec(
            f"UPDATE {self.table.name} SET state = ?{sets}, updated_at = ? "
            f"WHERE account = ? AND request_id = ?{guard} RETURNING {returning}",
            (state, *values.values(), now_iso(), account, request_id),
        ).fetchone()
        return row

    def entries(self, account: str, **where: str | None) -> list[E]:
        """The table's entries of a company, oldest first; `where` narrows by column (a None
        value does not narrow)."""
        sql = f"SELECT {self.table.columns} FROM {self.table.name} WHERE account = ?"
        args: list[Any] = [account]
        for column, value in where.items():
            if value is not None:
                sql += f" AND {column} = ?"
                args.append(value)
        return [self.table.entry(r) for r in self.sql._exec(sql + " ORDER BY id", args).fetchall()]


CREATES = Table[JournalEntry](
    name="push_journal",
    intent=(
        "account",
        "invoice_number",
        "generation",
        "request_id",
        "doc_number",
        "doc_kind",
    ),
    values=lambda e: (
        e.account,
        e.invoice_number,
        e.generation,
        e.request_id,
        e.doc_number,
        e.kind.value,
    ),
    columns="account, invoice_number, generation, request_id, state, doc_number, remote_id, "
    "error, doc_kind",
    entry=lambda r: JournalEntry(*r[:8], kind=DocKind(r[8])),
    reopen="state = 'pending', error = NULL, updated_at = excluded.updated_at",
)


class Linker(Sql, Protocol):
    def add_link(
        self, link: Link, *, request_id: str | None = None, event: dict[str, Any] | None = None
    ) -> None: ...


class CreateJournal:
    """Creates (`push_journal`): done is the link, written with the outcome in one
    transaction (`SqlStore.add_link`, which raises `LinkExists` rather than overwrite one);
    failed writes the refusal as the invoice's `refused` event."""

    def __init__(self, sql: Linker) -> None:
        self.sql, self.rows = sql, SqlJournal(sql, CREATES)

    def intend(self, *entries: JournalEntry) -> None:
        self.rows.intend(entries)

    def done(self, entry: JournalEntry, result: Link) -> None:
        self.sql.add_link(result, request_id=entry.request_id)

    def failed(self, entry: JournalEntry, error: str) -> None:
        self.refused(entry.account, entry.request_id, error)

    def open(self, account: str) -> list[JournalEntry]:
        return self.rows.entries(account, state="pending")

    def entries(self, account: str, state: str | None = None) -> list[JournalEntry]:
        return self.rows.entries(account, state=state)

    def linked(self, link: Link, request_id: str) -> None:
        """Inside `add_link`'s transaction: the create that made `link` is done."""
        values = {
            "remote_id": link.remote_id,
            "doc_kind": link.kind.value,
            "doc_number": link.doc_number,
        }
        self.rows.close(link.account, request_id, "done", values, pending_only=False)

    def refused(self, account: str, request_id: str, error: str) -> None:
        with self.sql.transaction():
            row = self.rows.close(
                account,
                request_id,
                "failed",
                {"error": error},
                pending_only=True,
                returning="invoice_number, doc_kind",
            )
            if row is not None:
                detail = {"error": error, "request_id": request_id, "kind": row[1]}
                self.sql._event(account, row[0], "refused", detail)
