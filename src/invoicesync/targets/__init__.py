"""The targets invoicesync writes to, registered in one place.

Each target is one folder (`targets/<key>/`: its client, adapter, mapping, connection, sandbox)
exposing one `Target` object from its `target` module. Nothing outside a target's folder names
it or imports its client: the CLI and the use cases ask this registry for the configured
target and talk to it through `targets.target.Target` and the ledger seam (`ledger/base.py`).
A third target is one folder and one line in `REGISTRY`. Target modules are imported only when
asked for, so a command pays only for the target it uses.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from invoicesync.errors import UsageError

if TYPE_CHECKING:
    from invoicesync.config import Settings
    from invoicesync.targets.target import Target

# The config value (`target = "..."`) → the module holding that target's `TARGET`.
REGISTRY: dict[str, str] = {
    "quickbooks": "invoicesync.targets.quickbooks.target",
    "b2brouter": "invoicesync.targets.b2brouter.target",
}
DEFAULT = "quickbooks"


def known() -> tuple[str, ...]:
    """Every target's config value, in registry order (for messages and validation)."""
    return tuple(REGISTRY)


def get(key: str) -> Target:
    """The target registered under `key`; a usage error (exit 2) names the known ones."""
    module = REGISTRY.get(key)
    if module is None:
        raise UsageError(f"unknown target {key!r}: use one of {', '.join(REGISTRY)}")
    found: Target = importlib.import_module(module).TARGET
    return found


def names() -> str:
    """The targets' names for help texts: "QuickBooks or B2BRouter"."""
    shown = [get(key).name for key in REGISTRY]
    return " or ".join([", ".join(shown[:-1]), shown[-1]] if len(shown) > 1 else shown)


def config_keys() -> frozenset[str]:
    """Every registered target's own keys of config.toml (`realm_id`, `b2brouter_url`, …)."""
    return frozenset().union(*(get(key).config_keys for key in REGISTRY))


def secret_keys() -> frozenset[str]:
    """Every registered target's secrets, which config.toml must never hold."""
    return frozenset().union(*(get(key).secret_keys for key in REGISTRY))


def of(settings: Settings) -> Target:
    """The target the settings (the profile's `target`) point at."""
    return get(settings.target)
