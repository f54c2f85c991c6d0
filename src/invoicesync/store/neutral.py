"""Target-neutral column names, as one migration (SQLite 12, PostgreSQL 10).

The state was first written for QuickBooks alone, so its columns were named for it: a realm, a
QuickBooks id, a SyncToken. Every target stores the same three things under these names:
`account` (a QuickBooks realm id, or `b2brouter:<account>`), `remote_id` (the document's id at
the target, beside its `kind`) and `version` (the record's version as last written: QuickBooks'
SyncToken; None where a target has none). Renaming keeps every row, index and constraint:
both SQLite (3.25 and later: https://www.sqlite.org/lang_altertable.html#altertabrenamecol)
and PostgreSQL (https://www.postgresql.org/docs/current/sql-altertable.html) carry a renamed
column's indexes and constraints with it.

Events are an audit log and are not rewritten: an event written before this migration names
the document `qbo_id` in its detail, and readers accept both (`cli/history_views.py`).
"""

from __future__ import annotations

RENAMES = (
    ("generations", "realm_id", "account"),
    ("push_journal", "realm_id", "account"),
    ("push_journal", "qbo_id", "remote_id"),
    ("events", "realm_id", "account"),
    ("claims", "realm_id", "account"),
    ("followups", "realm_id", "account"),
    ("followups", "qbo_id", "remote_id"),
    ("links", "realm_id", "account"),
    ("links", "qbo_id", "remote_id"),
    ("links", "sync_token", "version"),
    ("lifecycle_journal", "realm_id", "account"),
    ("lifecycle_journal", "qbo_id", "remote_id"),
    ("prepare_journal", "realm_id", "account"),
)
STATEMENTS = [f"ALTER TABLE {table} RENAME COLUMN {old} TO {new}" for table, old, new in RENAMES]

SQLITE_MIGRATION = "".join(f"\n        {s};" for s in STATEMENTS) + "\n"
POSTGRES_MIGRATION = list(STATEMENTS)
