"""What an e-invoicing network last said of each linked document, kept on its link.

`reconcile` reads B2BRouter's delivery state, its reason and the VeriFactu/TicketBAI
registrations; `invoices` and `status` work offline from the state, so the link keeps them
beside `last_state`: the delivery state, the reason, and the registrations as a JSON list of
`{"kind", "state", "reason"}`. NULL means never observed (a QuickBooks link, or a link not
reconciled since this migration), never "no problem".
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from decimal import Decimal

from invoicesync.models import Delivery, Registration

# What a reader saw per link: (invoice number, state, balance); and what the network said.
Observed = Sequence[tuple[str, str, Decimal | None]]
Said = Mapping[str, Delivery | None]

_COLUMNS = ("last_delivery", "last_delivery_reason", "last_registrations")

SQLITE_MIGRATION = "".join(f"ALTER TABLE links ADD COLUMN {c} TEXT;\n" for c in _COLUMNS)
POSTGRES_MIGRATION = [f"ALTER TABLE links ADD COLUMN {c} TEXT" for c in _COLUMNS]

# `reconcile` replaces all three (cleared where it saw nothing); `payments`, which does not
# read them, leaves them as the last reconcile stored them.
UPDATE_DELIVERY = (
    "UPDATE links SET last_delivery = ?, last_delivery_reason = ?, last_registrations = ? "
    "WHERE account = ? AND invoice_number = ?"
)


def delivery_columns(seen: Delivery | None) -> tuple[str | None, str | None, str | None]:
    """The three column values for what was seen (all NULL when nothing was)."""
    if seen is None:
        return None, None, None
    registrations = json.dumps(
        [
            {"kind": r.kind, "state": r.state, "reason": r.reason, "report_id": r.report_id}
            for r in seen.registrations
        ],
        ensure_ascii=False,
    )
    return seen.state, seen.reason, registrations


def delivery_from_columns(
    state: str | None, reason: str | None, registrations: str | None
) -> Delivery | None:
    """Back from the columns; a registrations value that is not the list we wrote reads as
    none rather than failing every command that lists links."""
    if state is None:
        return None
    try:
        items = json.loads(registrations) if registrations else []
        regs = tuple(
            Registration(str(i["kind"]), str(i["state"]), i.get("reason"), i.get("report_id"))
            for i in items
        )
    except (ValueError, TypeError, KeyError, AttributeError):
        regs = ()
    return Delivery(state, reason, regs)
