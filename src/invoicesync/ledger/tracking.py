"""What an e-invoicing network says of a document after the push, beyond its state: why its
delivery failed, and its registration with a tax authority (VeriFactu, TicketBAI). The use cases
see these through two small protocols, so a target without them (QuickBooks) is unaffected."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol, runtime_checkable

from invoicesync.ledger.base import RemoteInvoice, RemoteRecord
from invoicesync.models import Registration  # re-exported: where the ledgers name it

# A registration the authority refused; `registered_with_errors` is registered, with warnings.
REGISTRATION_PROBLEMS = frozenset({"error"})


@runtime_checkable
class Tracked(Protocol):
    """A remote document that knows why it is in its delivery state, and its registrations."""

    @property
    def delivery_reason(self) -> str | None: ...

    @property
    def registrations(self) -> tuple[Registration, ...]: ...


@runtime_checkable
class TracksRegistrations(Protocol):
    """A ledger that reads the registrations of documents it has read (one read each).
    `known`: the registrations last seen, by document id; a document whose reports are the
    same ones and all final is not read again."""

    def with_registrations(
        self,
        rows: Mapping[str, RemoteInvoice],
        known: Mapping[str, Sequence[Registration]] | None = None,
    ) -> Mapping[str, RemoteInvoice]: ...


@runtime_checkable
class ChecksDelivery(Protocol):
    """A ledger that can tell, before queueing, which documents it cannot deliver (their
    recipient has no channel), reading each recipient once for the whole batch."""

    def undeliverable(self, rows: Mapping[str, RemoteRecord]) -> dict[str, str]: ...


__all__ = [
    "REGISTRATION_PROBLEMS",
    "ChecksDelivery",
    "Registration",
    "Tracked",
    "TracksRegistrations",
]
