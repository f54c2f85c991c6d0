"""Source invoices: loading them, finding one, and listing them with their link state."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from invoicesync import targets
from invoicesync.config import Settings
from invoicesync.errors import UsageError
from invoicesync.models import Link, LocalInvoice
from invoicesync.sources import open_source
from invoicesync.store import existing_store
from invoicesync.store.followups import followups
from invoicesync.usecases.session import local_realm

Warn = Callable[[str], None]


def load_invoices(settings: Settings, warn: Warn | None = None) -> list[LocalInvoice]:
    """All source invoices (exit 8 on any invalid record); unknown fields go to `warn`."""
    src = open_source(
        settings.source,
        csv=settings.csv,
        options=settings.source_options,
        rules=targets.of(settings).source_rules,
    )
    invoices = src.invoices()
    if warn is not None:
        for message in src.warnings:
            warn(message)
    return invoices


def find_invoice(invoices: Sequence[LocalInvoice], number: str) -> LocalInvoice:
    for inv in invoices:
        if inv.number == number:
            return inv
    raise UsageError(f"{number} is not in the source; `invoicesync invoices` lists what is there")


@dataclass
class InvoiceRow:
    invoice: LocalInvoice
    link: Link | None
    sent_at: str | None = None  # the target's last send of it (`send`, `push --send`)
    sent_to: str | None = None

    @property
    def changed(self) -> bool:
        """Linked, and the source content changed since it was last written."""
        link = self.link
        if link is None or link.fingerprint is None:
            return False
        return link.fingerprint != self.invoice.fingerprint()


def invoice_rows(
    settings: Settings, *, unlinked: bool = False, warn: Warn | None = None
) -> list[InvoiceRow]:
    """Source invoices with their link state (read locally; no call to the target)."""
    invoices = load_invoices(settings, warn)
    realm = local_realm(settings)
    links: dict[str, Link] = {}
    sent: dict[str, tuple[str | None, str | None]] = {}
    store = existing_store(settings) if realm else None
    if realm and store is not None:
        try:
            links = {link.invoice_number: link for link in store.links(realm)}
            for s in followups(store, realm, "send"):
                ln = links.get(s.invoice_number)
                if s.state == "done" and ln is not None and ln.ref == s.ref:
                    sent[s.invoice_number] = (s.result_at or s.updated_at, s.result_to)
        finally:
            store.close()
    rows = [
        InvoiceRow(inv, links.get(inv.number), *sent.get(inv.number, (None, None)))
        for inv in invoices
    ]
    return [r for r in rows if r.link is None] if unlinked else rows
