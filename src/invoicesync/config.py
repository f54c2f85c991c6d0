"""Settings: flag > `INVOICESYNC_*` environment > `config.toml` > default.

The config file holds no secrets (client secret and tokens live in the token store or the
environment); a file that tries to hold one is rejected rather than silently used, because a
secret in a dotfile ends up in backups and screen shares.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import platformdirs
import tomli_w

from invoicesync import profiles, targets
from invoicesync.aliases import Aliases, read_aliases
from invoicesync.errors import ConfigError
from invoicesync.files import private_dir, read_text, write_atomic
from invoicesync.retention import keep_days
from invoicesync.source_config import CsvOptions, SourceOptions, csv_table, source_table

APP_NAME = "invoicesync"
# Seconds a statement on the shared PostgreSQL state may take before the run gives up with
# exit 7 (store/pg_timeouts.py: the server's timeouts, then the client's own deadline).
DEFAULT_STATE_TIMEOUT = 30.0
_SECONDS_DEFAULTS = {"timeout": 60.0, "state_timeout": DEFAULT_STATE_TIMEOUT}


def _known_keys() -> frozenset[str]:
    return profiles.profile_keys() | {"profiles"}  # a profile may set every other key


@dataclass(frozen=True)
class PushOptions:
    """Push policy. `doc_numbers`: "source" uses the invoice number as QBO DocNumber when the
    company allows custom numbers; "qbo" always lets QuickBooks number the invoice. `writers`:
    "many" (the safe default) when other machines may push to the same company without a
    shared state; "one" promises this app dir is the only writer, which lets invoices that
    QuickBooks numbers itself go in batches (docs/performance.md)."""

    doc_numbers: str = "source"
    writers: str = "many"


@dataclass(frozen=True)
class Settings:
    """Everything a command needs to know about where and how to work. What only one target
    uses is its `section`, loaded and read by that target (`targets/<t>/settings.py`)."""

    app_dir: Path
    config_path: Path
    # The configured target's own settings (its keys of config.toml and INVOICESYNC_*):
    # each target reads it through its settings module's `of`, which refuses another's.
    section: object
    token_file: Path | None = None
    lock_dir: Path | None = None  # None: the platform's per-user cache dir (see credentials)
    source: Path | None = None
    # [source]: how its files are read (encoding, decimal convention, .xlsx sheet)
    source_options: SourceOptions = field(default_factory=SourceOptions)
    non_interactive: bool = False
    timeout: float = 60.0
    csv: CsvOptions = field(default_factory=CsvOptions)
    push: PushOptions = field(default_factory=PushOptions)
    # PostgreSQL shared state ("postgresql://…"); None keeps the SQLite file in the app dir.
    state_url: str | None = field(default=None, repr=False)
    state_timeout: float = DEFAULT_STATE_TIMEOUT
    # Profiles (docs/configuration.md#profiles) and the target the run writes to.
    profile: str | None = None
    target: str = targets.DEFAULT
    aliases: Aliases = field(default_factory=Aliases)
    # [history] keep_days: events and runs older than this are deleted (None: kept for ever)
    history_keep_days: int | None = None

    @property
    def app_root(self) -> Path:
        """The app dir itself; `app_dir` is a profile's state folder under it when a profile
        is chosen. Every folder from here down is checked on use (`files.private_dir`)."""
        return profiles.root_of(self.app_dir, self.profile)

    @property
    def state_db(self) -> Path:
        return self.app_dir / "state.db"


def default_app_dir(env: Mapping[str, str]) -> Path:
    """`INVOICESYNC_HOME`, else the platform's per-user config dir."""
    home = env.get("INVOICESYNC_HOME")
    if home:
        return Path(home).expanduser()
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def _line_of(error: tomllib.TOMLDecodeError) -> str:
    match = re.search(r"line (\d+)", str(error))
    return match.group(1) if match else "?"


def _twice(text: str, line: str) -> str:
    """The hint for `source = "…"` beside a `[source]` table (TOML's "cannot overwrite")."""
    lines = text.splitlines()
    at = int(line) - 1 if line.isdigit() else -1
    if 0 <= at < len(lines) and re.fullmatch(r"\s*\[(profiles\.[^\]]+\.)?source\]\s*", lines[at]):
        return '; source is given twice: write the path inside [source] as path = "…"'
    return ""


def read_config_file(path: Path) -> dict[str, Any]:
    """Parse `config.toml`; a missing file is an empty config, a malformed one exit 8."""
    text = read_text(path)
    if text is None:
        return {}
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"{path}:{_line_of(exc)}: invalid TOML: {exc}{_twice(text, _line_of(exc))}; fix the "
            "file or pass --config"
        ) from None
    leaked = sorted(targets.secret_keys() & data.keys())
    if leaked:
        raise ConfigError(
            f"{path}: {', '.join(leaked)} must not be stored in config.toml; remove it and use "
            "`invoicesync connect` or the INVOICESYNC_CLIENT_SECRET / INVOICESYNC_REFRESH_TOKEN "
            "environment variables"
        )
    unknown = sorted(data.keys() - _known_keys())
    if unknown:
        raise ConfigError(f"{path}: unknown setting(s): {', '.join(map(_suggest, unknown))}")
    profiles.tables(data, path, targets.secret_keys())
    return data


def _suggest(key: str) -> str:
    """`tokenfile` → `tokenfile (did you mean token_file?)`: a typo'd key names its fix."""
    import difflib

    close = difflib.get_close_matches(key.lower(), sorted(_known_keys()), n=1, cutoff=0.6)
    return f"{key} (did you mean {close[0]}?)" if close else key


def string_value(data: Mapping[str, Any], key: str, path: Path) -> str | None:
    """`key` of a config table: absent, or a non-empty string (else exit 8)."""
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{path}: {key} must be a non-empty string")
    return value


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


_STATE_URL_PASSWORD = re.compile(r"://[^/?#@:]*:[^/?#@]*@|[?&]password=", re.IGNORECASE)


def _state_url(env: Mapping[str, str], data: Mapping[str, Any], path: Path) -> str | None:
    """`INVOICESYNC_STATE_URL` or `state_url`: a PostgreSQL URL, or None for SQLite.

    A password may come from the environment, PGPASSWORD or ~/.pgpass, never from config.toml
    (the file holds no secrets); messages never repeat the URL, which may carry one."""
    from_env = env.get("INVOICESYNC_STATE_URL")
    url = from_env or string_value(data, "state_url", path)
    if url is None:
        return None
    where = "INVOICESYNC_STATE_URL" if from_env else f"{path}: state_url"
    if not url.startswith(("postgresql://", "postgres://")):
        raise ConfigError(f'{where} must be a PostgreSQL URL ("postgresql://user@host/db")')
    if not from_env and _STATE_URL_PASSWORD.search(url):
        raise ConfigError(
            f"{where} must not contain a password; use INVOICESYNC_STATE_URL, PGPASSWORD "
            "or ~/.pgpass for it"
        )
    return url


def _push_options(data: Mapping[str, Any], path: Path) -> PushOptions:
    push_table = data.get("push", {})
    if not isinstance(push_table, dict):
        raise ConfigError(f"{path}: [push] must be a table")
    doc_numbers = push_table.get("doc_numbers", "source")
    if doc_numbers not in {"source", "qbo"}:
        raise ConfigError(f'{path}: push.doc_numbers must be "source" or "qbo"')
    writers = push_table.get("writers", "many")
    if writers not in {"one", "many"}:
        raise ConfigError(f'{path}: push.writers must be "one" or "many"')
    return PushOptions(doc_numbers=doc_numbers, writers=writers)


def _seconds(
    env: Mapping[str, str], data: Mapping[str, Any], names: tuple[str, str], most: int
) -> float:
    """A number of seconds in (0, most] from the environment variable or the config key."""
    env_key, key = names
    raw = env.get(env_key) or data.get(key, _SECONDS_DEFAULTS[key])
    try:
        seconds = Decimal(str(raw))
    except InvalidOperation:
        seconds = Decimal(0)
    if not seconds.is_finite() or not 0 < seconds <= most:  # NaN compares by raising
        raise ConfigError(f"{key} must be a number of seconds between 0 and {most}, not {raw!r}")
    return int(seconds * 1000) / 1000


def _source(
    flag: Path | None, env: Mapping[str, str], data: Mapping[str, Any], path: Path
) -> tuple[Path | None, SourceOptions]:
    """Where invoices are read from (flag > environment > config) and how (`[source]`)."""
    src_path, options = source_table(data, path)
    named = env.get("INVOICESYNC_SOURCE") or src_path
    return flag or (Path(named) if named else None), options


def load_settings(
    *,
    env: Mapping[str, str] | None = None,
    config_path: Path | None = None,
    source: Path | None = None,
    environment: str | None = None,
    non_interactive: bool = False,
    profile: str | None = None,
) -> Settings:
    """Resolve settings from flags (arguments), environment, config file and defaults.

    The configured target reads its own section (`Target.load_settings`); `environment` is
    QuickBooks' `--environment` flag, handed to it unread."""
    env = os.environ if env is None else env
    app_dir = default_app_dir(env)
    path = config_path or app_dir / "config.toml"
    if config_path is not None and not config_path.exists():
        raise ConfigError(f"{config_path}: config file not found; check --config")
    profile = profile or env.get("INVOICESYNC_PROFILE") or None
    private_dir(app_dir, create=False)  # before config.toml is read from it
    data = profiles.select(read_config_file(path), profile, path)
    root, app_dir = app_dir, profiles.state_dir(app_dir, profile)
    private_dir(app_dir, root=root, create=False)  # profiles/ and the profile's own folder

    def pick(key: str, env_key: str) -> str | None:
        return env.get(env_key) or string_value(data, key, path)

    target = profiles.target_of(data, path)
    section = targets.get(target).load_settings(pick, env, data, path, environment=environment)
    src, source_options = _source(source, env, data, path)
    token_file = pick("token_file", "INVOICESYNC_TOKEN_FILE")
    return Settings(
        app_dir=app_dir,
        config_path=path,
        section=section,
        token_file=Path(token_file).expanduser() if token_file else None,
        lock_dir=Path(lock).expanduser() if (lock := env.get("INVOICESYNC_LOCK_DIR")) else None,
        source=src,
        source_options=source_options,
        non_interactive=non_interactive or _truthy(env.get("INVOICESYNC_NON_INTERACTIVE")),
        timeout=_seconds(env, data, ("INVOICESYNC_TIMEOUT", "timeout"), 600),
        csv=csv_table(data, path),
        push=_push_options(data, path),
        state_url=_state_url(env, data, path),
        state_timeout=_seconds(env, data, ("INVOICESYNC_STATE_TIMEOUT", "state_timeout"), 3600),
        profile=profile,
        target=target,
        aliases=read_aliases(data, path),
        history_keep_days=keep_days(data, path),
    )


def save_config_values(
    path: Path, values: Mapping[str, Any], *, profile: str | None = None
) -> None:
    """Merge `values` into the config file (written with tomli-w, atomically, never secrets);
    with `profile`, into that profile's table."""
    bad = targets.secret_keys() & values.keys()
    if bad:  # a programming error, not a user error
        raise ValueError(f"refusing to write secrets to config: {sorted(bad)}")
    data = read_config_file(path)
    table = data.setdefault("profiles", {}).setdefault(profile, {}) if profile else data
    table.update({k: v for k, v in values.items() if v is not None})
    write_atomic(path, tomli_w.dumps(data))


def with_overrides(settings: Settings, **changes: Any) -> Settings:
    """A copy of `settings` with some target-neutral fields replaced (a target's own fields:
    its settings module's `with_section`)."""
    return replace(settings, **changes)
