"""`invoicesync profiles`: the profiles of config.toml and the connection each one has.

Read from local files only (config, each profile's connection file, the key store), so the
list is quick and works offline; `status --profile NAME` asks the target itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from invoicesync import profiles, targets
from invoicesync.config import Settings, load_settings, read_config_file


@dataclass
class ProfileRow:
    name: str
    target: str
    source: str | None
    connected: bool
    account: str | None  # the company or account id at the target
    company: str | None
    environment: str | None
    selected: bool


def _row(settings: Settings, selected: str | None) -> ProfileRow:
    name = settings.profile or ""
    target = targets.of(settings)
    local = target.local_connection(settings)
    src = str(settings.source) if settings.source else None
    return ProfileRow(
        name,
        target.key,
        src,
        local.connected,
        local.account,
        local.company,
        local.environment,
        name == selected,
    )


def list_profiles(
    base: Settings, *, config_path: Path | None, env: dict[str, str] | None = None
) -> list[ProfileRow]:
    """Every `[profiles.NAME]` with its connection state, in name order."""
    path = base.config_path
    names = sorted(profiles.tables(read_config_file(path), path))
    return [
        _row(load_settings(env=env, config_path=config_path, profile=name), base.profile)
        for name in names
    ]
