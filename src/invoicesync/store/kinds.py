"""The kind of every stored reference to a remote document, as one migration.

Invoices and credit memos are numbered apart in QuickBooks, so an id names a document only with
its kind. Links have recorded a kind since the lifecycle migration; this adds it to the push
journal, the sends and attachments journal and the lifecycle journal, filled from what is
known, never guessed:

- `push_journal`: a done create made the linked document, so its kind is that link's; the
  rest (pending or failed creates, or links since removed) stays `unknown`. Nothing acts on
  those: a pending create is settled by the duplicate guard from the source, not from the row.
- `followups`: every send and upload so far went to an invoice's endpoint (`invoice/{id}/send`,
  an AttachableRef of type Invoice; the versions before this one had no other), so each row
  names an invoice, even where its link is a credit note's: that invoice is what was e-mailed,
  and the credit memo was never sent.
- `lifecycle_journal`: a void was always an invoice's, a credit application is journaled on
  the credit memo; an update went to its link's kind (while the link still names that id).
- `links`: a credit note linked by `link` or by `reconcile --rebuild` was looked up among
  invoices (those read only invoices before this version), so what its id names is not known:
  it becomes `unknown`, and `usecases/kinds.py` settles it by reading the target before any
  command acts on it, or refuses. A credit note adopted by a push (`--adopt-existing`, recorded
  in its event) was found among credit memos and keeps its kind.

The journals are filled before the links are marked, so an update journaled against a credit
memo keeps the kind it was sent to. Events are an audit log and are not rewritten: new events
carry `kind` beside every `remote_id`; an older event without it predates kinds.
"""

from __future__ import annotations

_LINK_OF = (
    "SELECT l.kind FROM links l WHERE l.realm_id = {t}.realm_id "
    "AND l.invoice_number = {t}.invoice_number AND l.qbo_id = {t}.qbo_id"
)
_ADOPTED = (
    "SELECT 1 FROM events e WHERE e.realm_id = links.realm_id "
    "AND e.invoice_number = links.invoice_number AND e.kind = 'linked' "
    "AND e.detail LIKE '%\"adopted\": true%' "
    "AND e.detail LIKE '%\"qbo_id\": \"' || links.qbo_id || '\"%'"
)

STATEMENTS = [
    "ALTER TABLE push_journal ADD COLUMN doc_kind TEXT NOT NULL DEFAULT 'unknown'",
    "UPDATE push_journal SET doc_kind = ({q}) WHERE EXISTS ({q})".format(
        q=_LINK_OF.format(t="push_journal")
    ),
    "ALTER TABLE followups ADD COLUMN doc_kind TEXT NOT NULL DEFAULT 'invoice'",
    "ALTER TABLE lifecycle_journal ADD COLUMN doc_kind TEXT NOT NULL DEFAULT 'unknown'",
    "UPDATE lifecycle_journal SET doc_kind = 'invoice' WHERE action = 'void'",
    "UPDATE lifecycle_journal SET doc_kind = 'credit_note' WHERE action = 'apply'",
    "UPDATE lifecycle_journal SET doc_kind = ({q}) WHERE action = 'update' AND EXISTS ({q})".format(
        q=_LINK_OF.format(t="lifecycle_journal")
    ),
    "UPDATE links SET kind = 'unknown' WHERE kind = 'credit_note' "
    f"AND origin IN ('linked', 'rebuilt') AND NOT EXISTS ({_ADOPTED})",
]

# Each backend's next migration (appended at the end of the lists in sqlite.py, postgres.py).
SQLITE_MIGRATION = "".join(f"\n        {s};" for s in STATEMENTS) + "\n"
POSTGRES_MIGRATION = list(STATEMENTS)
