"""Named profiles in config.toml: `[profiles.NAME]`, one company or account each.

A profile's keys override the top-level ones (which it inherits: `timeout`, `[push]`, …), and
its state lives in its own folder `APP_DIR/profiles/NAME/` (state.db, connection, locks,
request budget), so two companies never share links, journals or locks. A config without
profiles, or a run without `--profile`, works on the top level and the app dir as before.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from invoicesync import targets
from invoicesync.errors import ConfigError

# Keys any profile may set, beside each target's own (`Target.config_keys`); the tables
# (`connect`, `csv`, `push`) replace the top-level ones.
COMMON_KEYS = frozenset(
    {
        "target",
        "source",
        "token_file",
        "csv",
        "push",
        "timeout",
        "state_timeout",
        "state_url",
        "aliases",
        "history",
    }
)


def profile_keys() -> frozenset[str]:
    """The keys a profile may set: the common ones and every registered target's."""
    return COMMON_KEYS | targets.config_keys()


_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


def tables(
    data: Mapping[str, Any], path: Path, secrets: frozenset[str] = frozenset()
) -> dict[str, dict[str, Any]]:
    """The `[profiles.*]` tables, checked: names usable as folder names, no secrets, known
    keys only."""
    raw = data.get("profiles", {})
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: [profiles] must hold tables such as [profiles.us]")
    out: dict[str, dict[str, Any]] = {}
    for name, table in raw.items():
        if not _NAME.fullmatch(name):
            raise ConfigError(
                f"{path}: profile name {name!r} must be letters, digits, '-' or '_' (at most 64)"
            )
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: profiles.{name} must be a table")
        leaked = ", ".join(sorted(secrets & table.keys()))
        if leaked:
            raise ConfigError(
                f"{path}: profiles.{name} must not hold secrets ({leaked}); "
                "use `invoicesync connect` or the environment"
            )
        unknown = sorted(table.keys() - profile_keys())
        if unknown:
            raise ConfigError(f"{path}: profiles.{name}: unknown setting(s): {', '.join(unknown)}")
        out[name] = table
    return out


def select(data: Mapping[str, Any], name: str | None, path: Path) -> dict[str, Any]:
    """The settings one run sees: the top level, with the chosen profile's keys over it."""
    merged = {k: v for k, v in data.items() if k != "profiles"}
    if name is None:
        return merged
    found = tables(data, path)
    if name not in found:
        known = ", ".join(sorted(found)) or "none"
        raise ConfigError(f"{path}: no profile {name!r} (profiles: {known})")
    merged.update(found[name])
    return merged


def target_of(data: Mapping[str, Any], path: Path) -> str:
    target = data.get("target", targets.DEFAULT)
    if target not in targets.known():
        known = " or ".join(f'"{k}"' for k in targets.known())
        raise ConfigError(f"{path}: target must be {known}, not {target!r}")
    return str(target)


def state_dir(app_dir: Path, name: str | None) -> Path:
    """Where a profile keeps its state: its own folder under the app dir."""
    return app_dir if name is None else app_dir / "profiles" / name


def root_of(state_folder: Path, name: str | None) -> Path:
    """The app dir a state folder belongs to (the inverse of `state_dir`)."""
    return state_folder if name is None else state_folder.parent.parent
