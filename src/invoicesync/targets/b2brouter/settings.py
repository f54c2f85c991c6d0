"""B2BRouter's section of the settings: the account, an endpoint override and the API key.

Read through the same precedence as every setting (flag > `INVOICESYNC_*` environment >
config.toml > default; docs/configuration.md is the contract). The API key comes from the
environment only (never a flag or config.toml) and never shows in a repr.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from invoicesync.config import Settings
from invoicesync.targets.target import section_of
from invoicesync.targets.target import with_section as replace_section


@dataclass(frozen=True)
class B2BRouterSettings:
    """What a B2BRouter account needs besides the target-neutral settings."""

    account: str | None = None  # `b2brouter_account`: Developers → View IDs in B2BRouter's app
    url: str | None = None  # `b2brouter_url`: staging, the local sandbox
    api_key: str | None = field(default=None, repr=False)  # INVOICESYNC_B2BROUTER_API_KEY


def of(settings: Settings) -> B2BRouterSettings:
    return section_of(settings, B2BRouterSettings, "B2BRouter")


def with_section(settings: Settings, **changes: Any) -> Settings:
    """A copy of `settings` with some B2BRouter fields replaced."""
    return replace_section(settings, B2BRouterSettings, "B2BRouter", **changes)


def load(
    pick: Callable[[str, str], str | None],
    env: Mapping[str, str],
    data: Mapping[str, Any],
    path: Path,
    *,
    environment: str | None = None,
) -> B2BRouterSettings:
    """B2BRouter's keys of config.toml and `INVOICESYNC_*`. `environment` (QuickBooks'
    `--environment`) means nothing here: a B2BRouter key says its own environment."""
    return B2BRouterSettings(
        account=pick("b2brouter_account", "INVOICESYNC_B2BROUTER_ACCOUNT"),
        url=pick("b2brouter_url", "INVOICESYNC_B2BROUTER_URL"),
        api_key=env.get("INVOICESYNC_B2BROUTER_API_KEY") or None,
    )
