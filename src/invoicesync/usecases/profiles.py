"""`invoicesync profiles`: the profiles of config.toml and the connection each one has.

Read from local files only (config, each profile's connection file, the key store), so the
list is quick and works offline; `status --profile NAME` asks the target itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from invoicesync import profiles
from invoicesync.auth import Connection, StoreUnavailable
from invoicesync.config import Settings, load_settings, read_config_file
from invoicesync.usecases.b2b_session import B2BConnection, environment_of, key_store


@dataclass
class ProfileRow:
    name: str
    target: str
    source: str | None
    connected: bool
    account: str | None  # QuickBooks realm id or B2BRouter account id
    company: str | None
    environment: str | None
    selected: bool


def _row(settings: Settings, selected: str | None) -> ProfileRow:
    name = settings.profile or ""
    src = str(settings.source) if settings.source else None
    if settings.target == "b2brouter":
        b2b = B2BConnection.load(settings.app_dir)
        account = settings.b2brouter_account or (b2b.account if b2b else None)
        key = settings.b2brouter_api_key
        if key is None and account:
            try:
                key = key_store(settings, account).get("api_key")
            except StoreUnavailable:
                key = None
        return ProfileRow(
            name,
            "b2brouter",
            src,
            bool(account and key),
            account,
            b2b.account_name if b2b else None,
            environment_of(key) if key else None,
            name == selected,
        )
    conn = Connection.load(settings.app_dir)
    return ProfileRow(
        name,
        "quickbooks",
        src,
        conn is not None,
        settings.realm_id or (conn.realm_id if conn else None),
        conn.company_name if conn else None,
        conn.environment if conn else settings.environment,
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
