"""B2BRouter's section of the settings: the account, an endpoint override and the API key.

Read through the same precedence as every setting (flag > `INVOICESYNC_*` environment >
config.toml > default; docs/configuration.md is the contract). The API key comes from the
environment only (never a flag or config.toml) and never shows in a repr.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from invoicesync.config import Settings
from invoicesync.errors import UsageError


@dataclass(frozen=True)
class B2BRouterSettings:
    """What a B2BRouter account needs besides the target-neutral settings."""

    account: str | None = None  # `b2brouter_account`: Developers → View IDs in B2BRouter's app
    url: str | None = None  # `b2brouter_url`: staging, the local sandbox
    api_key: str | None = field(default=None, repr=False)  # INVOICESYNC_B2BROUTER_API_KEY


def of(settings: Settings) -> B2BRouterSettings:
    """The B2BRouter section of `settings`; another target's section is refused, since reading
    it as B2BRouter's would send to an account nobody configured."""
    section = settings.section
    if not isinstance(section, B2BRouterSettings):
        raise UsageError(
            f"the {settings.target} target has no B2BRouter settings; choose a B2BRouter "
            "profile with --profile"
        )
    return section


def with_section(settings: Settings, **changes: Any) -> Settings:
    """A copy of `settings` with some B2BRouter fields replaced."""
    return replace(settings, section=replace(of(settings), **changes))


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
