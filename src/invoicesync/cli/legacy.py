"""The JSON names of schema 1, kept readable for one release (docs/json.md#renamed-fields).

Schema 2 names what a document refers to at the target neutrally: `remote_id` (was `qbo_id`),
`account` (was `realm_id`), `remote_state` and `remote_balance` (were `qbo_state` and
`qbo_balance`). Scripts in CI pipelines parse the old names, so every object of a renamed
document carries the old name too, right after the new one, with the same value; the next
release drops them. Pure: no I/O.
"""

from __future__ import annotations

from typing import Any

OLD_NAMES = {
    "remote_id": "qbo_id",
    "account": "realm_id",
    "remote_state": "qbo_state",
    "remote_balance": "qbo_balance",
}
# The documents whose schema 2 renamed a field (the others keep their version).
RENAMED = frozenset(
    f"invoicesync.{name}/2"
    for name in (
        "push",
        "invoices",
        "candidates",
        "link",
        "unlink",
        "reconcile",
        "prepare",
        "payments",
        "send",
        "pdf",
        "history",
        "run",
    )
)


def renamed(document: Any) -> bool:
    return isinstance(document, dict) and document.get("schema") in RENAMED


def with_old_names(value: Any) -> Any:
    """`value` with each renamed key followed by its schema-1 name (recursively)."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out[key] = with_old_names(item)
            old = OLD_NAMES.get(key)
            if old is not None and old not in value:
                out[old] = out[key]
        return out
    if isinstance(value, list):
        return [with_old_names(item) for item in value]
    return value
