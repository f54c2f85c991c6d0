"""`[history] keep_days`: how long the audit trail keeps events and runs (docs/history.md).

Unset, nothing is deleted: the log grows by one row per write and a run row per command that
writes. Set, a run that wrote deletes the events and finished runs older than that many days;
the journals, which exactly-once needs, are never deleted (store/history.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from invoicesync.errors import ConfigError

MAX_DAYS = 100_000


def keep_days(data: Mapping[str, Any], path: Path) -> int | None:
    """The `[history]` table's `keep_days`, checked (None when absent)."""
    table = data.get("history", {})
    days = table.get("keep_days") if isinstance(table, dict) else None
    if (
        not isinstance(table, dict)
        or set(table) - {"keep_days"}
        or not (days is None or (type(days) is int and 1 <= days <= MAX_DAYS))
    ):
        raise ConfigError(
            f"{path}: [history] takes keep_days, a whole number of days from 1 to {MAX_DAYS}"
        )
    return days
