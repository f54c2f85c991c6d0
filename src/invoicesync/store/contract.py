"""What every state backend promises: the contract the use cases program against.

Two backends implement it: SQLite (the default, one file in the app dir) and PostgreSQL (one
database shared by several hosts). The contract tests in `tests/store/` run the same suite
against both, so a use case cannot tell which one it talks to.

Exactly-once rests on three rules that hold for both backends:

1. **Intent before send.** A journal's `intend` (`Journal`) commits (durably) before it
   returns; the caller sends a write only after that. A crash after the send leaves a pending
   intent whose deterministic `requestid` (and, for a create, our marker) let the next run
   find what was written.
2. **Outcomes may be late, never wrong.** A link and its journal outcome are written in one
   transaction. Inside `grouped()` several outcomes share one commit: a crash loses at most
   the last uncommitted group, and each lost outcome is recovered from its durable intent by
   the uncertain-outcome lookup (DocNumber or marker query, then adoption).
3. **One sender per invoice.** `claim` gives an invoice number to one run at a time across
   every process and host sharing the store; a live run's claim is never taken, and a dead
   run's ends at once where its end is provable (see `claim`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from invoicesync.errors import InvoiceSyncError
from invoicesync.models import Delivery, DocKind, DocRef, Link

if TYPE_CHECKING:
    from invoicesync.store.followups import FollowUpJournal
    from invoicesync.store.journal import CreateJournal
    from invoicesync.store.lifecycle import LifecycleJournal
    from invoicesync.store.prepared import PrepareJournal
    from invoicesync.store.runs import Event, RunRecord

# How long a claim lives without renewal when nothing proves its holder alive or dead (rows
# older versions wrote without a lease; with SQLite, a holder in another PID namespace). It must
# exceed the longest single send (a batch with its retries and backoff), because a claim that
# expires while its run is still sending could be taken over. Renewing before each send keeps a
# run's claims alive indefinitely; a provably live holder keeps them regardless.
DEFAULT_CLAIM_TTL = 900

# Outcomes per commit inside `grouped()`: large enough that commits stop dominating, small
# enough that a crash leaves little for the next run's lookup to recover.
DEFAULT_GROUP_SIZE = 200


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class JournalEntry:
    """A create, journaled before it is sent: `kind` is the kind of document it creates, and
    once done `remote_id` is that document's id (`ref`)."""

    account: str
    invoice_number: str
    generation: int
    request_id: str
    state: str
    doc_number: str | None
    remote_id: str | None
    error: str | None
    kind: DocKind = field(kw_only=True)

    @property
    def ref(self) -> DocRef | None:
        return None if self.remote_id is None else DocRef(self.kind, self.remote_id)


@dataclass(frozen=True)
class Claim:
    """Who holds an invoice number: `run_id`, while its holder is alive (its `lease`: the
    holder's identity, store/identity.py; NULL in rows older versions wrote, which live until
    `expires_at`, seconds since the epoch by the database's clock, so hosts with skewed clocks
    agree). `holder` is what a person is told: host name and process id."""

    account: str
    invoice_number: str
    run_id: str
    holder: str
    expires_at: int
    lease: str | None = None


E = TypeVar("E")
D = TypeVar("D", contravariant=True)


class Journal(Protocol[E, D]):
    """One kind of write's journal: what makes every write to a target exactly-once.

    `intend` commits (durably, also inside `grouped()`) before it returns, and the caller sends
    only after it: an intent carries the write's deterministic request id, so a crash after the
    send leaves a pending entry the next run looks up, never a write made twice. `done` closes
    an intent with what the target answered (`D`: the link of a create, say), `failed` with
    why it refused; an intent whose outcome is unknown stays pending, and `open` lists those.
    `usecases/journaled.py` is the one place that drives it."""

    def intend(self, *entries: E) -> None: ...
    def done(self, entry: E, result: D) -> None: ...
    def failed(self, entry: E, error: str) -> None: ...
    def open(self, account: str) -> list[E]: ...


@dataclass(frozen=True)
class Journals:
    """The journal of each kind of write (store/journal.py), each a `Journal` with the reads
    of its own history: creates, edits with voids and credit applications, sends with
    attachments, prerequisites."""

    creates: CreateJournal
    lifecycle: LifecycleJournal
    followups: FollowUpJournal
    prepare: PrepareJournal


class LinkExists(InvoiceSyncError):
    """Raised when a link would overwrite another (the caller turns it into a Conflict)."""

    def __init__(self, account: str, number: str, ref: DocRef) -> None:
        super().__init__(f"invoice {number} or {ref} is already linked")
        self.account = account
        self.number = number
        self.ref = ref


class StateStore(Protocol):
    """Links, push journal, generations, events, claims and the run lock of one state."""

    def describe(self) -> str:
        """Where the state lives, safe to print (a PostgreSQL password is shown as ***)."""
        ...

    def close(self) -> None: ...

    def origin(self) -> str:
        """This state's token, which the marker of every record a push creates carries
        (store/origin.py)."""
        ...

    @property
    def journals(self) -> Journals:
        """Every write's journal; the methods on the journals below read and close them."""
        ...

    def run_lock(self, *, wait: float | None = None) -> AbstractContextManager[None]:
        """The one lock for commands that write links, across every process sharing this state
        (SQLite: a file lock in the app dir; PostgreSQL: a session advisory lock, released by
        the server if the process dies). Raises `LockHeld` (exit 9) at once, or after `wait`
        seconds."""
        ...

    # links
    def link(self, account: str, number: str) -> Link | None: ...
    def link_for_remote(self, account: str, ref: DocRef) -> Link | None: ...
    def set_link_kind(self, account: str, number: str, ref: DocRef) -> None: ...
    def links(self, account: str) -> list[Link]: ...
    def count_links(self, account: str) -> dict[str, int]: ...
    def add_link(
        self, link: Link, *, request_id: str | None = None, event: dict[str, Any] | None = None
    ) -> None: ...
    def record_observations(
        self,
        account: str,
        seen: Sequence[tuple[str, str, Decimal | None]],
        said: Mapping[str, Delivery | None] | None = None,
    ) -> None: ...
    def remove_link(self, account: str, number: str, event: dict[str, Any]) -> int: ...
    def move_link(self, moved: Link, event: dict[str, Any]) -> None: ...
    def record_event(
        self, account: str, number: str | None, kind: str, detail: dict[str, Any]
    ) -> None: ...

    # generations
    def generation(self, account: str, number: str) -> int: ...
    def generations(self, account: str) -> dict[str, int]: ...
    def grouped(self, size: int = DEFAULT_GROUP_SIZE) -> AbstractContextManager[None]:
        """Outcomes inside commit `size` at a time; intents and claims still commit at once."""
        ...

    def flush(self) -> None:
        """Commit the outcomes a `grouped()` block holds so far (before a long wait, say)."""
        ...

    # events
    def events(self, account: str) -> list[tuple[str, str | None, str, dict[str, Any]]]: ...

    # claims
    def claim(
        self,
        account: str,
        numbers: Sequence[str],
        run_id: str,
        *,
        ttl: int = DEFAULT_CLAIM_TTL,
        holder: str = "",
    ) -> set[str]: ...
    def renew_claims(
        self, account: str, run_id: str, *, ttl: int = DEFAULT_CLAIM_TTL
    ) -> set[str]: ...
    def release_claims(
        self, account: str, run_id: str, numbers: Sequence[str] | None = None
    ) -> None: ...
    def claims(self, account: str) -> list[Claim]: ...

    # the audit trail (store/history.py, store/runs.py)
    def history(self, account: str | None, numbers: Sequence[str]) -> list[Event]: ...
    def run_events(self, run_id: str) -> list[Event]: ...
    def runs(self, since: str | None = None, limit: int = 50) -> list[RunRecord]: ...
    def run_record(self, run_id: str) -> list[RunRecord]: ...
    def record_events(
        self, account: str, events: Sequence[tuple[str, str, dict[str, Any]]]
    ) -> None: ...


def chunks_of(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    """Bound statement size: SQLite and PostgreSQL both cap the number of parameters."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
