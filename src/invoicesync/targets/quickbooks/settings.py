"""QuickBooks' section of the settings: the environment and its endpoints, the Intuit app, the
company, the OAuth redirect and `[prepare]`.

Read through the same precedence as every setting (flag > `INVOICESYNC_*` environment >
config.toml > default; docs/configuration.md is the contract). The client secret and the CI
refresh-token seed come from the environment only and never show in a repr.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from invoicesync.config import Settings, string_value
from invoicesync.errors import ConfigError
from invoicesync.targets.target import section_of
from invoicesync.targets.target import with_section as replace_section

ENVIRONMENTS = ("production", "sandbox", "local")
DEFAULT_REDIRECT_PORT = 8765
DEFAULT_LOCAL_PORT = 8770
# Intuit's documented OAuth Playground redirect: an HTTPS page users can register for the manual
# flow without hosting anything (docs/connecting.md).
PLAYGROUND_REDIRECT = "https://developer.intuit.com/v2/OAuth2Playground/RedirectUrl"


@dataclass(frozen=True)
class Endpoints:
    """The four URLs an environment implies; each can be overridden on its own."""

    api_url: str
    auth_url: str
    token_url: str
    revoke_url: str


_INTUIT_AUTH = "https://appcenter.intuit.com/connect/oauth2"
_INTUIT_TOKEN = "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"
_INTUIT_REVOKE = "https://developer.api.intuit.com/v2/oauth2/tokens/revoke"


def local_endpoints(base: str) -> Endpoints:
    """Endpoints of our own sandbox served at `base` (see `invoicesync sandbox serve`)."""
    base = base.rstrip("/")
    return Endpoints(
        api_url=base,
        auth_url=f"{base}/connect/oauth2",
        token_url=f"{base}/oauth2/v1/tokens/bearer",
        revoke_url=f"{base}/v2/oauth2/tokens/revoke",
    )


def local_environment(base_url: str, client_id: str, client_secret: str) -> dict[str, str]:
    """The `INVOICESYNC_*` variables that point invoicesync at a local sandbox (what
    `invoicesync sandbox serve` prints, and what the demo sets)."""
    endpoints = local_endpoints(base_url)
    return {
        "INVOICESYNC_ENVIRONMENT": "local",
        "INVOICESYNC_API_URL": endpoints.api_url,
        "INVOICESYNC_AUTH_URL": endpoints.auth_url,
        "INVOICESYNC_TOKEN_URL": endpoints.token_url,
        "INVOICESYNC_REVOKE_URL": endpoints.revoke_url,
        "INVOICESYNC_CLIENT_ID": client_id,
        "INVOICESYNC_CLIENT_SECRET": client_secret,
    }


DEFAULT_ENDPOINTS: dict[str, Endpoints] = {
    "production": Endpoints(
        "https://quickbooks.api.intuit.com", _INTUIT_AUTH, _INTUIT_TOKEN, _INTUIT_REVOKE
    ),
    "sandbox": Endpoints(
        "https://sandbox-quickbooks.api.intuit.com", _INTUIT_AUTH, _INTUIT_TOKEN, _INTUIT_REVOKE
    ),
    "local": local_endpoints(f"http://localhost:{DEFAULT_LOCAL_PORT}"),
}


@dataclass(frozen=True)
class QuickBooksSettings:
    """What a QuickBooks company needs besides the target-neutral settings."""

    environment: str = "sandbox"
    endpoints: Endpoints = DEFAULT_ENDPOINTS["sandbox"]
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    realm_id: str | None = None
    refresh_token_seed: str | None = field(default=None, repr=False)
    redirect_port: int = DEFAULT_REDIRECT_PORT
    redirect_uri: str | None = None
    # [prepare] income_account: the income account of the services `prepare` creates
    prepare_income_account: str | None = None


def of(settings: Settings) -> QuickBooksSettings:
    return section_of(settings, QuickBooksSettings, "QuickBooks")


def with_section(settings: Settings, **changes: Any) -> Settings:
    """A copy of `settings` with some QuickBooks fields replaced (`connect`, the tests)."""
    return replace_section(settings, QuickBooksSettings, "QuickBooks", **changes)


def budget_dir(settings: Settings) -> Path:
    """Where runs on this machine share each company's QuickBooks request budget."""
    return settings.app_dir / "budget"


def load(
    pick: Callable[[str, str], str | None],
    env: Mapping[str, str],
    data: Mapping[str, Any],
    path: Path,
    *,
    environment: str | None = None,
) -> QuickBooksSettings:
    """QuickBooks' keys of config.toml and `INVOICESYNC_*`, checked (exit 8); `environment` is
    the `--environment` flag, which wins over both."""
    env_name = environment or pick("environment", "INVOICESYNC_ENVIRONMENT") or "sandbox"
    if env_name not in ENVIRONMENTS:
        raise ConfigError(f"unknown environment {env_name!r}: use one of {', '.join(ENVIRONMENTS)}")
    port, redirect_uri = _connect_options(data, path)
    return QuickBooksSettings(
        environment=env_name,
        endpoints=_endpoints(DEFAULT_ENDPOINTS[env_name], pick),
        client_id=pick("client_id", "INVOICESYNC_CLIENT_ID"),
        client_secret=env.get("INVOICESYNC_CLIENT_SECRET") or None,
        realm_id=pick("realm_id", "INVOICESYNC_REALM_ID"),
        refresh_token_seed=env.get("INVOICESYNC_REFRESH_TOKEN") or None,
        redirect_port=port,
        redirect_uri=redirect_uri,
        prepare_income_account=_income_account(data, path),
    )


def _endpoints(base: Endpoints, pick: Callable[[str, str], str | None]) -> Endpoints:
    """The environment's endpoints, each one overridable (the local sandbox, a proxy)."""
    return Endpoints(
        api_url=pick("api_url", "INVOICESYNC_API_URL") or base.api_url,
        auth_url=pick("auth_url", "INVOICESYNC_AUTH_URL") or base.auth_url,
        token_url=pick("token_url", "INVOICESYNC_TOKEN_URL") or base.token_url,
        revoke_url=pick("revoke_url", "INVOICESYNC_REVOKE_URL") or base.revoke_url,
    )


def _connect_options(data: Mapping[str, Any], path: Path) -> tuple[int, str | None]:
    connect = data.get("connect", {})
    if not isinstance(connect, dict):
        raise ConfigError(f"{path}: [connect] must be a table")
    port = connect.get("port", DEFAULT_REDIRECT_PORT)
    if not isinstance(port, int) or not 1 <= port <= 65535:
        raise ConfigError(f"{path}: connect.port must be a port number (1-65535)")
    return port, string_value(connect, "redirect_uri", path)


def _income_account(data: Mapping[str, Any], path: Path) -> str | None:
    prepare_table = data.get("prepare", {})
    if not isinstance(prepare_table, dict) or set(prepare_table) - {"income_account"}:
        raise ConfigError(f"{path}: [prepare] takes income_account")
    return string_value(prepare_table, "income_account", path)
