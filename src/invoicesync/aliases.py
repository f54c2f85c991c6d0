"""`[aliases.*]` in config.toml: a source name → the QuickBooks name it means.

Its own module so the ledger can name an alias line without depending on all of settings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from invoicesync.errors import ConfigError

ALIAS_KINDS = ("customers", "services", "terms", "tax_codes")


@dataclass(frozen=True)
class Aliases:
    """`[aliases.*]`: a source name → the QuickBooks name it means, per kind of reference."""

    customers: Mapping[str, str] = field(default_factory=dict)
    services: Mapping[str, str] = field(default_factory=dict)
    terms: Mapping[str, str] = field(default_factory=dict)
    tax_codes: Mapping[str, str] = field(default_factory=dict)


def alias_line(source: str, target: str) -> str:
    """The line `"source" = "target"` of an `[aliases.*]` table, quoted right for any name."""

    def quoted(text: str) -> str:
        return tomli_w.dumps({"k": text}).strip().removeprefix("k = ")

    return f"{quoted(source)} = {quoted(target)}"


def read_aliases(data: Mapping[str, Any], path: Path) -> Aliases:
    """The four tables, checked: a typo'd table or an empty target is a config error, not a
    silently ignored alias."""
    table = data.get("aliases", {})
    if not isinstance(table, dict) or set(table) - set(ALIAS_KINDS):
        raise ConfigError(f"{path}: [aliases] takes the tables {', '.join(ALIAS_KINDS)}")
    for kind, names in table.items():
        if not isinstance(names, dict) or not all(
            isinstance(v, str) and v.strip() for v in names.values()
        ):
            raise ConfigError(
                f"{path}: [aliases.{kind}] must map source names to the target's names"
            )
    return Aliases(**{k: dict(v) for k, v in table.items()})
