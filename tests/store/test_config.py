"""state_url / INVOICESYNC_STATE_URL: PostgreSQL when set, SQLite otherwise; no password in
config.toml, and never one in a message or a repr."""

from __future__ import annotations

from pathlib import Path

import pytest

from invoicesync.config import load_settings
from invoicesync.errors import EXIT_INVALID_INPUT, ConfigError


def settings_with(tmp_path: Path, toml: str, **env: str):  # type: ignore[no-untyped-def]
    (tmp_path / "config.toml").write_text(toml, encoding="utf-8")
    return load_settings(env={"INVOICESYNC_HOME": str(tmp_path), **env})


def test_sqlite_is_the_default(tmp_path: Path) -> None:
    assert settings_with(tmp_path, "").state_url is None


def test_state_url_from_config_and_env_wins(tmp_path: Path) -> None:
    toml = 'state_url = "postgresql://ann@db.example/books"\n'
    assert settings_with(tmp_path, toml).state_url == "postgresql://ann@db.example/books"
    env_url = "postgres://bob:s3cret-word@db2/books"
    settings = settings_with(tmp_path, toml, INVOICESYNC_STATE_URL=env_url)
    assert settings.state_url == env_url
    assert "s3cret-word" not in repr(settings)


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://ann:s3cret-word@db/books",
        "postgresql://db/books?user=ann&password=s3cret-word",
    ],
)
def test_a_password_in_config_toml_is_refused(tmp_path: Path, url: str) -> None:
    with pytest.raises(ConfigError) as err:
        settings_with(tmp_path, f'state_url = "{url}"\n')
    assert err.value.exit_code == EXIT_INVALID_INPUT
    message = str(err.value)
    assert "s3cret-word" not in message
    assert message == (
        f"{tmp_path / 'config.toml'}: state_url must not contain a password; use "
        "INVOICESYNC_STATE_URL, PGPASSWORD or ~/.pgpass for it"
    )


@pytest.mark.parametrize("url", ["sqlite:///x.db", "mysql://ann:s3cret-word@db/x", "db.example"])
def test_only_postgresql_urls(tmp_path: Path, url: str) -> None:
    with pytest.raises(ConfigError) as err:
        settings_with(tmp_path, "", INVOICESYNC_STATE_URL=url)
    assert str(err.value) == (
        'INVOICESYNC_STATE_URL must be a PostgreSQL URL ("postgresql://user@host/db")'
    )


def test_state_url_must_be_a_string(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="state_url must be a non-empty string"):
        settings_with(tmp_path, "state_url = 5\n")


def test_state_timeout_from_config_profile_and_env(tmp_path: Path) -> None:
    """The bound on every wait for the shared state (docs/configuration.md)."""
    assert settings_with(tmp_path, "").state_timeout == 30
    assert settings_with(tmp_path, "state_timeout = 2.5\n").state_timeout == 2.5
    env = {"INVOICESYNC_STATE_TIMEOUT": "7"}
    assert settings_with(tmp_path, "state_timeout = 2.5\n", **env).state_timeout == 7
    toml = "state_timeout = 9\n[profiles.team]\nstate_timeout = 4\n"
    assert settings_with(tmp_path, toml, INVOICESYNC_PROFILE="team").state_timeout == 4


@pytest.mark.parametrize("value", ["0", "-1", "3601", '"soon"', "nan"])
def test_a_state_timeout_out_of_range_is_exit_8(tmp_path: Path, value: str) -> None:
    with pytest.raises(ConfigError) as err:
        settings_with(tmp_path, f"state_timeout = {value}\n")
    assert err.value.exit_code == EXIT_INVALID_INPUT
    assert "state_timeout must be a number of seconds between 0 and 3600" in str(err.value)
