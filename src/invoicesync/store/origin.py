"""This state's origin: a random token the marker of every record a push creates carries.

A record's origin says which state created it, which is what `reconcile --remove-copies` needs
without a shared state: a copy made through this state is linked here or nowhere (other
machines link the lowest Id, never a later copy), while a copy another state made may be linked
there (docs/reliability.md, "Copies"). It is made once by the migration, with the database's
own random source, and never changes; a new state (a lost `state.db`) gets a new one, and
rightly: it cannot know what the old one linked.
"""

from __future__ import annotations

from invoicesync.store.journal import Sql

# The table, as each backend's next migration (appended in sqlite.py and postgres.py). Sixteen
# hex digits: two states sharing one by chance is out of reach (2^-64 a pair).
SQLITE_DDL = """
        CREATE TABLE state_origin (token TEXT NOT NULL);
        INSERT INTO state_origin (token) VALUES (lower(hex(randomblob(8))));
"""
POSTGRES_DDL = [
    "CREATE TABLE state_origin (token TEXT NOT NULL)",
    "INSERT INTO state_origin (token) VALUES (substr(md5(random()::text || "
    "clock_timestamp()::text || pg_backend_pid()::text), 1, 16))",
]


class StateOrigin:
    """A component the store holds (`SqlStore.origin`), on its `_exec`."""

    def __init__(self, sql: Sql) -> None:
        self.sql = sql

    def token(self) -> str:
        """The token this state's creates carry in their marker (`marker.origin_tag`)."""
        row = self.sql._exec("SELECT token FROM state_origin").fetchone()
        return str(row[0])
